"""The local Confluent-compatible schema registry (dev/schema_registry.py) as a process for tests."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.support import harness
from tests.support.harness import ROOT, free_port, stopped_on_exit

SCRIPT = ROOT / "dev" / "schema_registry.py"
START_TIMEOUT_S = 30


@contextmanager
def schema_registry_process(basic_auth: str | None = None, log_file: Path | None = None) -> Iterator[str]:
    """dev/schema_registry.py on a free localhost port, with HTTP Basic auth when ``basic_auth``
    ("user:password") is given: its URL once it answers; stopped on exit. Its log (DEBUG: one line
    per request) goes to ``log_file``, else to a temporary file shown when it fails to start."""
    port = free_port()
    command = [sys.executable, str(SCRIPT), "--host", "127.0.0.1", "--port", str(port), "--log-level", "DEBUG"]
    env = {k: v for k, v in os.environ.items() if k != "SCHEMA_REGISTRY_BASIC_AUTH"}
    if basic_auth is not None:
        env["SCHEMA_REGISTRY_BASIC_AUTH"] = basic_auth  # not on the command line, where ps shows it
    with tempfile.TemporaryDirectory() as tmp:
        log_path = log_file or Path(tmp) / "schema_registry.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        with stopped_on_exit(process):
            wait_until_answering(process, url, basic_auth, log_path)
            yield url


def wait_until_answering(process: subprocess.Popen, url: str, basic_auth: str | None, log_path: Path) -> None:
    """Until the registry answers GET /config (with the credentials, when it asks for them)."""
    request = urllib.request.Request(f"{url}/config")
    if basic_auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(basic_auth.encode()).decode())
    harness.wait_until_answering(process, request, "dev/schema_registry.py", log_path, START_TIMEOUT_S)

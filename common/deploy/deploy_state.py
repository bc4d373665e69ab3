"""deploy.py's part of keeping state across YAML edits (common/state/stable_ids.py).

Before it uploads a zip, deploy compares the zip's plan with the deployed one:

- the deployed plan's state map is kept in S3 beside the code (``<key>.state-ids.json``);
- the zip's plan is compiled here, by ``streaming_job.py --dry-run`` on the zip's config and
  the deployment's properties, against that map: ids of unchanged operators are kept;
- the new map goes into the zip (``state-ids.json``, which the job reads on the service) and
  beside it in S3 for the next deployment;
- the diff picks the restore settings of the update: restore the latest snapshot, with
  ``AllowNonRestoredState`` exactly when some of its state has no operator left, and a change
  that drops the state of a pipeline that keeps running is refused unless
  ``--allow-state-loss NAME`` names it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from common.errors import ConfigError
from common.load.properties import APP_DIR
from common.state.stable_ids import STATE_MAP_FILE, PlanDiff, StateMap, diff
from common.state.state_restore import refuse_unnamed_losses

log = logging.getLogger(__name__)

CONFIG_IN_ZIP = "config/"
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the same map gives the same zip bytes (and sha256)

# (config dir, properties file, previous map or None) -> the zip's state map
Compiler = Callable[[Path, Path, StateMap | None], StateMap]


def map_key(code_key: str) -> str:
    return f"{code_key}.state-ids.json"


def compile_with_job(config_dir: Path, properties: Path, previous: StateMap | None) -> StateMap:
    """The job's own planning (a local JVM, no AWS, no Kafka): ``streaming_job.py --dry-run``."""
    with tempfile.TemporaryDirectory(prefix="deploy-plan-") as work:
        out, before = Path(work) / "new.json", Path(work) / "previous.json"
        command = [
            sys.executable,
            str(APP_DIR / "streaming_job.py"),
            "--dry-run",
            "--properties",
            str(properties),
            "--config-dir",
            str(config_dir),
            "--write-state-map",
            str(out),
        ]
        if previous:
            before.write_text(previous.to_json())
            command += ["--state-map", str(before)]
        env = {k: v for k, v in os.environ.items() if k != "PYFLINK_GATEWAY_PORT"}
        done = subprocess.run(command, cwd=APP_DIR, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ConfigError(
                "--zip",
                "config/",
                "the zip's pipelines do not plan:\n" + "\n".join(done.stderr.strip().splitlines()[-5:]),
            )
        return StateMap.read(out)


def pipeline_names(state_map: StateMap) -> list[str]:
    """Pipelines in the order of their sinks in the plan."""
    return [p for n in state_map.nodes if n.kind == "stream-exec-sink" for p in n.pipelines]


@dataclass
class PlanStep:
    properties: Path
    allowed_losses: tuple[str, ...] = ()
    compile: Compiler | None = None  # default: compile_with_job (tests give their own)

    def previous_map(self, s3, bucket: str, key: str) -> StateMap | None:
        from botocore.exceptions import ClientError

        try:
            body = s3.get_object(Bucket=bucket, Key=map_key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return StateMap.from_json(body.decode())

    def prepare(
        self, s3, bucket: str, key: str, deployed: bool, zip_path: Path
    ) -> tuple[Path, StateMap | None, dict[str, Any] | None, PlanDiff | None]:
        """(zip to upload, its state map, RunConfigurationUpdate for an update, the diff).
        A zip without config/ (not built by this project) is uploaded as it is."""
        with zipfile.ZipFile(zip_path) as archive:
            members = [n for n in archive.namelist() if n.startswith(CONFIG_IN_ZIP)]
            if f"{CONFIG_IN_ZIP}transformations.yaml" not in members:
                log.warning(
                    "%s has no %stransformations.yaml: no plan diff, no state map", zip_path.name, CONFIG_IN_ZIP
                )
                return zip_path, None, None, None
            work = Path(tempfile.mkdtemp(prefix="deploy-"))
            archive.extractall(work, members)
        previous = self.previous_map(s3, bucket, key) if deployed else None
        current = (self.compile or compile_with_job)(work / "config", self.properties, previous)
        plan_diff = diff(previous, current, pipeline_names(current))
        for line in plan_diff.lines():
            log.info("plan: %s", line)
        refuse_unnamed_losses(plan_diff, self.allowed_losses, "deploy")
        restore = None
        if deployed:
            if previous is None:
                log.warning(
                    "the deployed application has no state map: its snapshot's operators cannot be "
                    "matched, so the update restores what matches and drops the rest"
                )
            restore = {
                "ApplicationRestoreConfiguration": {"ApplicationRestoreType": "RESTORE_FROM_LATEST_SNAPSHOT"},
                "FlinkRunConfiguration": {"AllowNonRestoredState": previous is None or bool(plan_diff.unclaimed)},
            }
        return with_state_map(zip_path, current, work), current, restore, plan_diff


def with_state_map(zip_path: Path, state_map: StateMap, work: Path) -> Path:
    """A copy of the zip with state-ids.json at its root (or the zip itself if it has that map)."""
    text = state_map.to_json()
    with zipfile.ZipFile(zip_path) as archive:
        if STATE_MAP_FILE in archive.namelist() and archive.read(STATE_MAP_FILE).decode() == text:
            return zip_path
    copy = work / zip_path.name
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != STATE_MAP_FILE:
                with source.open(item) as data, target.open(item, "w") as out:
                    shutil.copyfileobj(data, out, 1 << 20)
        target.writestr(zipfile.ZipInfo(STATE_MAP_FILE, FIXED_ZIP_TIME), text)
    return copy

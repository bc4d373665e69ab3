"""Unpack the Python packages the job needs beyond the service's PyFlink runtime, for the service.

Run by ``mvn package`` (the ``python-packages`` execution in pom.xml) before the zip is
assembled; assembly/assembly.xml puts the result under ``lib/python/`` in the zip, and the
deployed properties name that folder in ``kinesis.analytics.flink.run.options`` as
``"pyFiles": "lib/python"``. Flink puts a pyFiles folder on the PYTHONPATH of the job's
Python process (and of any Python worker), ahead of the runtime's own packages.

What is bundled: exactly the pinned lines of package/requirements.txt, without their
dependencies (``--no-deps``): the service's runtime already ships PyFlink and everything
it depends on, and a second copy of one of those ahead of it on the path could shadow the
version PyFlink was built against. List a transitive dependency only if the runtime lacks it.

The wheels are the ones for the service, not for this machine: Linux x86_64 (manylinux2014),
CPython 3.12 (the Python of the Managed Service for Apache Flink 2.2 runtime), binary only.
``pip install --target`` with these flags fetches the same wheels ``pip download`` would
and unpacks them, which a folder on the path needs (a C extension cannot load from a zip).

Nothing happens when target/python-packages was already built from the same requirements
with the same flags (a stamp file records both), so repeated builds need no network.

Usage: python package/bundle_python_packages.py [--requirements FILE] [--target DIR]
Exit codes: 0 ok, 1 pip failed.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "package" / "requirements.txt"
TARGET = ROOT / "target" / "python-packages"
STAMP_NAME = "bundled-requirements.txt"

# The service's platform: Managed Service for Apache Flink 2.2 runs CPython 3.12 on Linux x86_64.
PLATFORM_FLAGS = [
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    "3.12",
    "--implementation",
    "cp",
    "--only-binary=:all:",
]

log = logging.getLogger("bundle_python_packages")


def requirement_lines(requirements: Path) -> list[str]:
    """The requirement lines, without comments and blank lines."""
    lines = []
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def stamp_text(lines: list[str]) -> str:
    return (
        "# Bundled into lib/python by package/bundle_python_packages.py with: pip install --no-deps "
        + " ".join(PLATFORM_FLAGS)
        + "\n"
        + "".join(line + "\n" for line in lines)
    )


def bundle(requirements: Path, target: Path) -> int:
    lines = requirement_lines(requirements)
    stamp = target / STAMP_NAME
    wanted = stamp_text(lines)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        log.info("%s is up to date (%d package(s))", target, len(lines))
        return 0
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    if lines:
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--root-user-action=ignore",
            "--no-deps",
            "--no-compile",
            "--target",
            str(target),
            *PLATFORM_FLAGS,
            "-r",
            str(requirements),
        ]
        log.info("bundling %s into %s", ", ".join(lines), target)
        result = subprocess.run(command, check=False)
        if result.returncode != 0:
            log.error("pip failed (exit %d): %s", result.returncode, " ".join(command))
            shutil.rmtree(target, ignore_errors=True)
            return 1
        # Console scripts are of no use on the path; keep packages and their metadata only.
        shutil.rmtree(target / "bin", ignore_errors=True)
    stamp.write_text(wanted, encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS)
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    return bundle(args.requirements, args.target)


if __name__ == "__main__":
    sys.exit(main())

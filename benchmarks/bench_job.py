"""Benchmark (not a test): how fast one bounded run of the shipped job gets through a backlog.

Produces --count records of sample_gen's default mix to fresh topics on the local broker,
runs streaming_job.py --bounded (all pipelines, one job) and prints records/s of the run,
from submit to finish (start-up of the JVM and planning excluded, as the job logs them).

    .venv/bin/python benchmarks/bench_job.py --count 300000
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.harness import BOOTSTRAP, KAFKA_SCRIPT, make_workspace  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300_000, help="records, all topics together")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    subprocess.run([str(KAFKA_SCRIPT), "start"], check=True, cwd=ROOT)
    ws = make_workspace(Path(tempfile.mkdtemp(prefix="bench-job-")), BOOTSTRAP)
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "sample_gen.py"),
            "--config-dir",
            str(ws.config_dir),
            "--count",
            str(args.count),
            "--seed",
            str(args.seed),
            "--progress",
            "none",
            "-q",
            "--bootstrap-servers",
            BOOTSTRAP,
        ],
        check=True,
        cwd=ROOT,
    )
    produced_s = time.monotonic() - started
    started = time.monotonic()
    result = ws.run_job("--bounded")
    wall_s = time.monotonic() - started
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-3000:])
        return 1
    job_s = float(re.search(r"finished in ([\d.]+) s", result.stderr).group(1))
    print(f"records: {args.count} (produced in {produced_s:.1f} s)")
    print(f"job (submit to finish, 7 sinks): {job_s:.1f} s = {args.count / job_s:,.0f} records/s")
    print(f"whole command (JVM start, planning, job, end-of-run summary): {wall_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

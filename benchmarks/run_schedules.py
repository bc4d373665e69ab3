"""Randomized timing schedules, many seeds (issue 28): every table exact, late = truly late only.

Each seed draws one schedule (tests/support/schedules.py: topics' clocks 0 s to 2 h apart, producer
pauses longer than the idle timeout on one topic or all, bursts, partitions that never receive
a record, the broker SIGKILLed for 5-60 s, a stop with a savepoint and a restore, parallelism 1
or 2, and truly late records), runs the job unbounded on it against a broker of its own
(.local/kafka-schedules on port 29192: the schedules kill it, so it is not the shared one),
drains it, and compares every table with the reference model. One job at a time.

    .venv/bin/python benchmarks/run_schedules.py --seeds 50            # seeds 1..50
    .venv/bin/python benchmarks/run_schedules.py --seed 7 --seed 12    # replay seeds
    .venv/bin/python benchmarks/run_schedules.py --seed 7 --print      # the schedule only
    .venv/bin/python benchmarks/run_schedules.py --seeds 5 --app-dir /tmp/old-checkout   # another version of the job

Per seed, one line as it finishes: PASS/FAIL, the exact tables (of 8: the three raw tables, the
hourly windows and their late table, the sessions and their late table, dead letters), the
late-table rows that should not be there (wrongly late) and those missing (wrongly on time),
late rows found / expected, seconds, the 1-minute load average, and what the schedule
exercised. A failure prints its schedule and how to replay it. At the end, the table: seeds
run, passed, tables exact, records wrongly late, records wrongly on time.

Exit codes: 0 every seed passed, 1 a seed failed, 2 bad arguments or no broker.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.schedules import TABLES, Broker, Result, failure_report, make_schedule, run_schedule  # noqa: E402

HEADER = "  seed  result tables  w.late  w.on-time  late rows  time  load  schedule"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Seeds, figures and exit codes: see the module's docstring.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--seeds", type=int, metavar="N", help="run N seeds: --first, --first + 1, ...")
    which.add_argument("--seed", type=int, action="append", metavar="S", help="run seed S (repeat for more)")
    parser.add_argument("--first", type=int, default=1, metavar="K", help="with --seeds: the first seed (default 1)")
    parser.add_argument("--print", action="store_true", help="print the schedules, run nothing")
    parser.add_argument(
        "--app-dir",
        type=Path,
        default=ROOT,
        help="run streaming_job.py (and its config and jar) of this checkout, e.g. an older "
        "commit to compare (default: this one)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="where each seed's config, warehouse and job logs go "
        "(default: a temporary folder); a passed seed's is removed",
    )
    parser.add_argument("--keep", action="store_true", help="keep every seed's folder, passed or not")
    parser.add_argument(
        "--kafka-port",
        type=int,
        default=Broker.port,
        help=f"the schedules' own broker's port (default {Broker.port}; its controller: +1)",
    )
    parser.add_argument("--keep-broker", action="store_true", help="leave the schedules' broker running at the end")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if not (args.app_dir / "streaming_job.py").is_file():
        parser.error(f"no streaming_job.py in {args.app_dir}")
    return args


def summary(results: list[Result]) -> str:
    run = len(results)
    passed = sum(r.passed for r in results)
    exact = sum(r.tables_exact for r in results)
    rows = [
        ("seeds run", str(run)),
        ("passed", f"{passed} of {run}"),
        ("tables exact", f"{exact} of {run * len(TABLES)}"),
        ("records wrongly late", str(sum(r.wrongly_late for r in results))),
        ("records wrongly on time", str(sum(r.wrongly_on_time for r in results))),
        ("truly late rows found", f"{sum(r.late_rows for r in results)} of {sum(r.late_expected for r in results)}"),
        ("runs that failed to finish", str(sum(r.error is not None for r in results))),
        ("seconds per seed (mean)", f"{sum(r.seconds for r in results) / max(run, 1):.0f}"),
    ]
    width = max(len(k) for k, _ in rows)
    failed = [str(r.seed) for r in results if not r.passed]
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    if failed:
        lines.append(f"{'failed seeds':<{width}}  {' '.join(failed)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seeds = args.seed or list(range(args.first, args.first + args.seeds))
    if args.print:
        for seed in seeds:
            schedule = make_schedule(seed)
            print(schedule.describe())
            print("  exercises: " + " ".join(schedule.features()) + "\n")
        return 0
    broker = Broker(port=args.kafka_port, controller_port=args.kafka_port + 1)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="schedules-"))
    work.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    print(
        f"{len(seeds)} seed(s), job of {args.app_dir}, broker {broker.bootstrap} ({broker.state_dir}), "
        f"folders under {work}",
        flush=True,
    )
    try:
        with broker.exclusive():
            print(HEADER, flush=True)
            for seed in seeds:
                schedule = make_schedule(seed)
                base = work / f"seed-{seed}"
                if base.exists():
                    shutil.rmtree(base)
                base.mkdir(parents=True)
                result = run_schedule(schedule, broker, base, app_dir=args.app_dir.resolve())
                results.append(result)
                print(result.line(load=os.getloadavg()[0]), flush=True)
                if not result.passed:
                    print("\n" + failure_report(schedule, result, base) + "\n", flush=True)
                elif not args.keep:
                    shutil.rmtree(base, ignore_errors=True)
            if not args.keep_broker:
                broker.run("stop")
    except RuntimeError as e:  # the broker would not start
        print(f"run_schedules: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    print("\n" + summary(results), flush=True)
    return 0 if results and all(r.passed for r in results) and len(results) == len(seeds) else 1


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    sys.exit(code)

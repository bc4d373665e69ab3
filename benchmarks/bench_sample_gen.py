"""Benchmark: sample_gen.py's records/s into the local broker next to Kafka's own producer perf tool.

Both run in the same invocation against the same broker, with the same record count and
the same record size (the mean size of the generator's records, measured in its run),
each pinned to one CPU core (--cpu; the broker itself is not pinned). The generator runs
as the real command line with the default event mix and its rate is taken from its
manifest: records over the time from the first send to the last delivery report. Kafka's
ProducerPerformance also counts until its producer is closed (all acknowledged).

    .venv/bin/python benchmarks/bench_sample_gen.py [--count N] [--repeat R] [--cpu C|none]

The topics are created for the run (2 partitions, unique names) and deleted afterwards.
Aim: the generator at least half as fast as Kafka's tool (ratio >= 0.5).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = "127.0.0.1:9092"
KAFKA_LIBS = ROOT / ".local" / "kafka" / "libs"
PERF_LINE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec")


def pinned(cpu: int | None):
    """A preexec_fn that pins the child (and every thread it starts) to one core."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def create_topics(names: list[str], partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for future in admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
    ).values():
        future.result(30)


def delete_topics(names: list[str]) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": BOOTSTRAP, "log_level": 3})
    for future in admin.delete_topics(names).values():
        try:
            future.result(30)
        except Exception as exc:  # noqa: BLE001 - cleanup only
            print(f"could not delete a topic: {exc}", file=sys.stderr)


def bench_config(directory: Path, suffix: str) -> list[str]:
    """The shipped config with this run's own topic names; returns them."""
    doc = yaml.safe_load((ROOT / "config" / "topics.yaml").read_text())
    names = []
    for topic in doc["kafka_topics"].values():
        topic["topic_name"] = f"bench-{topic['topic_name']}-{suffix}"
        names.append(topic["topic_name"])
    (directory / "topics.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    shutil.copy(ROOT / "config" / "transformations.yaml", directory / "transformations.yaml")
    return names


def run_generator(config_dir: Path, count: int, seed: int, cpu: int | None) -> dict:
    manifest = config_dir / f"manifest-{seed}.json"
    cmd = [
        sys.executable,
        str(ROOT / "sample_gen.py"),
        "--config-dir",
        str(config_dir),
        "--count",
        str(count),
        "--seed",
        str(seed),
        "--bootstrap-servers",
        BOOTSTRAP,
        "--auth",
        "none",
        "--progress",
        "none",
        "--quiet",
        "--manifest",
        str(manifest),
    ]
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, preexec_fn=pinned(cpu), capture_output=True, text=True)
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"sample_gen failed ({result.returncode}):\n{result.stderr[-3000:]}")
    data = json.loads(manifest.read_text())
    totals = data["totals"]
    return {
        "rate": data["records_per_s"],
        "bytes": totals["bytes"],
        "sent": totals["sent"],
        "delivered": totals["delivered"],
        "wall_s": wall,
    }


def run_kafka_tool(topic: str, count: int, record_size: int, cpu: int | None) -> float:
    cmd = [
        "java",
        "-cp",
        f"{KAFKA_LIBS}/*",
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        str(count),
        "--record-size",
        str(record_size),
        "--throughput",
        "-1",
        "--producer-props",
        f"bootstrap.servers={BOOTSTRAP}",
    ]
    result = subprocess.run(cmd, cwd=ROOT, preexec_fn=pinned(cpu), capture_output=True, text=True)
    totals = [m for m in PERF_LINE.finditer(result.stdout) if int(m.group(1)) == count]
    if result.returncode != 0 or not totals:
        raise SystemExit(
            f"ProducerPerformance failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return float(totals[-1].group(2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="records per run (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; medians are reported (default 1)")
    parser.add_argument("--partitions", type=int, default=2, help="partitions of every topic (default 2)")
    parser.add_argument("--cpu", default="0", help="core to pin both producers to, or 'none' (default 0)")
    parser.add_argument("--keep-topics", action="store_true", help="do not delete the benchmark topics")
    args = parser.parse_args(argv)
    cpu = None if args.cpu == "none" else int(args.cpu)

    subprocess.run([str(ROOT / "dev" / "kafka_local.sh"), "start"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    load_before = os.getloadavg()[0]
    suffix = uuid.uuid4().hex[:8]
    perf_topic = f"bench-perf-{suffix}"
    with tempfile.TemporaryDirectory(prefix="bench_sample_gen-") as tmp:
        config_dir = Path(tmp)
        topics = bench_config(config_dir, suffix)
        create_topics([*topics, perf_topic], args.partitions)
        gen_rates, tool_rates, ratios, sizes = [], [], [], []
        try:
            for i in range(args.repeat):
                gen = run_generator(config_dir, args.count, seed=42 + i, cpu=cpu)
                if gen["delivered"] != args.count:
                    raise SystemExit(f"only {gen['delivered']} of {args.count} records delivered")
                size = round(gen["bytes"] / gen["sent"])
                tool = run_kafka_tool(perf_topic, args.count, size, cpu)
                gen_rates.append(gen["rate"])
                tool_rates.append(tool)
                ratios.append(gen["rate"] / tool)
                sizes.append(size)
                print(
                    f"run {i + 1}: sample_gen {gen['rate']:,.0f} records/s (process wall {gen['wall_s']:.1f} s), "
                    f"ProducerPerformance {tool:,.0f} records/s, ratio {ratios[-1]:.2f}, record size {size} B",
                    flush=True,
                )
        finally:
            if not args.keep_topics:
                delete_topics([*topics, perf_topic])
    gen_rate, tool_rate = statistics.median(gen_rates), statistics.median(tool_rates)
    print()
    print(f"records per run        {args.count:,} (default mix: bid, user and order events)")
    print(f"record size            {round(statistics.mean(sizes))} bytes (mean of the generator's JSON values)")
    print(
        f"pinned to              {'cpu ' + str(cpu) if cpu is not None else 'no core (unpinned)'}; "
        f"load average {load_before:.1f} before the runs, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} cores"
    )
    print(f"sample_gen             {gen_rate:,.0f} records/s (median of {len(gen_rates)})")
    print(f"Kafka ProducerPerformance {tool_rate:,.0f} records/s (median of {len(tool_rates)})")
    print(f"ratio                  {statistics.median(ratios):.2f} (median of the runs' ratios; aim: >= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Backfill: fill a new pipeline's history, exactly once, as a bounded run of that pipeline alone.

A pipeline added to a running deployment shares its topics' sources with the others, so after
the restore it reads from the offsets in the snapshot on: the *switch point*. Everything before
it is the backfill's: a bounded run of the new pipeline alone (``--backfill NAME``) reads each
of its topics from the earliest offset (or given ones) up to, not including, the switch offsets.
Together the two runs read every record once.

The switch offsets are the snapshot's: when a local run restores a snapshot with new
pipelines, it reads the Kafka source state of the snapshot itself (Flink's State Processor
API, mskiceberg.streaming.state.SwitchOffsets) and records it in
``<checkpoint.dir>/switch-<pipeline>.json`` before it submits. Not the consumer group's
committed offsets: the source commits them asynchronously after a checkpoint, and a job
stopped right after one can leave none (seen in CI). On the managed service, whose snapshots
are not readable from outside, give the offsets yourself (``--backfill-until FILE``), e.g.
the group's offsets read once the stopped application's last commit went through.

The backfill reads with a consumer group of its own (``<group>-backfill-<pipeline>``), writes no
dead letters (the live job's dead-letter table already has every bad record before the switch)
and touches no other table.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Mapping

from common.errors import ConfigError
from common.load.config import TopicConfig
from common.load.properties import local_path

log = logging.getLogger(__name__)

SWITCH_FILE = "switch-{pipeline}.json"
EARLIEST = "earliest"


def switch_file(checkpoint_dir: str, pipeline: str) -> Path:
    return local_path(checkpoint_dir) / SWITCH_FILE.format(pipeline=pipeline)


def record_switch(checkpoint_dir: str, pipeline: str, offsets: dict[str, dict[int, int]]) -> Path:
    """Write the switch offsets of a new pipeline (topic -> partition -> offset)."""
    path = switch_file(checkpoint_dir, pipeline)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "pipeline": pipeline,
                "recorded_at_ms": int(time.time() * 1000),
                "offsets": {t: {str(p): o for p, o in parts.items()} for t, parts in offsets.items()},
            },
            indent=1,
        )
    )
    log.info("switch point of new pipeline %s recorded in %s: %s", pipeline, path, offsets)
    return path


def read_offsets(path: Path, option: str) -> dict[str, dict[int, int]]:
    """topic name -> partition -> offset, from a switch file."""
    try:
        data = json.loads(path.read_text())
        offsets = {topic: {int(p): int(o) for p, o in parts.items()} for topic, parts in data["offsets"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            str(path),
            option,
            f"not a readable offsets file ({exc})",
            '{"offsets": {"<topic>": {"<partition>": <offset>, ...}}}',
        ) from None
    unknown = [f"{t}:{p}" for t, parts in offsets.items() for p, o in parts.items() if o < 0]
    if unknown:
        raise ConfigError(
            str(path),
            option,
            f"no committed offset for {', '.join(unknown)}",
            "offsets >= 0 (Kafka's 'latest'/'committed' markers are no position)",
        )
    return offsets


def specific_offsets(offsets: Mapping[int, int]) -> str:
    """Flink's 'partition:0,offset:42;partition:1,offset:7'."""
    return ";".join(f"partition:{p},offset:{o}" for p, o in sorted(offsets.items()))


def source_overrides(
    pipeline: str, topics: list[TopicConfig], until: dict[str, dict[int, int]], start: dict[str, dict[int, int]] | None
) -> dict[str, dict[str, str]]:
    """topic key -> source options of the backfill run: own group, from earliest (or ``start``),
    bounded at the switch offsets."""
    overrides = {}
    for topic in topics:
        if topic.topic_name not in until:
            raise ConfigError(
                "--backfill-until",
                topic.topic_name,
                "no switch offsets for this topic",
                f"a file with offsets of: {', '.join(t.topic_name for t in topics)}",
            )
        options = {
            "properties.group.id": f"{topic.consumer_group}-backfill-{pipeline}",
            "scan.bounded.mode": "specific-offsets",
            "scan.bounded.specific-offsets": specific_offsets(until[topic.topic_name]),
        }
        if start and topic.topic_name in start:
            options.update(
                {
                    "scan.startup.mode": "specific-offsets",
                    "scan.startup.specific-offsets": specific_offsets(start[topic.topic_name]),
                }
            )
        else:
            options["scan.startup.mode"] = "earliest-offset"
        overrides[topic.key] = options
    return overrides

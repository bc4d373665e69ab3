"""Find the checkpoint a local job restarts from.

Flink keeps each job's checkpoints under ``<checkpoint.dir>/<job id>/chk-<n>/``; a checkpoint
is complete once its ``_metadata`` file exists (a killed job can leave a half-written one).
"""

from __future__ import annotations

from pathlib import Path

from common.load.properties import local_path


def completed_checkpoints(checkpoint_dir: str) -> list[Path]:
    """Every complete checkpoint under the folder, oldest first."""
    root = local_path(checkpoint_dir)
    found = [m.parent for m in root.glob("*/chk-*/_metadata")]
    return sorted(found, key=lambda p: p.joinpath("_metadata").stat().st_mtime)


def latest_checkpoint(checkpoint_dir: str) -> Path | None:
    """The newest complete checkpoint, or None."""
    done = completed_checkpoints(checkpoint_dir)
    return done[-1] if done else None

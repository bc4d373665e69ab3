"""Where the previous deployment's state map lives, and what a restore may do with it.

common/state/stable_ids.py renumbers a compiled plan against the previous deployment's state map.
This module finds that map and decides the restore settings from the diff:

- local runs keep a map beside every job's checkpoints (``<checkpoint.dir>/<job id>/``), in
  every savepoint they take, and the newest one at ``<checkpoint.dir>/state-ids.json`` (what
  ``--dry-run`` compares against);
- on the managed service the map travels in the zip (``state-ids.json`` at its root), written
  there by ``deploy.py`` from the same comparison.

A restore that would leave state of the previous plan unclaimed runs with
``execution.state-recovery.ignore-unclaimed-state`` (the service's AllowNonRestoredState); a
pipeline that keeps running but loses state (a changed window, say) is refused unless the user
names it (``--allow-state-loss NAME``).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from common.errors import ConfigError
from common.load.properties import APP_DIR, local_path
from common.state.stable_ids import STATE_MAP_FILE, PlanDiff, StateMap

log = logging.getLogger(__name__)

ALLOW_LOSS_FLAG = "--allow-state-loss"


@dataclass(frozen=True)
class StateContext:
    """What a run knows of the state it starts from, and where it keeps its own map."""

    previous: StateMap | None = None  # the map of the plan whose snapshot is restored
    restoring: bool = False
    allowed_losses: tuple[str, ...] = ()  # pipelines the user accepts to restart empty
    checkpoint_dir: str | None = None  # local runs: where maps are kept (None: Flink runs the job)
    savepoint_dir: str | None = None
    on_new_pipelines: Callable[[list[str]], None] | None = None  # a restore adds these: before submit


def find_state_map(restore: str | None, checkpoint_dir: str, managed: bool, planning: bool) -> Path | None:
    """The map of the plan a restore resumes: in the snapshot, beside it (a checkpoint's job
    folder), the zip's on the managed service, or for a planning run (--dry-run) the newest
    local one. A local run that restores nothing has no previous plan."""
    if managed:
        shipped = APP_DIR / STATE_MAP_FILE
        return shipped if shipped.is_file() else None
    if restore:
        snapshot = local_path(restore)
        candidates = [snapshot / STATE_MAP_FILE, snapshot.parent / STATE_MAP_FILE]
    elif planning:
        candidates = [local_path(checkpoint_dir) / STATE_MAP_FILE]
    else:
        return None
    return next((c for c in candidates if c.is_file()), None)


def load_previous(path: Path | None) -> StateMap | None:
    if path is None:
        return None
    try:
        return StateMap.read(path)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise ConfigError(
            str(path),
            "state map",
            f"unreadable: {exc}",
            "the state-ids.json a run of this job wrote, or none (a first deployment)",
        ) from None


def refuse_unnamed_losses(diff: PlanDiff, allowed: Sequence[str], action: str) -> None:
    """A pipeline that keeps running but loses state must be named by the user (restore, deploy)."""
    unnamed = [p for p in diff.state_lost if p not in allowed]
    if unnamed:
        raise ConfigError(
            ALLOW_LOSS_FLAG,
            ", ".join(unnamed),
            "this change drops the state of pipelines that keep running "
            "(their windows and sessions restart empty at the switch)",
            f"{action} with {ALLOW_LOSS_FLAG} {' '.join(unnamed)} to accept that, or keep their SQL unchanged",
        )


def restore_settings(diff: PlanDiff, restoring: bool, allowed: Sequence[str]) -> bool:
    """Whether the restore must ignore unclaimed state; refuses a loss the user did not name."""
    if not restoring:
        return False
    refuse_unnamed_losses(diff, allowed, "restore")
    if diff.unclaimed:
        log.info("restoring without the state of: %s", ", ".join(diff.unclaimed))
    return bool(diff.unclaimed)


def keep_state_map(state_map: StateMap, checkpoint_dir: str, job_id: str) -> None:
    """Beside the job's checkpoints, and as the newest map of this checkpoint folder."""
    root = local_path(checkpoint_dir)
    for folder in (root / job_id, root):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / STATE_MAP_FILE).write_text(state_map.to_json())


def copy_into_savepoint(checkpoint_dir: str, job_id: str, savepoint: str) -> None:
    source = local_path(checkpoint_dir) / job_id / STATE_MAP_FILE
    target = local_path(savepoint)
    if source.is_file() and target.is_dir():
        shutil.copyfile(source, target / STATE_MAP_FILE)

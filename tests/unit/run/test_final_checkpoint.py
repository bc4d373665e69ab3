"""A bounded local run takes its final checkpoint right after the end of input
(common/run/flink_env.py, src/main/java/.../source/EndOfInputSource.java)."""

from __future__ import annotations

import pytest

from common.load.properties import load_settings
from common.run.flink_env import FINAL_CHECKPOINT_AFTER_MS, final_checkpoint_options

BACKLOG = "execution.checkpointing.interval-during-backlog"
INTERVAL = "execution.checkpointing.interval"


@pytest.mark.parametrize("configured, during_backlog", [("10s", "10000 ms"), ("1 min", "60000 ms"), ("2 s", "2000 ms")])
def test_the_configured_interval_applies_while_sources_read_a_short_one_after(configured, during_backlog):
    assert final_checkpoint_options(configured) == {
        INTERVAL: f"{FINAL_CHECKPOINT_AFTER_MS} ms",
        BACKLOG: during_backlog,
    }


@pytest.mark.parametrize("configured", ["1s", "500ms", "1000 ms"])
def test_an_interval_no_longer_than_the_short_one_stays_as_configured(configured):
    # Flink refuses a backlog interval shorter than the interval
    assert final_checkpoint_options(configured) == {}


@pytest.mark.jvm
@pytest.mark.parametrize("bounded", [True, False])
def test_only_a_bounded_run_sets_the_backlog_interval(bounded, tmp_path, monkeypatch):
    from common.run import flink_env

    monkeypatch.setenv("FLINK_CHECKPOINT_INTERVAL", "10s")
    monkeypatch.setenv("FLINK_CHECKPOINT_DIR", str(tmp_path))
    config = flink_env.create_table_env(load_settings(None), "final-checkpoint", bounded=bounded).get_config()
    assert config.get(INTERVAL, None) == ("1000 ms" if bounded else "10s")
    assert config.get(BACKLOG, None) == ("10000 ms" if bounded else None)

"""A quiet console that cannot hang the job (common/run/console.py, common/run/log4j-local.properties).

PyFlink starts its gateway JVM with stderr on a pipe it never reads; a log configuration
that writes to stderr used to fill that pipe (64 KiB) and block every thread that logs: the
local job hung. The regression test runs a small local job whose JVM writes several times
that much to stderr, the way the hanging configuration did, and expects it to finish.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.run.console import LOG4J_LOCAL, copy_lines

ROOT = Path(__file__).resolve().parents[3]
PIPE_CAPACITY = 65536  # Linux's default pipe buffer
# What the earlier, hanging attempt did: Flink's INFO lines to the console on stderr.
LOG4J_ON_STDERR = """\
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = ConsoleAppender
appender.console.name = ConsoleAppender
appender.console.type = CONSOLE
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d %-5p %-160c - %m%n
"""
JOB = f"""\
import sys
sys.path.insert(0, {str(ROOT)!r})
from common.run.console import quiet_flink_console
quiet_flink_console()
from pyflink.table import EnvironmentSettings, TableEnvironment
t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
t_env.execute_sql("CREATE TABLE s (x BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1000')")
t_env.execute_sql("CREATE TABLE k (x BIGINT) WITH ('connector' = 'blackhole')")
t_env.execute_sql("INSERT INTO k SELECT x FROM s").wait()
print("finished")
"""


@pytest.mark.jvm
def test_a_local_job_whose_jvm_fills_the_stderr_pipe_still_finishes(tmp_path):
    log4j = tmp_path / "log4j-stderr.properties"
    log4j.write_text(LOG4J_ON_STDERR)
    result = subprocess.run(
        [sys.executable, "-c", JOB],
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
        env={**os.environ, "LOG4J_PROPERTIES": str(log4j)},
    )
    assert result.returncode == 0, result.stderr[-3000:].decode()
    assert result.stdout.decode().splitlines()[-1] == "finished"
    assert len(result.stderr) > PIPE_CAPACITY, "the JVM must have written enough to fill the pipe"
    assert b"INFO  org.apache.flink.runtime.minicluster.MiniCluster " in result.stderr  # the JVM's lines, passed on


def test_the_project_configuration_keeps_library_notices_off_the_console():
    text = LOG4J_LOCAL.read_text()
    assert "appender.console.target = SYSTEM_ERR" in text  # drained (common/logs.py), and off the product on stdout
    assert "appender.console.filter.threshold.level = ERROR" in text
    assert "rootLogger.appenderRef.file.ref = FileAppender" in text  # everything else is in Flink's log file


def test_the_drain_passes_lines_on_redacted_except_the_jvms_own_notice():
    source = io.BytesIO(
        b"WARNING: Unknown module: jdk.proxy2 specified to --add-opens\n"
        b"2026-01-01 ERROR org.example: broken \xff\n"
        b"'properties.sasl.jaas.config'='M required username=\"u\" password=\"pw\";'\n"
    )
    target = io.StringIO()
    copy_lines(source, target)
    assert target.getvalue() == (
        "2026-01-01 ERROR org.example: broken \ufffd\n"
        "'properties.sasl.jaas.config'='M required username=\"u\" password=****;'\n"
    )

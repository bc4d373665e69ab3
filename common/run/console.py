"""The console of a local run's Flink JVM (PyFlink's gateway, which runs the mini cluster).

It logs through log4j. PyFlink's default (conf/log4j-cli.properties) sends org.apache.hadoop at
INFO to the console: one "CodecPool: Got brand-new compressor" line per Parquet writer. The
project's log4j-local.properties (beside this module) sends everything to Flink's log file and
only warnings and errors to the console.

Why the first quiet configuration hung bounded runs: PyFlink starts the gateway JVM with
``stderr=PIPE`` (pyflink_gateway_server.py) and never reads that pipe. A console appender on
stderr fills the pipe's 64 KiB, the writing thread blocks inside log4j holding the appender's
lock, every other thread that logs blocks behind it, and the job never finishes (measured:
jstack showed "mini-cluster-io-thread" in FileOutputStream.writeBytes and the py4j thread
BLOCKED on the same OutputStreamManager). ``drain_gateway_stderr`` reads that pipe for the
life of the process and copies it to our stderr, so nothing the JVM writes there can block it.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from pathlib import Path
from typing import IO

from common.redact import redact_sql

LOG4J_LOCAL = Path(__file__).resolve().with_name("log4j-local.properties")
LOG4J_ENV = "LOG4J_PROPERTIES"  # read by PyFlink's gateway launcher
JVM_NOTICES = (b"WARNING: Unknown module: jdk.proxy2 specified to --add-opens",)


def quiet_flink_console(env: dict[str, str] | os._Environ = os.environ) -> None:
    """Local runs, before the first TableEnvironment: the project's log4j configuration for
    the gateway JVM (unless $LOG4J_PROPERTIES names another), and its stderr drained."""
    if LOG4J_LOCAL.is_file():  # the deployable zip carries Python files only: PyFlink's default there
        env.setdefault(LOG4J_ENV, str(LOG4J_LOCAL))
    drain_gateway_stderr()


def copy_lines(source: IO[bytes], target: IO[str] | None = None) -> None:
    """Copy ``source`` line by line to ``target`` (default: the current sys.stderr) until EOF,
    redacted (common/redact.py), leaving out the JVM's notices about PyFlink's own command line."""
    for line in iter(source.readline, b""):
        if line.startswith(JVM_NOTICES):
            continue
        out = target or sys.stderr
        try:
            out.write(redact_sql(line.decode("utf-8", "replace")))
            out.flush()
        except (OSError, ValueError):  # our stderr is gone (closed at exit): keep draining
            pass


def drain_gateway_stderr() -> None:
    """Make PyFlink's gateway launcher drain the JVM's stderr pipe (see the module docstring).

    PyFlink keeps no reference to the process it starts, so its launcher function is wrapped:
    the wrapper starts a daemon thread that copies the pipe to our stderr. Idempotent; does
    nothing when the gateway is already running (PYFLINK_GATEWAY_PORT: Flink started us)."""
    from pyflink import java_gateway

    launch = java_gateway.launch_gateway_server_process
    if getattr(launch, "drains_stderr", False):
        return

    @functools.wraps(launch)  # keeps the class-sharing wrapper's mark (common/run/class_sharing.py)
    def launch_and_drain(env, args):
        process = launch(env, args)
        if process.stderr is not None:
            threading.Thread(target=copy_lines, args=(process.stderr,), name="flink-jvm-stderr", daemon=True).start()
        return process

    setattr(launch_and_drain, "drains_stderr", True)  # the type functools.wraps returns declares no such attribute
    java_gateway.launch_gateway_server_process = launch_and_drain


def flink_log_file() -> str | None:
    """Where the gateway JVM's log4j file appender writes (PyFlink sets -Dlog.file)."""
    from pyflink.java_gateway import get_gateway

    return get_gateway().jvm.System.getProperty("log.file")

"""Run phase, part 1: the TableEnvironment, configured the same way for every run.

Two ways the job runs (``settings.managed``, common/load/properties.py):

- **Flink runs it**: ``flink run -py streaming_job.py -pyfs lib/python -j
  lib/pyflink-dependencies.jar`` on a cluster (docs/cluster.md), or the managed service with
  the same run options. Flink started this process and owns the job's configuration: the jar
  comes from ``-j`` / ``jarfile``, checkpointing, parallelism and the restart strategy from the
  cluster's configuration (or the application's, on the service). The job sets only table
  options (the session time zone, the Iceberg sink below) and does not wait for the job.
- **Local**: ``python streaming_job.py`` starts its own Flink (a mini cluster in PyFlink's
  JVM). The job names its jar (``pipeline.jars``), configures checkpointing, parallelism and
  a restart strategy from the ``flink`` properties, and waits.

Neither needs Hadoop on Flink's class path: the Iceberg catalog is created by the jar's own
factory from the jar's Hadoop classes (common/render/catalog_manager.py).

Every run writes Iceberg through Iceberg's SinkV2-based sink (``table.exec.iceberg.use-v2-sink``).
The default (v1) sink's committer keeps one pending manifest per checkpoint id, and files
written at the end of input all carry the same id: when a checkpoint falls between the end of
input of two writer subtasks, the second writer's files replace the first's and those rows
are never committed (measured on the standalone cluster, parallelism 2, bounded run: 50 of
6,000 rows lost, every time; none with the v2 sink; docs/cluster.md).

Every run also sets ``pipeline.object-reuse``: a source feeds up to six chained pipelines,
and without reuse Flink deep-copies each record (its key, headers and raw columns included)
once per consumer. The job has no user functions that keep records: the SQL operators copy
what they buffer into state or binary buffers, Iceberg's writers
copy values as they write, and the strict-json decoder makes a new row per record. Measured
(benchmarks/bench_decoder.py, 1M records): the sources + pipelines went from 26.4 s to
14.5 s, Flink's json format from 14.5 s to 14.0 s.

A local bounded run does not wait for the next checkpoint to commit its last files: its
sources report backlog until every reader has read all of its input
(src/main/java/.../source/EndOfInputSource.java); the configured interval applies while they
do (``interval-during-backlog``), a short one after (``FINAL_CHECKPOINT_AFTER_MS``), so Flink
takes the final checkpoint about a second after the end of input instead of up to one
interval later.
"""

from __future__ import annotations

import logging
import os

from common.durations import parse_duration_ms
from common.load.properties import RuntimeSettings, local_jar
from common.run import class_sharing, console

log = logging.getLogger(__name__)

PYTHON_WORKER_MODE = "_python_worker_execution_mode"

# Failover (docs/deploy.md, "Storage outages"): a failed job restarts from its last checkpoint
# after 1 s, then 2, 4, 8, 16 s and from then on every 30 s (each +-10 %), back to 1 s once it
# has run 10 minutes without failing: an outage longer than the storage clients' retries
# (common/render/catalog_manager.py) ends in a restart within about 30 s of the storage coming back.
# Checkpoints that fail outside the tasks (the checkpoint storage, a timeout) are tolerated
# TOLERABLE_FAILED_CHECKPOINTS times in a row before the job fails over. Local runs and
# dev/flink_cluster.sh set these; on the managed service they are the service's
# (docs/deploy.md).
RESTART_STRATEGY = {
    "restart-strategy.type": "exponential-delay",
    "restart-strategy.exponential-delay.initial-backoff": "1 s",
    "restart-strategy.exponential-delay.backoff-multiplier": "2.0",
    "restart-strategy.exponential-delay.max-backoff": "30 s",
    "restart-strategy.exponential-delay.jitter-factor": "0.1",
    "restart-strategy.exponential-delay.reset-backoff-threshold": "10 min",
}
TOLERABLE_FAILED_CHECKPOINTS = "5"
# A local run gives up after this many restarts in a row (about 3 minutes of backoff) and fails
# (exit 1): a job that fails whatever happens ends the run. A cluster keeps restarting.
LOCAL_RESTART_ATTEMPTS = "10"
# Bounded local runs: how soon after the end of input the final checkpoint is taken.
FINAL_CHECKPOINT_AFTER_MS = 1000


def create_table_env(
    settings: RuntimeSettings,
    job_name: str,
    batch: bool = False,
    restore_from: str | None = None,
    bounded: bool = False,
    runs_job: bool = False,
):
    """A streaming TableEnvironment in UTC with exactly-once checkpoints (or a batch one).

    ``restore_from``: a checkpoint or savepoint folder the job resumes from (local runs).
    ``bounded``: every source is bounded; the final checkpoint follows the end of input (see above).
    ``runs_job``: this process will run a job (not only plan): its JVM may write the class-data
    archive later runs map (common/run/class_sharing.py).
    """
    from pyflink.table import EnvironmentSettings, TableEnvironment  # deferred: load/render need no JVM

    if not settings.managed:
        console.quiet_flink_console()  # before the gateway JVM starts: common/run/console.py
        class_sharing.use_class_sharing(write=runs_job)  # the same: common/run/class_sharing.py
    mode = EnvironmentSettings.in_batch_mode() if batch else EnvironmentSettings.in_streaming_mode()
    if not settings.managed:
        # PyFlink starts a Beam "loopback" server for Python UDFs in local runs (1.3 s); the job has
        # none. PyFlink's own switch (table_environment.py): a UDF would still run, in a process.
        os.environ.setdefault(PYTHON_WORKER_MODE, "process")
    t_env = TableEnvironment.create(mode)
    config = t_env.get_config()
    config.set("table.local-time-zone", "UTC")  # a table option: allowed on the managed service too
    config.set("table.exec.iceberg.use-v2-sink", "true")  # a table option too; see the module docstring
    config.set("pipeline.object-reuse", "true")  # see the module docstring
    if not settings.managed:
        # When Flink runs the job, the jar, checkpointing, parallelism and restarts are its own.
        config.set("pipeline.name", job_name)
        config.set("pipeline.jars", local_jar(settings).as_uri())
        config.set("parallelism.default", str(settings.flink.parallelism))
        config.set("execution.checkpointing.interval", settings.flink.checkpoint_interval)
        if bounded:
            for key, value in final_checkpoint_options(settings.flink.checkpoint_interval).items():
                config.set(key, value)
        config.set("execution.checkpointing.mode", "EXACTLY_ONCE")
        config.set("execution.checkpointing.dir", settings.flink.checkpoint_dir)
        if settings.flink.rest_port:
            config.set("rest.port", str(settings.flink.rest_port))
        # Keep the last checkpoint when the job is cancelled or killed, so it can resume.
        config.set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
        for key, value in failover_options(local=True).items():
            config.set(key, value)
        if restore_from:
            config.set("execution.state-recovery.path", restore_from)
            log.info("restoring from %s", restore_from)
    if settings.managed:
        log.info(
            "TableEnvironment ready: Flink runs the job (checkpointing, parallelism and restarts "
            "from its configuration)"
        )
    else:
        # A second environment of the same run (the record summary) says nothing new.
        log.log(
            logging.DEBUG if batch else logging.INFO,
            "TableEnvironment ready (local, parallelism=%s, checkpoint every %s); Flink's log: %s",
            settings.flink.parallelism,
            settings.flink.checkpoint_interval,
            console.flink_log_file(),
        )
    return t_env


def failover_options(local: bool) -> dict[str, str]:
    """The restart strategy and checkpoint tolerance (see above) of a local run or a cluster."""
    options = {**RESTART_STRATEGY, "execution.checkpointing.tolerable-failed-checkpoints": TOLERABLE_FAILED_CHECKPOINTS}
    if local:
        options["restart-strategy.exponential-delay.attempts-before-reset-backoff"] = LOCAL_RESTART_ATTEMPTS
    return options


def final_checkpoint_options(checkpoint_interval: str) -> dict[str, str]:
    """A bounded run's checkpoint intervals: the configured one while any source still reads
    (reports backlog), FINAL_CHECKPOINT_AFTER_MS once all have read everything. Flink requires
    the backlog interval to be at least the other; a shorter configured interval stays as it is."""
    interval_ms = parse_duration_ms(checkpoint_interval)
    if interval_ms is None or interval_ms <= FINAL_CHECKPOINT_AFTER_MS:
        return {}
    return {
        "execution.checkpointing.interval": f"{FINAL_CHECKPOINT_AFTER_MS} ms",
        "execution.checkpointing.interval-during-backlog": f"{interval_ms} ms",
    }


def web_ui_address(job_client) -> str | None:
    """The web UI / REST address of the local mini cluster that runs the job, or None when
    another Flink runs it. The mini cluster binds a free port unless flink.rest.port is set;
    Flink's JobClient does not expose the address, so it is read from the job client's
    MiniCluster (MiniClusterJobClient.miniCluster, a private field)."""
    try:
        client = job_client._j_job_client
        field = client.getClass().getDeclaredField("miniCluster")
        field.setAccessible(True)
        address = field.get(client).getRestAddress().getNow(None)
    except Exception:  # py4j wraps Java's NoSuchFieldException etc.: not a local mini cluster
        log.debug("no local web UI address", exc_info=True)
        return None
    return str(address) if address is not None else None


def log_web_ui(job_client) -> None:
    """Local runs: say where to watch the job (metrics, checkpoints, back pressure)."""
    address = web_ui_address(job_client) if job_client else None
    if address:
        log.info("Flink web UI: %s (while the job runs)", address)

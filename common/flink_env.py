"""Run phase, part 1: the TableEnvironment, configured the same way for every run.

Locally the job adds its dependency jar through ``pipeline.jars`` and puts Hadoop's client
jars on the JVM class path (``HADOOP_CLASSPATH``, which PyFlink's gateway reads), the way
Flink expects Hadoop on a cluster. Hadoop must sit beside Flink rather than in the user jar:
Iceberg's catalog factory calls Flink's own ``HadoopUtils``, which lives in the parent class
loader and cannot see classes of a user jar (measured: NoClassDefFoundError otherwise). On
the managed service the service loads the jar named by ``jarfile``; the jar's HadoopUtils
stand-in (src/main/java) covers that class loader layout there.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from common.errors import ConfigError
from common.properties import APP_DIR, RUN_OPTIONS, RuntimeSettings

log = logging.getLogger(__name__)

HADOOP_JAR_DIRS = ("target/hadoop", "lib/hadoop")


def local_jar(settings: RuntimeSettings) -> Path:
    """The dependency jar: where the zip puts it (jarfile), else where `mvn package` builds it."""
    candidates = [APP_DIR / settings.jarfile, APP_DIR / "target" / Path(settings.jarfile).name]
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError(str(settings.source), f"{RUN_OPTIONS}.jarfile",
                      f"no jar at {' or '.join(str(c) for c in candidates)}", "build it with `mvn package`")


def hadoop_classpath() -> str:
    """Hadoop client jars for the gateway JVM: $HADOOP_CLASSPATH, else the ones Maven copied."""
    if os.environ.get("HADOOP_CLASSPATH"):
        return os.environ["HADOOP_CLASSPATH"]
    for folder in HADOOP_JAR_DIRS:
        jars = sorted((APP_DIR / folder).glob("*.jar"))
        if jars:
            return os.pathsep.join(str(j) for j in jars)
    raise ConfigError("pom.xml", "hadoop-classpath", f"no Hadoop jars in {' or '.join(HADOOP_JAR_DIRS)}",
                      "build them with `mvn package`, or set HADOOP_CLASSPATH")


def create_table_env(settings: RuntimeSettings, job_name: str, batch: bool = False, restore_from: str | None = None):
    """A streaming TableEnvironment in UTC with exactly-once checkpoints (or a batch one).

    ``restore_from``: a checkpoint or savepoint folder the job resumes from (local runs).
    """
    if not settings.managed:
        # Must be set before the first PyFlink call starts the gateway JVM.
        os.environ["HADOOP_CLASSPATH"] = hadoop_classpath()
    from pyflink.table import EnvironmentSettings, TableEnvironment  # deferred: load/render need no JVM

    mode = EnvironmentSettings.in_batch_mode() if batch else EnvironmentSettings.in_streaming_mode()
    t_env = TableEnvironment.create(mode)
    config = t_env.get_config()
    config.set("table.local-time-zone", "UTC")  # a table option: allowed on the managed service too
    if not settings.managed:
        # On the managed service, checkpointing and parallelism come from the application's
        # configuration and the jar from the jarfile run option.
        config.set("pipeline.name", job_name)
        config.set("pipeline.jars", local_jar(settings).as_uri())
        config.set("parallelism.default", str(settings.flink.parallelism))
        config.set("execution.checkpointing.interval", settings.flink.checkpoint_interval)
        config.set("execution.checkpointing.mode", "EXACTLY_ONCE")
        config.set("execution.checkpointing.dir", settings.flink.checkpoint_dir)
        if settings.flink.rest_port:
            config.set("rest.port", str(settings.flink.rest_port))
        # Keep the last checkpoint when the job is cancelled or killed, so it can resume.
        config.set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
        if restore_from:
            config.set("execution.state-recovery.path", restore_from)
            log.info("restoring from %s", restore_from)
    log.info("TableEnvironment ready (managed=%s, parallelism=%s, checkpoint every %s)",
             settings.managed, settings.flink.parallelism, settings.flink.checkpoint_interval)
    return t_env

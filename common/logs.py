"""Logging set-up shared by every command-line entry point: one format, every line redacted.

Library notices are kept out at their source: Apache Beam (imported by PyFlink) logs "Using Any
for unsupported type" and a BigQuery notice at INFO on import, and py4j's debug lines carry
every statement sent to Java; their loggers stay at WARNING even with -v. The Flink JVM's own
console (log4j, its stderr pipe) is common/run/console.py's.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from common.redact import redact_sql

# Our loggers carry their own level: PyFlink lowers the root logger to WARNING when the
# TableEnvironment starts, which would otherwise silence the job's progress lines. Every module
# logs to getLogger(__name__), so the roots are the project's top-level packages and modules
# (tests/unit/test_layout.py holds this tuple to the tree), and __main__ for a file run as a script.
OWN_LOGGERS = ("__main__", "common", "transformations", "samplegen", "scripts", "streaming_job", "deploy", "sample_gen")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose INFO lines are notices for their own developers, not for someone running the job.
# Even with -v: py4j's debug lines carry every statement sent to Java, botocore's whole request
# bodies (the property groups, secrets included).
QUIET_LIBRARIES = ("apache_beam", "py4j", "botocore", "boto3", "s3transfer", "urllib3")


class ScriptName(logging.Filter):
    """A script's own lines read ``status: ...``, not ``__main__: ...``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "__main__" or record.name.startswith("__main__."):
            record.name = Path(sys.argv[0]).stem + record.name[len("__main__") :]
        return True


class RedactingFormatter(logging.Formatter):
    """Every line logged, exception text included, passes common/redact.py: a safety net for
    messages that quote options, such as Flink's errors, which list a table's options (and an
    Iceberg sink's options carry its catalog's, as JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_sql(super().format(record))


def setup_logging(
    verbose: bool = False, quiet: bool = False, handler: logging.Handler | None = None, fmt: str = FORMAT
) -> None:
    """The project's loggers at INFO (DEBUG with -v, WARNING with -q), the libraries' at WARNING
    (DEBUG with -v, except QUIET_LIBRARIES), every line through RedactingFormatter. A host that
    already set up logging (pytest, an embedding program) keeps its handlers."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    root = logging.getLogger()
    if not root.handlers:
        handler = handler or logging.StreamHandler(sys.stderr)
        handler.setFormatter(RedactingFormatter(fmt))
        handler.addFilter(ScriptName())
        root.addHandler(handler)
        root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)

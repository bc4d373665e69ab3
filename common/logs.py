"""Logging set-up shared by every command-line entry point."""

from __future__ import annotations

import logging
import sys

# Our loggers carry their own level: PyFlink lowers the root logger to WARNING when the
# TableEnvironment starts, which would otherwise silence the job's progress lines.
OWN_LOGGERS = ("streaming_job", "common", "transformations", "sample_gen", "samplegen", "deploy")


def setup_logging(verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)

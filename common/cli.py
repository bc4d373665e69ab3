"""What every command line of the project shares: its exit codes and how it ends.

Exit codes mean the same in every command (``--help`` of each lists the ones it uses):
0 it worked; 1 the work failed (the job, an AWS call, a read, records not delivered); 2 bad
arguments or configuration, found before anything started; 3 it ran and found what a user must
act on (a stale table for status, Kafka access refused for the job); 130 interrupted (Ctrl-C).
Logging is common/logs.py's ``setup_logging``, which always redacts.
"""

from __future__ import annotations

import enum
import logging
import sys
from typing import Callable, NoReturn

from common.errors import ConfigError

log = logging.getLogger(__name__)


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    CHECK_FAILED = 3
    INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


def run(main: Callable[[], int]) -> NoReturn:
    """An entry point's last line: exit with ``main()``'s code; a ConfigError that escaped it is
    bad input (2), Ctrl-C is 130, without a traceback either way."""
    try:
        code = main()
    except ConfigError as exc:
        log.error("bad configuration: %s", exc)
        code = ExitCode.BAD_INPUT
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    sys.exit(int(code))

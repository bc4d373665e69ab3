"""Flink's errors as py4j hands them to Python, reduced to what a user needs: the one place that
parses them (PyFlink keeps its own conversion in pyflink/util/exceptions.py; this reads the
message text, which is all a py4j error carries across the gateway).

Pure text functions: no PyFlink import, tested without a JVM (tests/unit/run/test_validation.py).
"""

from __future__ import annotations

import re

# A Flink exception and its whole message, up to the Java stack ("\tat ...") or the parser's
# long "Was expecting one of" list. Messages span lines: a sink mismatch lists both schemas.
_JAVA_ERROR = re.compile(
    r"(org\.apache\.flink\.[\w.$]*(?:Exception|Error)): (.*?)(?=\n\s+at |\nWas expecting|\Z)", re.S
)
_ANY_JAVA_ERROR = re.compile(r"^: ([\w.$]+(?:Exception|Error)): (.*)$", re.M)  # py4j's ": java.lang.X: ..." line


def java_message(exc: Exception) -> str:
    """The first Flink exception of a py4j error with its full message (parse and validation
    errors carry "line N, column M"), not the Java stack. Generic wrappers such as
    java.lang.RuntimeException are skipped: the first Flink exception is the one that explains;
    without one, the Java exception py4j reports."""
    text = str(exc)
    match = _JAVA_ERROR.search(text) or _ANY_JAVA_ERROR.search(text)
    if match:
        return f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2).strip()}"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


PLANNING_ERRORS = (
    "org.apache.flink.table.api.ValidationException",
    "org.apache.flink.table.api.SqlParserException",
    "org.apache.flink.table.api.TableException",
    "Error while applying rule",
)


def is_planning_error(exc: Exception) -> bool:
    """A failure of parsing, validating or optimizing SQL (nothing was submitted)."""
    text = str(exc)
    return "JobExecutionException" not in text and any(marker in text for marker in PLANNING_ERRORS)


_CAUSED_BY = re.compile(r"^Caused by: ([\w.$]+): (.*)$", re.M)


def root_cause(exc: Exception) -> str:
    """'; caused by X: message' from the innermost Java cause (Flink's own message only says the ALTER failed)."""
    causes = _CAUSED_BY.findall(str(exc))
    return f"; caused by {causes[-1][0].rsplit('.', 1)[-1]}: {causes[-1][1].strip()}" if causes else ""

"""The one exception type for bad configuration, so the CLI can report it and exit 2, and where
something was declared (Origin), so errors found later still point at the line to fix."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


class ConfigError(Exception):
    """Bad configuration, found before Flink starts: names the file, the line, the key and what is valid.

    Printed as ``file:line: key: problem (valid: ...)`` (``file: key: ...`` without a line), the
    form editors and CI logs turn into a link to the line.
    """

    def __init__(self, file: str, key: str, problem: str, valid: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        self.valid = valid
        self.line = line
        where = f"{file}:{line}" if line else file
        text = f"{where}: {key}: {problem}"
        if valid:
            text += f" (valid: {valid})"
        super().__init__(text)


@dataclass(frozen=True)
class Origin:
    """Where something was declared, so a later phase (render, plan check) can point at it."""

    file: str
    key: str
    line: int | None = None

    def error(self, problem: str, valid: str | None = None) -> ConfigError:
        return ConfigError(self.file, self.key, problem, valid, line=self.line)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A '; did you mean X?' suffix for near-miss names, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""

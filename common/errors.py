"""The one exception type for bad configuration, so the CLI can report it and exit 2."""

from __future__ import annotations

import difflib
from typing import Iterable


class ConfigError(Exception):
    """Bad configuration, found before Flink starts: names the file, the key and what is valid."""

    def __init__(self, file: str, key: str, problem: str, valid: str | None = None) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        self.valid = valid
        text = f"{file}: {key}: {problem}"
        if valid:
            text += f" (valid: {valid})"
        super().__init__(text)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ' did you mean X?' suffix for near-miss names, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""

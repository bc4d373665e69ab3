"""Hide credential-like values before anything is printed or logged.

Catalog options, Kafka client properties and runtime property groups can carry keys,
secrets, tokens and passwords (``s3.secret-access-key``, ``sasl.jaas.config``, ...). Every
place that shows such a mapping (``--dry-run``, debug logs, the status command, deploy's dry
run) passes it through here first, so one list decides what counts as secret.

Two rules, both conservative (showing too little beats leaking):

- a key that names a secret (``secret``, ``password``, ``token``, ``access-key``, ...)
  hides its whole value;
- any other text keeps its shape but loses the secret parts inside it: ``password="..."``
  and the like in a JAAS line or a JDBC URL, the password of ``scheme://user:pass@host``,
  and JSON members whose key names a secret. A JAAS key (``sasl.jaas.config``) is shown
  this way, so the login module and user name stay readable while its password does not.

Besides the explicit calls, every line the job logs (common/logs.py: its formatter, and the
Flink JVM's console lines it passes on) goes through ``redact_sql``: Flink's own error
messages quote a table's options, and an Iceberg sink's options carry its catalog's.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

REDACTED = "****"

# Matched against the option's key, case-insensitively, anywhere in the key. A JAAS key
# (sasl.jaas.config) is not here on purpose: its value is shown with its secret parts hidden.
_SECRET_KEY = re.compile(
    r"secret|password|passwd|passphrase|token|credential|private[-_.]?key|access[-_.]?key|"
    r"session[-_.]?key|api[-_.]?key|signature|auth[-_.]?header|keystore\.key|user[-_.]?info",
    re.I,
)
# "... password='x'" or "clientSecret=x" inside a value (a JAAS line, a JDBC URL, a query string).
_SECRET_IN_VALUE = re.compile(
    r"((?:password|passwd|passphrase|pwd|secret|token|credential|accesskey|access_key|secretkey|apikey|api_key|"
    r"privatekey|private_key)\w*\s*=\s*)(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s;&,)]+)",
    re.I,
)
# scheme://user:password@host
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s/]+)(@)", re.I)
# "key": "value" in JSON text: Iceberg's sink tables carry their catalog's options as JSON
# ('src-catalog' = '{..."catalog-props":{...}}'), and Flink quotes them in error messages.
_JSON_PAIR = re.compile(r'("((?:[^"\\]|\\.)*)"\s*:\s*")((?:[^"\\]|\\.)*)(")')


def is_secret_key(key: str) -> bool:
    """True when the key itself says its value is a credential."""
    return bool(_SECRET_KEY.search(key))


def redact_text(text: str) -> str:
    """Text with the secret parts inside it hidden (``password=...``, URL passwords, JSON
    members whose key names a secret)."""
    text = _JSON_PAIR.sub(
        lambda m: m.group(1) + REDACTED + m.group(4) if is_secret_key(m.group(2)) else m.group(0), text
    )
    text = _SECRET_IN_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    return _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)


def redact_value(key: str, value: Any) -> Any:
    """The value to show for ``key``: hidden if the key names a secret, else with any
    ``password=...``-style parts of the text hidden."""
    if value is None:
        return None
    if is_secret_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``mapping`` (nested mappings and lists too) with secret values hidden."""
    shown: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            shown[key] = REDACTED if is_secret_key(str(key)) else redact(value)
        elif isinstance(value, (list, tuple)):
            shown[key] = [redact(v) if isinstance(v, Mapping) else redact_value(str(key), v) for v in value]
        else:
            shown[key] = redact_value(str(key), value)
    return shown


# 'key' = 'value' in a WITH clause; both SQL literals ('' is an escaped quote).
_SQL_OPTION = re.compile(r"('((?:[^']|'')*)'\s*=\s*)'((?:[^']|'')*)'")


def redact_sql(sql: str) -> str:
    """SQL text (DDL, a dry run's whole output) or a message that quotes options (Flink's
    "Table options are: 'k'='v'", a log line), with the values of secret ``'key' = 'value'``
    options hidden, and the secret parts of all other text too (redact_text)."""

    def hide(match: re.Match) -> str:
        key, value = match.group(2).replace("''", "'"), match.group(3).replace("''", "'")
        shown = redact_value(key, value)
        return f"{match.group(1)}'{str(shown).replace(chr(39), chr(39) * 2)}'"

    parts, last = [], 0
    for match in _SQL_OPTION.finditer(sql):  # text between options: redact_text; options: by key
        parts += [redact_text(sql[last : match.start()]), hide(match)]
        last = match.end()
    return "".join(parts) + redact_text(sql[last:])

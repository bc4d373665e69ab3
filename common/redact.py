"""Hide credential-like values before anything is printed or logged.

Catalog options, Kafka client properties and runtime property groups can carry keys,
secrets, tokens and passwords (``s3.secret-access-key``, ``sasl.jaas.config``, ...). Every
place that shows such a mapping (``--dry-run``, debug logs, the status command, deploy's dry
run) passes it through here first, so one list decides what counts as secret.

Two rules, both conservative (showing too little beats leaking):

- a key that names a secret (``secret``, ``password``, ``token``, ``access-key``, ...)
  hides its whole value;
- any other text keeps its shape but loses the secret parts inside it: ``password="..."``
  and the like in a JAAS line or a JDBC URL, and the password of ``scheme://user:pass@host``.
  A JAAS key (``sasl.jaas.config``) is shown this way, so the login module and user name
  stay readable while its password does not.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

REDACTED = "****"

# Matched against the option's key, case-insensitively, anywhere in the key. A JAAS key
# (sasl.jaas.config) is not here on purpose: its value is shown with its secret parts hidden.
_SECRET_KEY = re.compile(r"secret|password|passwd|passphrase|token|credential|private[-_.]?key|access[-_.]?key|"
                         r"session[-_.]?key|api[-_.]?key|signature|auth[-_.]?header|keystore\.key|user[-_.]?info", re.I)
# "... password='x'" or "clientSecret=x" inside a value (a JAAS line, a JDBC URL, a query string).
_SECRET_IN_VALUE = re.compile(
    r"((?:password|passwd|passphrase|pwd|secret|token|credential|accesskey|access_key|secretkey|apikey|api_key|"
    r"privatekey|private_key)\w*\s*=\s*)(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s;&,)]+)", re.I)
# scheme://user:password@host
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s/]+)(@)", re.I)


def is_secret_key(key: str) -> bool:
    """True when the key itself says its value is a credential."""
    return bool(_SECRET_KEY.search(key))


def redact_text(text: str) -> str:
    """Text with the secret parts inside it hidden (``password=...``, URL passwords)."""
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
    """SQL text (DDL, a dry run's whole output) with the values of secret ``'key' = 'value'``
    options hidden, and secret parts of the other option values too."""
    def hide(match: re.Match) -> str:
        key, value = match.group(2).replace("''", "'"), match.group(3).replace("''", "'")
        shown = redact_value(key, value)
        return f"{match.group(1)}'{str(shown).replace(chr(39), chr(39) * 2)}'"
    return _SQL_OPTION.sub(hide, sql)

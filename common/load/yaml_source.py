"""YAML read with the line of every key, so that every configuration error can name its line.

``read_yaml`` parses with PyYAML's safe loader and indexes the node of every key path; an
``At`` is one value plus its path, and every check reads through one, so ``at.error(...)``
gives ``file:line: key.path: problem (valid: ...)``. Duplicate keys, which YAML would
silently collapse, are an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from common.errors import ConfigError, Origin, did_you_mean


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML file plus the line of every key and the node of every value."""

    file: str
    key_lines: dict[tuple, int]
    nodes: dict[tuple, yaml.Node]

    def line(self, path: tuple) -> int | None:
        """The line of the key (or list item) at `path`, else of its nearest ancestor."""
        while path:
            if path in self.key_lines:
                return self.key_lines[path]
            if path in self.nodes:
                return self.nodes[path].start_mark.line + 1
            path = path[:-1]
        return None

    def text_first_line(self, path: tuple) -> int | None:
        """The line a string value's text starts on: exact for `|` blocks and one-line values."""
        node = self.nodes.get(path)
        if not isinstance(node, yaml.ScalarNode):
            return None
        if node.style == "|":
            return node.start_mark.line + 2
        if node.start_mark.line == node.end_mark.line:
            return node.start_mark.line + 1
        return None


@dataclass(frozen=True)
class At:
    """A value of a YAML file and its key path: every check reads through one, so every error
    can name the file, the line and the key."""

    doc: YamlDoc
    path: tuple
    label: str  # the key path as shown to people: transformations[2] (name).sink_table
    value: Any

    def child(self, key: Any) -> At:
        value = self.value.get(key) if isinstance(self.value, dict) else None
        return At(self.doc, (*self.path, key), f"{self.label}.{key}" if self.label else str(key), value)

    def items(self) -> list[At]:
        return [At(self.doc, (*self.path, i), f"{self.label}[{i}]", v) for i, v in enumerate(self.value)]

    def named(self, name: str) -> At:
        """The same place, labelled with the name of what it declares."""
        return At(self.doc, self.path, f"{self.label} ({name})", self.value)

    def virtual(self, label: str, value: Any) -> At:
        """A value that is not in the file (what a transformer class returned), located here."""
        return At(self.doc, (*self.path, object()), label, value)

    @property
    def present(self) -> bool:
        return self.value is not None

    @property
    def origin(self) -> Origin:
        return Origin(self.doc.file, self.label or "(top level)", self.doc.line(self.path))

    def error(self, problem: str, valid: str | None = None) -> ConfigError:
        return self.origin.error(problem, valid)


def _index(node: yaml.Node, path: tuple, doc: YamlDoc) -> None:
    doc.nodes[path] = node
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            sub = (*path, key_node.value)
            if sub in doc.key_lines:
                raise ConfigError(
                    doc.file,
                    ".".join(map(str, sub)),
                    f"appears twice (first on line {doc.key_lines[sub]}); YAML would keep only the last",
                    line=key_node.start_mark.line + 1,
                )
            doc.key_lines[sub] = key_node.start_mark.line + 1
            _index(value_node, sub, doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), doc)


def read_yaml(path: Path) -> At:
    """Parse a YAML file (safe loader) and index the line of every key."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, "(file)", "not found") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(syntax)"
        context = f" ({exc.context})" if getattr(exc, "context", None) else ""
        raise ConfigError(file, where, f"not valid YAML: {getattr(exc, 'problem', exc)}{context}") from None
    finally:
        loader.dispose()
    doc = YamlDoc(file, {}, {})
    if node is not None:
        _index(node, (), doc)
    return At(doc, (), "", data)


# --- checks of one value: each takes its At, so its error names the place --------------------------


def found(value: Any) -> str:
    return "nothing" if value is None else f"{value!r} ({type(value).__name__})"


def mapping(at: At, allowed: Mapping[str, bool]) -> dict[str, Any]:
    """A mapping with only the allowed keys and every required one."""
    if not isinstance(at.value, dict):
        raise at.error(f"expected a mapping, found {found(at.value)}")
    for key in at.value:
        if key not in allowed:
            raise at.child(key).error(f"unknown key{did_you_mean(str(key), allowed)}", ", ".join(allowed))
    for key, required in allowed.items():
        if required and key not in at.value:
            raise at.child(key).error("missing required key")
    return at.value


def string(at: At) -> str:
    if not isinstance(at.value, str) or not at.value.strip():
        hint = "; quote it if it is text" if isinstance(at.value, (int, float, bool)) else ""
        raise at.error(f"expected a non-empty string, found {found(at.value)}{hint}")
    return at.value.strip()


def boolean(at: At, default: bool) -> bool:
    if not at.present:
        return default
    if not isinstance(at.value, bool):
        raise at.error(f"expected true or false, found {found(at.value)}")
    return at.value


def choice(at: At, choices: tuple[str, ...], what: str) -> str:
    value = string(at)
    if value not in choices:
        raise at.error(f"'{value}' is not {what}{did_you_mean(value, choices)}", ", ".join(choices))
    return value


def items_of(at: At, what: str) -> list[At]:
    if not at.present:
        return []
    if not isinstance(at.value, list):
        raise at.error(f"expected a list of {what}, found {found(at.value)}")
    return at.items()

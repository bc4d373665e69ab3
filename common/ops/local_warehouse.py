"""Read tables of the local Hadoop-catalog warehouse with pyiceberg, independently of Flink.

Used by the demo (to show results) and the tests (to check them). Needs pyiceberg, which the
job itself does not.
"""

from __future__ import annotations

from common.load.properties import local_path


def table_names(warehouse: str, namespace: str) -> list[str]:
    """Tables of a namespace: folders holding Iceberg metadata."""
    folder = local_path(warehouse) / namespace
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "metadata" / "version-hint.text").is_file())


def open_table(warehouse: str, namespace: str, table: str):
    """The table at its current version (the Hadoop catalog's version-hint.text)."""
    from pyiceberg.table import StaticTable

    metadata = local_path(warehouse) / namespace / table / "metadata"
    version = (metadata / "version-hint.text").read_text(encoding="utf-8").strip()
    return StaticTable.from_metadata(str(metadata / f"v{version}.metadata.json"))


def read_rows(warehouse: str, namespace: str, table: str) -> list[dict]:
    """Every row of the table, as dicts."""
    return open_table(warehouse, namespace, table).scan().to_arrow().to_pylist()

"""Print each Iceberg table of the local warehouse: its row count and a few rows."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.errors import ConfigError  # noqa: E402
from common.local_warehouse import open_table, table_names  # noqa: E402
from common.properties import load_settings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--properties", help="runtime properties JSON (as streaming_job.py)")
    parser.add_argument("--rows", type=int, default=3, help="rows to show per table (default 3)")
    args = parser.parse_args(argv)
    try:
        catalog = load_settings(args.properties).catalog
    except ConfigError as exc:
        sys.stderr.write(f"bad configuration: {exc}\n")
        return 2
    if catalog.catalog_type != "hadoop":
        sys.stderr.write("show_tables reads the local (hadoop) warehouse only\n")
        return 2
    names = table_names(catalog.warehouse, catalog.namespace)
    if not names:
        sys.stderr.write(f"no tables in {catalog.warehouse}/{catalog.namespace}\n")
        return 1
    out = sys.stdout
    for name in names:
        arrow = open_table(catalog.warehouse, catalog.namespace, name).scan().to_arrow()
        out.write(f"\n{catalog.namespace}.{name}: {arrow.num_rows} rows\n")
        for row in arrow.slice(0, args.rows).to_pylist():
            out.write(f"  {row}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

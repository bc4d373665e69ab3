"""Render the Iceberg catalog: S3 Tables in production, a local Hadoop catalog by default.

The local default is Iceberg's ``hadoop`` catalog on a directory: it needs no server and no
database, keeps every table's metadata next to its data (``<warehouse>/<ns>/<table>/metadata``),
and pyiceberg opens any of its tables from the metadata file, which the tests use to read
results independently of Flink.

Both catalogs are created by the jar's own factory, ``'type' = 'iceberg-portable'``
(src/main/java/com/example/streaming/catalog): Iceberg's catalog, given a Hadoop configuration
made from the jar's own Hadoop classes. Iceberg's ``'type' = 'iceberg'`` asks Flink's
HadoopUtils for it instead, which needs Hadoop on Flink's own class path (docs/cluster.md).
So no run needs Hadoop beside Flink (measured locally and on a standalone cluster).
"""

from __future__ import annotations

from common.load.properties import CatalogSettings
from common.sql import quote, with_clause

S3TABLES_CATALOG_IMPL = "software.amazon.s3tables.iceberg.S3TablesCatalog"
CATALOG_FACTORY = "iceberg-portable"  # PortableIcebergCatalogFactory in the job's jar


def catalog_options(catalog: CatalogSettings) -> dict[str, str]:
    if catalog.catalog_type == "s3tables":
        options = {"type": CATALOG_FACTORY, "catalog-impl": S3TABLES_CATALOG_IMPL, "warehouse": catalog.warehouse}
    else:
        options = {"type": CATALOG_FACTORY, "catalog-type": "hadoop", "warehouse": catalog.warehouse}
    return {**options, **dict(catalog.options)}


def render_catalog_ddl(catalog: CatalogSettings) -> list[str]:
    """CREATE CATALOG + CREATE DATABASE IF NOT EXISTS for the namespace."""
    return [
        f"CREATE CATALOG {quote(catalog.name)} {with_clause(catalog_options(catalog))}",
        f"CREATE DATABASE IF NOT EXISTS {quote(catalog.name)}.{quote(catalog.namespace)}",
    ]

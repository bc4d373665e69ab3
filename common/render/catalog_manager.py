"""Render the Iceberg catalog: S3 Tables in production, a local Hadoop catalog by default.

The local default is Iceberg's ``hadoop`` catalog on a directory: it needs no server and no
database, keeps every table's metadata next to its data (``<warehouse>/<ns>/<table>/metadata``),
and pyiceberg opens any of its tables from the metadata file, which the tests use to read
results independently of Flink.

Both catalogs are created by the jar's own factory, ``'type' = 'iceberg-portable'``
(src/main/java/mskiceberg/streaming/catalog): Iceberg's catalog, given a Hadoop configuration
made from the jar's own Hadoop classes. Iceberg's ``'type' = 'iceberg'`` asks Flink's
HadoopUtils for it instead, which needs Hadoop on Flink's own class path (docs/cluster.md).
So no run needs Hadoop beside Flink (measured locally and on a standalone cluster).

The S3 Tables catalog retries a failed storage call longer than its defaults do (Iceberg's S3
client 5 times, a few seconds in all; the S3 Tables client the AWS SDK's 2 times, under a second):
Iceberg's S3 client (data, manifests, metadata files) and the S3 Tables client (commits, through
the jar's RetryingS3TablesClientFactory) each retry ``STORAGE_RETRIES`` times, backing off
exponentially with full jitter from 100 ms to at most 20 s apart: about 50 s in all (at least
about 30 s, 19 times in 20). So a storage outage shorter than that delays the checkpoint that
meets it and fails nothing (docs/deploy.md, "Storage outages"). An ``option.`` of the properties
with the same key wins.
"""

from __future__ import annotations

from common.load.properties import CatalogSettings
from common.sql import quote, with_clause

S3TABLES_CATALOG_IMPL = "software.amazon.s3tables.iceberg.S3TablesCatalog"
CATALOG_FACTORY = "iceberg-portable"  # PortableIcebergCatalogFactory in the job's jar
STORAGE_RETRIES = "12"
S3TABLES_RETRIES = {
    "s3.retry.num-retries": STORAGE_RETRIES,  # Iceberg's S3FileIO
    "s3tables.client-factory-impl": "mskiceberg.streaming.catalog.RetryingS3TablesClientFactory",
    "s3tables.retry.num-retries": STORAGE_RETRIES,  # read by that factory
}


def catalog_options(catalog: CatalogSettings) -> dict[str, str]:
    if catalog.catalog_type == "s3tables":
        options = {
            "type": CATALOG_FACTORY,
            "catalog-impl": S3TABLES_CATALOG_IMPL,
            "warehouse": catalog.warehouse,
            **S3TABLES_RETRIES,
        }
    else:
        options = {"type": CATALOG_FACTORY, "catalog-type": "hadoop", "warehouse": catalog.warehouse}
    return {**options, **dict(catalog.options)}


def render_catalog_ddl(catalog: CatalogSettings) -> list[str]:
    """CREATE CATALOG + CREATE DATABASE IF NOT EXISTS for the namespace."""
    return [
        f"CREATE CATALOG {quote(catalog.name)} {with_clause(catalog_options(catalog))}",
        f"CREATE DATABASE IF NOT EXISTS {quote(catalog.name)}.{quote(catalog.namespace)}",
    ]

"""Open one Iceberg table of the job's catalog with pyiceberg, read-only, wherever it lives.

The tools beside the job (status, dead-letter replay) read the tables the job writes without
Flink: the local Hadoop-catalog warehouse straight from its folders, an S3 Tables bucket
through the service's API (which only says where the current metadata file is) and S3. One
place does both, so every tool honours the same catalog options (``option.client.region``,
``option.s3tables.endpoint``, ``option.s3.endpoint``) and the same credential chain.
Needs pyiceberg (and boto3 for S3 Tables), which the job itself does not.
"""

from __future__ import annotations

import logging
from typing import Any

from common.load.properties import CatalogSettings
from common.ops.local_warehouse import open_table as open_local_table
from common.ops.local_warehouse import table_names as local_table_names

log = logging.getLogger(__name__)


class TableNotFound(LookupError):
    """The catalog has no such table (yet): the job creates its tables when it starts."""


def s3tables_region(catalog: CatalogSettings) -> str:
    """option.client.region, else the region in the table bucket ARN."""
    return dict(catalog.options).get("client.region") or catalog.warehouse.split(":")[3]


def s3tables_client(catalog: CatalogSettings):
    import boto3

    return boto3.client(
        "s3tables", region_name=s3tables_region(catalog), endpoint_url=dict(catalog.options).get("s3tables.endpoint")
    )


def s3_io_properties(catalog: CatalogSettings) -> dict[str, str]:
    """pyiceberg FileIO properties for the bucket behind an S3 Tables catalog.

    pyarrow's S3 client does not read AWS profiles, roles or SSO: boto3 resolves the default
    credential chain and the result is handed on.
    """
    import boto3

    options = dict(catalog.options)
    io: dict[str, str] = {"s3.region": s3tables_region(catalog)}
    if options.get("s3.endpoint"):
        io["s3.endpoint"] = options["s3.endpoint"]
    credentials = boto3.Session().get_credentials()
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        io.update({"s3.access-key-id": frozen.access_key, "s3.secret-access-key": frozen.secret_key})
        if frozen.token:
            io["s3.session-token"] = frozen.token
    return io


def _open_s3tables_table(catalog: CatalogSettings, name: str, client: Any = None) -> Any:
    from pyiceberg.table import StaticTable

    client = client or s3tables_client(catalog)
    try:
        location = client.get_table_metadata_location(
            tableBucketARN=catalog.warehouse, namespace=catalog.namespace, name=name
        )["metadataLocation"]
    except client.exceptions.NotFoundException:
        raise TableNotFound(f"no table {catalog.namespace}.{name} in {catalog.warehouse}") from None
    log.debug("reading %s", location)
    return StaticTable.from_metadata(location, properties=s3_io_properties(catalog))


def open_table(catalog: CatalogSettings, name: str, client: Any = None) -> Any:
    """The table ``name`` of the catalog's namespace at its current metadata (a pyiceberg
    StaticTable). Raises TableNotFound if it does not exist; `client`: an s3tables client to reuse."""
    if catalog.catalog_type == "s3tables":
        return _open_s3tables_table(catalog, name, client)
    if name not in local_table_names(catalog.warehouse, catalog.namespace):
        raise TableNotFound(f"no table {catalog.namespace}.{name} in {catalog.warehouse}")
    return open_local_table(catalog.warehouse, catalog.namespace, name)


def describe_catalog(catalog: CatalogSettings) -> dict[str, Any]:
    """What to show of the catalog (secrets hidden: options may carry keys)."""
    from common.redact import redact

    return redact(
        {
            "type": catalog.catalog_type,
            "name": catalog.name,
            "warehouse": catalog.warehouse,
            "namespace": catalog.namespace,
            "options": dict(catalog.options),
        }
    )

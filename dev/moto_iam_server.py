"""moto's server with its IAM enforcement made to check S3 Tables the way AWS does.

moto 5.2.5 authenticates and authorizes every request once enforcement is on (POST
/moto-api/reset-auth), with its own engine: the SigV4 signature of an IAM user's key, then
the user's policies (Allow/Deny, ``*`` wildcards in Action and Resource). For S3 it computes
the action (ACTION_MAP: GetObject for GET and HEAD, PutObject for PUT and the multipart POSTs)
and the object ARN. For S3 Tables it cannot check the job's calls (measured):

1. It re-signs a request without a body using the request's *headers* as the body (for a
   request with neither query nor body moto's ``querystring`` falls back to the headers), so
   every such GET (GetNamespace, GetTableMetadataLocation) fails with SignatureDoesNotMatch.
2. It authorizes every s3tables action against the resource ``*``, so a statement scoped to the
   table bucket's ARN (as AWS's own example policy and ours are) never matches: CreateNamespace
   is denied under exactly the generated policy.
3. A table's files live in an S3 bucket of moto's (``<uuid>--table-s3``), authorized as plain
   s3:GetObject/s3:PutObject on it. AWS authorizes object calls on a table's storage as
   s3tables:GetTableData / s3tables:PutTableData on the table.

Besides, moto answers UpdateTableMetadataLocation with ``namespace`` a string and ``tableArn``
where the API has a list and ``tableARN``: the Java SDK cannot read it and retries, the retry
gets 409 (the first attempt went through), and the catalog, taking the commit for failed, calls
s3tables:DeleteTable on a table it has just created (found with the shared moto fixture too).
That answer is put in the API's shape here, so a run makes the calls it would make on AWS.

This launcher patches those four and nothing else, then runs ``moto.server``: bodiless
requests are signed with their empty body; s3tables requests are checked against the table
bucket's ARN, or the table's (``<bucket ARN>/table/<name>``, moto's form; AWS puts the table
id there, which ``/table/*`` matches as well) when the request names a table; object calls
on a table's storage map to GetTableData (GetObject, HeadObject) or PutTableData (PutObject,
the multipart uploads) on that table; ListParts and AbortMultipartUpload go with them by our
reading of the reference (the job's runs make neither: only GET, HEAD and PUT); any other
object call keeps its s3 action, which a table role is not granted. Every decision is appended to the JSON-lines file ``$MOTO_AUTH_LOG``
(principal, action, resource, allowed), so a test can see what a run asked for.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from botocore.awsrequest import AWSRequest
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam import access_control
from moto.s3tables.responses import S3TablesResponse
from moto.utilities.utils import get_partition

_LOG_LOCK = threading.Lock()
_BUCKET_PATH = re.compile(r"^/(?:buckets|namespaces|tables)/(arn:[^:]+:s3tables:[^:]+:\d{12}:bucket/[^/]+)(?:/(.*))?$")
# tables/<bucket ARN>/<namespace>/<name>[/metadata-location|/rename|/policy|...]
_TABLE_PATH = re.compile(r"^/tables/[^/]+:bucket/[^/]+/[^/]+/[^/]+")
TABLE_DATA_ACTIONS = {
    "GetObject": "GetTableData",
    "ListMultipartUploadParts": "GetTableData",
    "PutObject": "PutTableData",
    "AbortMultipartUpload": "PutTableData",
}


def log_decision(principal: str, action: str, resource: str, allowed: bool) -> None:
    """One line per authorization in $MOTO_AUTH_LOG (the test reads what the job asked for)."""
    path = os.environ.get("MOTO_AUTH_LOG")
    if path:
        line = json.dumps({"principal": principal, "action": action, "resource": resource, "allowed": allowed})
        with _LOG_LOCK, open(path, "a") as log:
            log.write(line + "\n")


def _aws_request_with_own_body(self: Any) -> AWSRequest:
    """moto's _create_aws_request, but a request without a body is re-signed without one. (A
    form POST of the query protocol also arrives with an empty raw body, werkzeug having parsed
    the form: that one is rebuilt from the form, as moto does.)"""
    signed = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"]).split(";")
    headers = self._create_headers_for_aws_request(signed, self._headers)
    form = "application/x-www-form-urlencoded" in self._headers.get("Content-Type", "")
    body = self._body or (self._data if form else b"")
    request = AWSRequest(method=self._method, url=self._path, data=body, headers=headers)
    request.context["timestamp"] = headers["X-Amz-Date"]
    return request


_check_action_permitted = access_control.IAMRequestBase.check_action_permitted


def _logged_check(self: Any, resource: str) -> None:
    try:
        _check_action_permitted(self, resource)
    except Exception:
        log_decision(self._access_key.arn, self._action, resource, False)
        raise
    log_decision(self._access_key.arn, self._action, resource, True)


def s3tables_resource(self: S3TablesResponse) -> str:
    """The ARN AWS authorizes an s3tables call against: the table's when the call names one,
    else the table bucket's (``*`` for ListTableBuckets)."""
    parsed = urlparse(self.uri)
    path = unquote(self.raw_path.split("?")[0])
    if parsed.path == "/get-table":  # GetTable: the table in the query
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        return f"{query['tableBucketARN']}/table/{query['name']}"
    if path == "/buckets":
        name = json.loads(self.body)["name"] if self.method == "PUT" else None  # CreateTableBucket
        return (
            f"arn:{get_partition(self.region)}:s3tables:{self.region}:{self.current_account}:bucket/{name}"
            if name
            else "*"
        )
    match = _BUCKET_PATH.match(path)
    if not match:
        return "*"
    bucket_arn, rest = match.groups()
    if _TABLE_PATH.match(path):
        return f"{bucket_arn}/table/{rest.split('/')[1]}"
    return bucket_arn


def table_of_storage_bucket(account_id: str, partition: str, bucket_name: str) -> Any:
    """The s3tables Table whose files live in this S3 bucket, or None for an ordinary bucket."""
    from moto.s3.models import s3_backends
    from moto.s3tables.models import s3tables_backends

    bucket = s3_backends[account_id][partition].table_buckets.get(bucket_name)
    if bucket is None:
        return None
    for table_bucket in s3tables_backends[account_id][bucket.region_name].table_buckets.values():
        for namespace in table_bucket.namespaces.values():
            for table in namespace.tables.values():
                if table.warehouse_location == f"s3://{bucket_name}":
                    return table
    return None


class TableDataIAMRequest(access_control.S3IAMRequest):
    """An object call on a table's storage, authorized as the s3tables action AWS maps it to."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s3_action = self._action.split(":", 1)[1]
        if s3_action in TABLE_DATA_ACTIONS:
            self._action = f"s3tables:{TABLE_DATA_ACTIONS[s3_action]}"


_authorize_s3 = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action


def _authorize_s3_or_table_data(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
    table = (
        table_of_storage_bucket(self.current_account, get_partition(self.region), bucket_name) if bucket_name else None
    )
    if table is None:
        _authorize_s3(self, bucket_name=bucket_name, key_name=key_name)
        return
    if TABLE_DATA_ACTIONS.get(self._get_action()):
        self._authenticate_and_authorize_action(TableDataIAMRequest, table.arn)
    else:  # not a table-data call: its own s3 action on the object, which the table role has no grant for
        _authorize_s3(self, bucket_name=bucket_name, key_name=key_name)


_update_table_metadata_location = S3TablesResponse.update_table_metadata_location


def update_table_metadata_location(self: S3TablesResponse) -> Any:
    """moto's answer in the API's shape: ``namespace`` a list, the ARN under ``tableARN``."""
    status, headers, body = _update_table_metadata_location(self)
    answer = json.loads(body)
    answer["namespace"] = [answer["namespace"]]
    answer["tableARN"] = answer.pop("tableArn")
    return status, headers, json.dumps(answer)


def patch() -> None:
    access_control.IAMRequestBase._create_aws_request = _aws_request_with_own_body
    access_control.IAMRequestBase.check_action_permitted = _logged_check
    S3TablesResponse._determine_resource = s3tables_resource
    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = _authorize_s3_or_table_data
    S3TablesResponse.update_table_metadata_location = update_table_metadata_location


if __name__ == "__main__":
    from moto import server

    patch()
    server.main(sys.argv[1:])

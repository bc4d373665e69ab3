"""Deploy the job to Amazon Managed Service for Apache Flink (formerly Kinesis Data Analytics).

Subcommands:
  deploy  upload the zip `mvn package` built to S3, then create the application if it does
          not exist, or update it (code, properties, checkpointing, parallelism, monitoring,
          logging, VPC, role, runtime) if something differs; nothing changes when nothing
          differs, so running it twice is safe. It does not start the application.
  start   start the application (nothing to do when it is already running or starting).
  stop    stop it (nothing to do when it is already stopped).
  status  print the application's state and settings as JSON.
  table-maintenance  set the S3 Tables service's own maintenance (compaction, snapshot expiry,
          unreferenced file removal) of the job's tables and table bucket to match the job's
          table properties (common/ops/s3tables_maintenance.py).
  iam-policy  print the execution role's policy for the topics and consumer groups of the
          config (and an environment's overlay), in any AWS partition (common/deploy/iam_policy.py).

The runtime properties come from a file in the format of application_properties.json (the
same shape the job reads locally), `kinesis.analytics.flink.run.options` included. The file,
the zip and every argument are checked before any AWS call. Parallelism defaults to the
file's `flink` group, which the job itself uses locally; the checkpoint interval does not (see
DEFAULT_CHECKPOINT_INTERVAL).

--dry-run makes only read-only calls (ListApplications, DescribeApplication, S3 HeadObject),
to find out what exists, and prints every call that would change something, with its
parameters, instead of making it.

AWS access comes from the usual boto3 chain (profile, environment, role); `--endpoint-url`
or $AWS_ENDPOINT_URL points the clients elsewhere (tests use a local moto server).

Exit codes: 0 ok, 1 an AWS call failed, 2 bad input (no AWS call was made).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TextIO

from common import cli
from common.cli import ExitCode
from common.deploy import iam_policy
from common.deploy.deploy_state import PlanStep
from common.deploy.service import Api, Clients, deploy, make_clients, start, status, stop
from common.deploy.spec import (
    APPLICATION_NAME,
    DEFAULT_CHECKPOINT_INTERVAL,
    DEFAULT_ZIP,
    RUNTIME,
    ApplicationStateError,
    bad_arg,
    build_spec,
    check_pattern,
    validate_properties,
)
from common.errors import ConfigError
from common.load.config import CONFIG_DIR
from common.logs import setup_logging
from common.ops import s3tables_maintenance

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--application-name", required=True, help="the Managed Flink application's name")
    common.add_argument("--region", help="AWS region (default: $AWS_REGION / $AWS_DEFAULT_REGION / the profile's)")
    common.add_argument("--endpoint-url", help="send the API calls here instead of AWS (default: $AWS_ENDPOINT_URL)")
    common.add_argument(
        "--dry-run",
        action="store_true",
        help="make only read-only calls; print the calls that would change something instead",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    parser = argparse.ArgumentParser(
        prog="deploy.py",
        description="Deploy the job to Amazon Managed Service for Apache Flink and run it.",
        epilog="Exit codes: 0 ok, 1 an AWS call failed, 2 bad input (no AWS call was made). See docs/deploy.md.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{deploy,start,stop,status,table-maintenance,iam-policy}"
    )

    d = commands.add_parser(
        "deploy",
        parents=[common],
        help="upload the zip; create or update the application",
        description="Upload the zip and create the application, or update it where it differs.",
    )
    d.add_argument(
        "--properties",
        required=True,
        help="runtime properties, in the format of application_properties.json (run options included)",
    )
    d.add_argument("--zip", default=str(DEFAULT_ZIP), help="the zip `mvn package` built (default: %(default)s)")
    d.add_argument("--bucket", required=True, help="S3 bucket for the code")
    d.add_argument("--key", default="flink/managed-flink-app.zip", help="S3 key for the zip (default: %(default)s)")
    d.add_argument("--role-arn", required=True, help="the application's service execution role")
    d.add_argument("--runtime", default=RUNTIME, help="runtime environment (default: %(default)s)")
    d.add_argument("--description", default="Kafka -> Iceberg streaming job (config-driven PyFlink)")
    d.add_argument(
        "--log-stream-arn",
        help="CloudWatch Logs stream for the application's logs "
        "(arn:aws:logs:<region>:<account-id>:log-group:<group>:log-stream:<stream>)",
    )
    d.add_argument("--log-level", default="INFO", choices=("INFO", "WARN", "ERROR", "DEBUG"))
    d.add_argument("--metrics-level", default="APPLICATION", choices=("APPLICATION", "TASK", "OPERATOR", "PARALLELISM"))
    d.add_argument("--subnet-ids", help="comma-separated subnets with a route to the MSK brokers")
    d.add_argument("--security-group-ids", help="comma-separated security groups the brokers accept")
    d.add_argument("--parallelism", type=int, help="default: flink.parallelism of the properties file")
    d.add_argument("--parallelism-per-kpu", type=int, default=1, help="1..8 (default: %(default)s)")
    d.add_argument(
        "--auto-scaling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="let the service scale parallelism with load (default: on)",
    )
    d.add_argument(
        "--checkpoint-interval",
        default=DEFAULT_CHECKPOINT_INTERVAL,
        help="how often the service checkpoints, and so how often Iceberg commits (default: %(default)s; "
        "the properties' flink.checkpoint.interval is for local runs)",
    )
    d.add_argument("--min-pause-between-checkpoints", default="5s", help="default: %(default)s")
    d.add_argument(
        "--force-code-update",
        action="store_true",
        help="point the application at the zip again even if nothing seems changed (an unversioned "
        "bucket, after an update that failed once the zip was uploaded)",
    )
    d.add_argument(
        "--allow-state-loss",
        nargs="+",
        default=[],
        metavar="PIPELINE",
        help="accept that these changed pipelines restart without their state (the plan diff, printed "
        "first, says which changes drop state); without it such a deployment is refused",
    )
    d.add_argument(
        "--snapshots",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="take a snapshot when the application stops or is updated (default: on)",
    )

    s = commands.add_parser("start", parents=[common], help="start the application")
    restore = s.add_mutually_exclusive_group()
    restore.add_argument(
        "--restore",
        choices=("latest", "skip"),
        help="restore from the latest snapshot, or skip restoring (default: the service's)",
    )
    restore.add_argument("--snapshot-name", help="restore from this snapshot")
    s.add_argument(
        "--allow-non-restored-state",
        action="store_true",
        help="start even if some snapshot state matches no operator of the new job",
    )

    t = commands.add_parser("stop", parents=[common], help="stop the application (takes a snapshot if enabled)")
    t.add_argument("--force", action="store_true", help="stop without a snapshot")

    for sub in (s, t):
        sub.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="wait up to SECONDS for RUNNING (start) / READY (stop); default: do not wait",
        )
        sub.add_argument("--poll-interval", type=float, default=10, metavar="SECONDS", help=argparse.SUPPRESS)

    commands.add_parser("status", parents=[common], help="print the application's state and settings as JSON")

    m = commands.add_parser(
        "table-maintenance",
        help="configure S3 Tables' own maintenance of the job's tables",
        description="Set the S3 Tables service's compaction and snapshot management of each "
        "table of the config, and the table bucket's unreferenced file removal, to match the "
        "job's table properties. Tables the job has not created yet are skipped (run it again "
        "after the first start). Safe to repeat: only what differs is changed.",
    )
    m.add_argument("--properties", required=True, help="runtime properties (the table bucket ARN and namespace)")
    m.add_argument(
        "--config-dir", type=Path, default=CONFIG_DIR, help="folder with the pipelines (default: %(default)s)"
    )
    m.add_argument("--region", help="AWS region (default: $AWS_REGION / $AWS_DEFAULT_REGION / the profile's)")
    m.add_argument("--endpoint-url", help="send the API calls here instead of AWS (default: $AWS_ENDPOINT_URL)")
    m.add_argument("--dry-run", action="store_true", help="make only read calls; print the changes instead")
    m.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    table_defaults = s3tables_maintenance.from_table_properties()
    m.add_argument(
        "--target-file-size-mb",
        type=int,
        default=table_defaults.target_file_size_mb,
        help="compaction target, 64..512 (default: %(default)s, write.target-file-size-bytes)",
    )
    m.add_argument(
        "--min-snapshots",
        type=int,
        default=table_defaults.min_snapshots_to_keep,
        help="snapshots always kept (default: %(default)s, history.expire.min-snapshots-to-keep)",
    )
    m.add_argument(
        "--max-snapshot-age-hours",
        type=int,
        default=table_defaults.max_snapshot_age_hours,
        help="older snapshots expire (default: %(default)s, history.expire.max-snapshot-age-ms)",
    )
    m.add_argument(
        "--unreferenced-days",
        type=int,
        default=table_defaults.unreferenced_days,
        help="bucket: unreferenced files become noncurrent after this (default: %(default)s)",
    )
    m.add_argument(
        "--noncurrent-days",
        type=int,
        default=table_defaults.noncurrent_days,
        help="bucket: noncurrent files are deleted after this (default: %(default)s)",
    )

    i = commands.add_parser(
        "iam-policy",
        help="print the execution role's policy (JSON) for the config's topics",
        description="Print the execution role's policy: the topics and consumer groups of the "
        "config (after the environment's overlay), every ARN in the chosen partition. Values "
        "not given stay ${Name} placeholders for envsubst (docs/deploy.md). No AWS call.",
    )
    i.add_argument("--environment", help="apply config/overlays/ENVIRONMENT.yaml (default: topics.yaml as it is)")
    i.add_argument("--config-dir", type=Path, default=CONFIG_DIR, help="folder with topics.yaml (default: %(default)s)")
    i.add_argument("--partition", help="aws, aws-cn or aws-us-gov (default: the --region's, else left as ${Partition})")
    i.add_argument("--region", help="fills ${Region} (and the partition, unless --partition is given)")
    i.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if args.command == "iam-policy":
        if args.partition is not None:
            check_pattern("--partition", args.partition, iam_policy.PARTITION_NAME, ", ".join(iam_policy.PARTITIONS))
    elif args.command != "table-maintenance":
        check_pattern("--application-name", args.application_name, APPLICATION_NAME, "1-128 of a-z A-Z 0-9 _ . -")
    return args


def print_iam_policy(args: argparse.Namespace, out: TextIO) -> None:
    values = {"Region": args.region} if args.region else {}
    partition = args.partition or (iam_policy.partition_of(args.region) if args.region else None)
    if partition:
        values["Partition"] = partition
    out.write(iam_policy.policy_text(iam_policy.policy_for(args.config_dir, args.environment, values)))


def maintenance_inputs(
    args: argparse.Namespace,
) -> tuple[str, str, list[str], s3tables_maintenance.MaintenanceSettings]:
    """Table bucket ARN, namespace, the job's tables and the settings; ConfigError before any AWS call."""
    from common.load.config import load_project
    from common.render.dead_letters import DEAD_LETTER_TABLE

    _, settings = validate_properties(Path(args.properties))
    low, high = s3tables_maintenance.COMPACTION_MB_RANGE
    if not low <= args.target_file_size_mb <= high:
        raise bad_arg("--target-file-size-mb", f"{args.target_file_size_mb} is out of range", f"{low}..{high}")
    for option in ("min_snapshots", "max_snapshot_age_hours", "unreferenced_days", "noncurrent_days"):
        if getattr(args, option) < 1:
            raise bad_arg("--" + option.replace("_", "-"), f"{getattr(args, option)} is not positive", "1 or more")
    project = load_project(args.config_dir, settings.environment)
    tables = [p.sink_table for p in project.pipelines] + [DEAD_LETTER_TABLE]
    return (
        settings.catalog.warehouse,
        settings.catalog.namespace,
        tables,
        s3tables_maintenance.MaintenanceSettings(
            args.target_file_size_mb,
            args.min_snapshots,
            args.max_snapshot_age_hours,
            args.unreferenced_days,
            args.noncurrent_days,
        ),
    )


def main(argv: list[str] | None = None, clients: Clients | None = None, out: TextIO | None = None) -> int:
    """Run one subcommand; `clients` lets tests pass boto3 clients of their own (e.g. stubbed)."""
    out = out or sys.stdout
    try:
        args = parse_args(argv)
    except ConfigError as exc:
        setup_logging()
        log.error("bad input: %s", exc)
        return ExitCode.BAD_INPUT
    setup_logging(args.verbose)  # every line redacted; botocore's request bodies never shown
    if args.command == "iam-policy":
        try:
            print_iam_policy(args, out)
        except ConfigError as exc:
            log.error("bad input: %s", exc)
            return ExitCode.BAD_INPUT
        return ExitCode.OK
    try:
        spec = build_spec(args) if args.command == "deploy" else None
        maintenance = maintenance_inputs(args) if args.command == "table-maintenance" else None
        api = Api(clients or make_clients(args.region, args.endpoint_url), args.dry_run, out)
    except ConfigError as exc:
        log.error("bad input: %s", exc)
        return ExitCode.BAD_INPUT

    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if args.command == "deploy":
            assert spec is not None  # built above for "deploy"
            deploy(
                api,
                spec,
                Path(args.zip),
                args.force_code_update,
                PlanStep(Path(args.properties), tuple(args.allow_state_loss)),
            )
        elif args.command == "start":
            start(api, args)
        elif args.command == "stop":
            stop(api, args)
        elif args.command == "table-maintenance":
            assert maintenance is not None  # built above for "table-maintenance"
            s3tables_maintenance.configure(api, *maintenance)
        else:
            status(api, args)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        log.error("AWS error in %s: %s: %s", exc.operation_name, error.get("Code"), error.get("Message"))
        return ExitCode.FAILED
    except (BotoCoreError, ApplicationStateError) as exc:
        log.error("%s", exc)
        return ExitCode.FAILED
    except ConfigError as exc:  # the plan diff refused the deployment: nothing was changed
        log.error("refused: %s", exc)
        return ExitCode.BAD_INPUT
    return ExitCode.OK


def console() -> None:
    """The installed command (pyproject.toml, [project.scripts])."""
    cli.run(main)


if __name__ == "__main__":
    console()

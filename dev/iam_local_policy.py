"""Print the job's IAM policy (``deploy.py iam-policy``) filled in for one MSK cluster ARN.

The local IAM broker (``dev/kafka_local.sh start --iam``) authorizes every Kafka request by
this document, so the policy the product generates is the one local runs are held to. Only
the kafka-cluster statements concern a broker; the rest are filled in and left as they are.

Usage: dev/iam_local_policy.py --cluster-arn ARN [--config-dir DIR] [--environment ENV]
Exit codes: 0 printed, 2 bad arguments or config.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from common import cli
from common.cli import ExitCode
from common.deploy import iam_policy
from common.errors import ConfigError
from common.load.config import CONFIG_DIR
from common.logs import setup_logging

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cluster-arn", required=True, help="arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>"
    )
    parser.add_argument(
        "--config-dir", type=Path, default=CONFIG_DIR, help="folder with topics.yaml (default: %(default)s)"
    )
    parser.add_argument("--environment", help="apply config/overlays/ENVIRONMENT.yaml")
    args = parser.parse_args(argv)
    setup_logging(fmt="%(name)s: %(message)s")
    try:
        values = iam_policy.cluster_values(args.cluster_arn)
        policy = iam_policy.policy_for(args.config_dir, args.environment, values)
    except (ValueError, ConfigError) as exc:
        log.error("%s", exc)
        return ExitCode.BAD_INPUT
    sys.stdout.write(iam_policy.policy_text(policy))
    return 0


def console() -> None:
    """The installed command (pyproject.toml, [project.scripts])."""
    cli.run(main)


if __name__ == "__main__":
    console()

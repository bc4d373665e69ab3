"""Producing to Kafka: client configuration (local plaintext or MSK with IAM) and confirmed delivery.

MSK IAM uses SASL/OAUTHBEARER: librdkafka calls ``oauth_cb`` for a token whenever it needs
one, and :class:`MskTokenProvider` signs one with the AWS credentials of the default chain
(environment, profile, instance role...), a named profile, or an assumed role, through
``aws-msk-iam-sasl-signer-python``. Every message gets a delivery report; the
:class:`DeliveryTracker` counts them per topic and partition.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

log = logging.getLogger(__name__)

AUTH_MODES = ("none", "iam")
MSK_REGION = re.compile(r"\.kafka(?:-serverless)?\.([a-z0-9-]+)\.amazonaws\.com")
PRODUCER_DEFAULTS = {
    "enable.idempotence": True,  # acks=all, no duplicates or reordering on retries
    "linger.ms": 20,
    "batch.num.messages": 10_000,
    "queue.buffering.max.messages": 500_000,
}
MAX_LOGGED_ERRORS = 10


@dataclass(frozen=True)
class Target:
    """Where to send and how to authenticate."""

    bootstrap_servers: str
    auth: str = "none"  # none: plaintext (local broker); iam: SASL_SSL + OAUTHBEARER signed for MSK
    region: str | None = None
    aws_profile: str | None = None
    role_arn: str | None = None
    client_id: str = "sample_gen"
    extra: tuple[tuple[str, str], ...] = ()  # librdkafka properties given on the command line
    ca_location: str | None = None  # PEM file of the brokers' CA, when it is a private one

    def describe(self) -> dict[str, Any]:
        return {"bootstrap_servers": self.bootstrap_servers, "auth": self.auth, "region": self.region}


def ca_location(client_properties: Iterable[tuple[str, str]]) -> str | None:
    """The brokers' CA from the job's own TLS properties (kafka.property.ssl.truststore.location
    with type PEM), so one file serves the job's Java clients and these Python ones."""
    props = dict(client_properties)
    location = props.get("ssl.truststore.location")
    return location if location and props.get("ssl.truststore.type", "").upper() == "PEM" else None


def target_for(args: Any, kafka: Any, client_id: str, extra: Iterable[tuple[str, str]] = ()) -> Target:
    """Where a CLI sends (sample_gen, replay_dead_letters, status): its connection options over
    the runtime properties' kafka group (``kafka``: common.load.properties.KafkaSettings)."""
    bootstrap = args.bootstrap_servers or kafka.bootstrap_servers
    auth = args.auth or kafka.auth
    region = resolve_region(args.region, os.environ, bootstrap) if auth == "iam" else args.region
    return Target(
        bootstrap,
        auth,
        region,
        args.aws_profile,
        args.role_arn,
        client_id=client_id,
        extra=tuple(extra),
        ca_location=ca_location(kafka.client_properties),
    )


def region_from_bootstrap(bootstrap_servers: str) -> str | None:
    """The AWS region in an MSK broker host name (b-1.<cluster>.c2.kafka.<region>.amazonaws.com), if any."""
    match = MSK_REGION.search(bootstrap_servers)
    return match.group(1) if match else None


def resolve_region(explicit: str | None, env: Mapping[str, str], bootstrap_servers: str) -> str | None:
    """--region, else $AWS_REGION, else $AWS_DEFAULT_REGION, else the region in the MSK host name."""
    return (
        explicit or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or region_from_bootstrap(bootstrap_servers)
    )


class MskTokenProvider:
    """confluent-kafka's ``oauth_cb`` for MSK IAM: returns (token, expiry in epoch seconds)."""

    def __init__(self, region: str, aws_profile: str | None = None, role_arn: str | None = None) -> None:
        self.region, self.aws_profile, self.role_arn = region, aws_profile, role_arn
        self.calls = 0

    def __call__(self, oauthbearer_config: str | None = None) -> tuple[str, float]:
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

        self.calls += 1
        if self.role_arn:
            token, expiry_ms = MSKAuthTokenProvider.generate_auth_token_from_role_arn(self.region, self.role_arn)
        elif self.aws_profile:
            token, expiry_ms = MSKAuthTokenProvider.generate_auth_token_from_profile(self.region, self.aws_profile)
        else:
            token, expiry_ms = MSKAuthTokenProvider.generate_auth_token(self.region)
        log.debug("signed an MSK IAM token for %s, valid until %d", self.region, expiry_ms)
        return token, expiry_ms / 1000


def client_config(target: Target) -> dict[str, Any]:
    """The confluent-kafka producer configuration for a target; raises ValueError if incomplete."""
    if target.auth not in AUTH_MODES:
        raise ValueError(f"auth '{target.auth}' is not one of {', '.join(AUTH_MODES)}")
    config: dict[str, Any] = {
        "bootstrap.servers": target.bootstrap_servers,
        "client.id": target.client_id,
        **PRODUCER_DEFAULTS,
    }
    if target.auth == "iam":
        if not target.region:
            raise ValueError("auth iam needs an AWS region: --region, $AWS_REGION, or an MSK broker host name")
        config.update(
            {
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "OAUTHBEARER",
                "oauth_cb": MskTokenProvider(target.region, target.aws_profile, target.role_arn),
            }
        )
        if target.ca_location:
            config["ssl.ca.location"] = target.ca_location
    else:
        config["security.protocol"] = "PLAINTEXT"
    for key, value in target.extra:
        config[key] = value
    return config


@dataclass
class DeliveryReport:
    """What the broker confirmed for one topic: delivered messages per partition, and failures."""

    per_partition: Counter = field(default_factory=Counter)
    failed: int = 0

    @property
    def delivered(self) -> int:
        return sum(self.per_partition.values())


class DeliveryTracker:
    """Counts delivery reports: confirmed per (topic, partition), failed per topic."""

    def __init__(self) -> None:
        self.per_partition: Counter = Counter()
        self.failed: Counter = Counter()
        self.errors: Counter = Counter()  # error text -> how often

    def __call__(self, err: Any, msg: Any) -> None:
        if err is None:
            self.per_partition[(msg.topic(), msg.partition())] += 1
        else:
            self.failed[msg.topic()] += 1
            text = str(err)
            self.errors[text] += 1
            if len(self.errors) <= MAX_LOGGED_ERRORS and self.errors[text] == 1:
                log.error("delivery to %s failed: %s", msg.topic(), text)

    @property
    def delivered(self) -> int:
        return sum(self.per_partition.values())

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    def delivered_to(self, topic: str) -> int:
        return sum(n for (t, _), n in self.per_partition.items() if t == topic)

    def report(self, topic: str) -> DeliveryReport:
        return DeliveryReport(
            Counter({p: n for (t, p), n in self.per_partition.items() if t == topic}), self.failed[topic]
        )


class KafkaSink:
    """A producer whose every message is confirmed or counted as failed."""

    def __init__(self, config: dict[str, Any]) -> None:
        from confluent_kafka import Producer

        self.tracker = DeliveryTracker()
        self.producer = Producer({**config, "on_delivery": self.tracker})
        self._produce = self.producer.produce
        self.poll = self.producer.poll

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, str | bytes | None]] | None = None,
        partition: int = -1,
        on_delivery: Callable[[Any, Any], None] | None = None,
    ) -> None:
        """Queue one message; when the local queue is full, serve delivery reports until it is not.

        `partition` -1: the partitioner picks by key (librdkafka's default); `on_delivery` also
        gets this message's delivery report (after the tracker counted it).
        """
        callback: Callable[[Any, Any], None]
        if on_delivery is None:
            callback = self.tracker
        else:

            def callback(err: Any, msg: Any, tracker: DeliveryTracker = self.tracker) -> None:
                tracker(err, msg)
                on_delivery(err, msg)

        try:
            self._produce(topic, value, key, partition, callback, headers=headers)
        except BufferError:
            while True:
                self.producer.poll(0.05)
                try:
                    self._produce(topic, value, key, partition, callback, headers=headers)
                    return
                except BufferError:
                    continue

    def partitions(self, topic: str, timeout_s: float = 10.0) -> int | None:
        """How many partitions the topic has; None if the broker does not know it (yet)."""
        meta = self.producer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if meta is None or meta.error is not None:
            return None
        return len(meta.partitions)

    def in_flight(self) -> int:
        return len(self.producer)

    def flush(self, timeout_s: float) -> int:
        """Wait for outstanding delivery reports; the number still unconfirmed after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        remaining = len(self.producer)
        while remaining and time.monotonic() < deadline:
            remaining = self.producer.flush(min(1.0, max(0.0, deadline - time.monotonic())))
        return remaining


def produce(bootstrap: str, topic: str, events: Iterable[dict], partition: int = -1) -> DeliveryReport:
    """Send events (JSON, keyed by user_id) to one topic of a plaintext broker and confirm each;
    `partition` -1: by key, else all to that partition."""
    sink = KafkaSink(client_config(Target(bootstrap)))
    for event in events:
        sink.send(topic, str(event["user_id"]).encode(), json.dumps(event).encode(), partition=partition)
        sink.poll(0)
    unconfirmed = sink.flush(30)
    report = sink.tracker.report(topic)
    report.failed += unconfirmed
    return report


def add_connection_arguments(group) -> None:
    """The command-line options that say how to reach the brokers (sample_gen, replay_dead_letters)."""
    group.add_argument("--bootstrap-servers", help="override kafka.bootstrap.servers of the runtime properties")
    group.add_argument("--auth", choices=AUTH_MODES, help="override kafka.auth: none (plaintext) or iam (MSK)")
    group.add_argument(
        "--region", help="AWS region for auth iam (default $AWS_REGION, $AWS_DEFAULT_REGION, or the MSK host name)"
    )
    group.add_argument("--aws-profile", help="auth iam: sign with this AWS profile's credentials")
    group.add_argument("--role-arn", help="auth iam: sign with credentials of this assumed role")

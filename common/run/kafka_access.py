"""Before an IAM run is submitted: can the job's own Kafka client reach and use every topic?

A source that cannot authenticate (a wrong secret, a skewed clock), trust the brokers' certificate
or use a topic or group fails only once Flink runs it, and the restart strategy then retries it
until its attempts run out, the cause in a TaskManager's log. So the driver first does what the
sources do first, with the job's jar and the sources' exact client properties
(src/main/java/mskiceberg/streaming/kafka/KafkaAccessCheck.java), and stops with the cause,
naming the missing IAM action and resource where a permission is missing. Plaintext runs (the
local broker) skip it: nothing there can refuse.
"""

from __future__ import annotations

import logging
from typing import Iterable

from common.load.config import TopicConfig
from common.load.properties import KafkaSettings
from common.render.kafka_sources import source_options

log = logging.getLogger(__name__)

CHECK_TIMEOUT_MS = 30_000
CLIENT_PREFIX = "properties."
SOURCE_ONLY = ("group.id",)  # per topic: the check sets each topic's own group


class KafkaAccessError(Exception):
    """The brokers refused the job's client, or could not be reached; one line per problem."""


def client_properties(topic: TopicConfig, kafka: KafkaSettings) -> dict[str, str]:
    """The Kafka client properties every source of the job uses (security, TLS, SASL, extras)."""
    options = source_options(topic, kafka, bounded=False)
    return {
        k[len(CLIENT_PREFIX) :]: v
        for k, v in options.items()
        if k.startswith(CLIENT_PREFIX) and k[len(CLIENT_PREFIX) :] not in SOURCE_ONLY
    }


def needs_check(kafka: KafkaSettings) -> bool:
    return kafka.auth == "iam"


def check_access(topics: Iterable[TopicConfig], kafka: KafkaSettings, timeout_ms: int = CHECK_TIMEOUT_MS) -> None:
    """Raises KafkaAccessError naming every problem; needs the job's jar on the gateway JVM."""
    from pyflink.java_gateway import get_gateway  # deferred: PyFlink

    topics = list(topics)
    if not topics:
        return
    jvm = get_gateway().jvm
    props, groups = jvm.java.util.HashMap(), jvm.java.util.LinkedHashMap()
    for key, value in client_properties(topics[0], kafka).items():
        props.put(key, value)
    for topic in topics:
        groups.put(topic.topic_name, topic.consumer_group)
    log.info(
        "checking access to %d topic(s) at %s (auth %s) before submitting",
        len(topics),
        kafka.bootstrap_servers,
        kafka.auth,
    )
    problems = jvm.mskiceberg.streaming.kafka.KafkaAccessCheck.check(props, groups, timeout_ms)
    if problems:
        raise KafkaAccessError(problems)
    log.info("Kafka access checked: every topic can be described and read, every group used")

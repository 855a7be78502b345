"""Create the platform's Kafka topics from the stream mapping (idempotent)."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from core.catalog import Stream
from core.errors import TelemetryError
from core.settings import ConnectionSettings

__all__ = ["ensure_topics", "existing_topics"]


def existing_topics(settings: ConnectionSettings, *, timeout: float = 15.0) -> set[str]:
    """The topics the cluster has; one clear error when Kafka cannot be reached."""
    admin = AdminClient({**settings.kafka_config(), "socket.timeout.ms": str(int(timeout * 1000))})
    try:
        return set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        msg = f"Kafka at {settings.bootstrap_servers} is unreachable ({exc}); is it up? try `make up`"
        raise TelemetryError(msg) from exc


def ensure_topics(
    settings: ConnectionSettings,
    streams: Iterable[Stream],
    *,
    replication_factor: int,
    min_insync_replicas: int,
    timeout: float = 30.0,
) -> list[str]:
    """Create each stream's topic (with the settings prefix) unless it exists; returns those created.

    Args:
        settings: where Kafka is, and the topic prefix.
        streams: the streams whose topics to create, with their partition counts.
        replication_factor: replicas per partition (3 on the three-node local cluster).
        min_insync_replicas: replicas that must acknowledge an ``acks=all`` write.
        timeout: seconds to wait for the cluster.
    """
    existing = existing_topics(settings, timeout=timeout)
    wanted = [
        NewTopic(
            settings.topic(s.topic),
            num_partitions=s.partitions,
            replication_factor=replication_factor,
            config={"min.insync.replicas": str(min_insync_replicas)},
        )
        for s in streams
        if settings.topic(s.topic) not in existing
    ]
    if not wanted:
        return []
    admin = AdminClient(settings.kafka_config())
    created = []
    for name, future in admin.create_topics(wanted, request_timeout=timeout).items():
        try:
            future.result()
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" in str(exc):
                continue
            msg = f"cannot create topic {name}: {exc}"
            raise TelemetryError(msg) from exc
        created.append(name)
    return created

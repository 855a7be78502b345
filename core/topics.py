"""The platform's Kafka topics on any cluster, from the stream mapping: create, check, raise partitions.

``streams.toml`` says each topic's partitions (at least), replication factor and ``min.insync.replicas``;
:func:`ensure_topics` creates what is missing, :func:`check_topics` says where a cluster differs, and
:func:`raise_partitions` adds partitions (Kafka never removes any). The topic prefix of the settings
applies throughout.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from core.catalog import Stream
from core.errors import TelemetryError
from core.kafka_errors import ClientErrors
from core.kafka_logs import librdkafka_logger
from core.settings import ConnectionSettings

__all__ = ["TopicState", "check_topics", "ensure_topics", "existing_topics", "raise_partitions", "topic_states"]


def existing_topics(settings: ConnectionSettings, *, timeout: float = 15.0) -> set[str]:
    """The topics the cluster has; one clear error when Kafka cannot be reached."""
    errors = ClientErrors()
    admin = _admin(settings, timeout, errors)
    try:
        return set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise _unreachable(settings, admin, errors, exc) from exc


def _admin(settings: ConnectionSettings, timeout: float, errors: ClientErrors) -> AdminClient:
    config = {**settings.kafka_config(), "socket.timeout.ms": str(int(timeout * 1000)), "error_cb": errors,
              "logger": librdkafka_logger("topics")}  # fmt: skip
    return AdminClient(config)


def _unreachable(
    settings: ConnectionSettings, admin: AdminClient, errors: ClientErrors, exc: KafkaException
) -> TelemetryError:
    """One line for a failed metadata request: the cluster refused the client, or it could not be reached."""
    admin.poll(0.5)  # serves the error callbacks, which tell a refusal from an outage
    protocol = settings.security_protocol or "PLAINTEXT"
    return TelemetryError(
        errors.refused_message(settings.bootstrap_servers)
        or f"Kafka at {settings.bootstrap_servers} is unreachable over {protocol} ({exc}); is it up, and does it "
        "take that security protocol? try `make up`"
    )


def ensure_topics(
    settings: ConnectionSettings,
    streams: Iterable[Stream],
    *,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Create each stream's topic (with the settings prefix) unless it exists; returns those created.

    Args:
        settings: where Kafka is, and the topic prefix.
        streams: the streams whose topics to create, with their partition counts.
        replication_factor: replicas per partition; default each stream's (a one-broker cluster needs 1).
        min_insync_replicas: replicas that must acknowledge an ``acks=all`` write; default each stream's.
        timeout: seconds to wait for the cluster.
    """
    existing = existing_topics(settings, timeout=timeout)
    wanted = [
        NewTopic(
            settings.topic(s.topic),
            num_partitions=s.partitions,
            replication_factor=replication_factor or s.replication_factor,
            config={"min.insync.replicas": str(min_insync_replicas or s.min_insync_replicas)},
        )
        for s in streams
        if settings.topic(s.topic) not in existing
    ]
    if not wanted:
        return []
    admin = AdminClient({**settings.kafka_config(), "logger": librdkafka_logger("topics")})
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


@dataclass(frozen=True)
class TopicState:
    """What a cluster has for one stream's topic (None: the topic does not exist)."""

    stream: str
    topic: str
    partitions: int | None
    replication_factor: int | None
    min_insync_replicas: int | None


def topic_states(settings: ConnectionSettings, streams: Iterable[Stream], *, timeout: float = 30.0) -> list[TopicState]:
    """Partitions, replication factor and ``min.insync.replicas`` of each stream's topic on the cluster."""
    errors = ClientErrors()
    admin = _admin(settings, timeout, errors)
    try:
        metadata = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise _unreachable(settings, admin, errors, exc) from exc
    try:
        streams = list(streams)
        present = [settings.topic(s.topic) for s in streams if settings.topic(s.topic) in metadata]
        resources = [ConfigResource(ConfigResource.Type.TOPIC, t) for t in present]
        configs = {r.name: f.result() for r, f in admin.describe_configs(resources).items()} if resources else {}
    except KafkaException as exc:
        msg = f"cannot describe the topics on {settings.bootstrap_servers}: {exc}"
        raise TelemetryError(msg) from exc
    states = []
    for stream in streams:
        name = settings.topic(stream.topic)
        if name not in metadata:
            states.append(TopicState(stream.name, name, None, None, None))
            continue
        partitions = metadata[name].partitions
        replicas = min(len(p.replicas) for p in partitions.values()) if partitions else 0
        isr = configs[name].get("min.insync.replicas")
        states.append(TopicState(stream.name, name, len(partitions), replicas, int(isr.value) if isr else None))
    return states


def check_topics(streams: Iterable[Stream], states: Iterable[TopicState]) -> list[str]:
    """Where the cluster differs from streams.toml, one line each (empty when it does not)."""
    wanted = {s.name: s for s in streams}
    problems = []
    for state in states:
        stream = wanted[state.stream]
        if state.partitions is None:
            problems.append(f"{state.topic}: missing (create it with --create)")
            continue
        if state.partitions < stream.partitions:
            problems.append(f"{state.topic}: {state.partitions} partitions, streams.toml says {stream.partitions}")
        if state.replication_factor != stream.replication_factor:
            problems.append(
                f"{state.topic}: replication factor {state.replication_factor}, streams.toml says "
                f"{stream.replication_factor}"
            )
        if state.min_insync_replicas != stream.min_insync_replicas:
            problems.append(
                f"{state.topic}: min.insync.replicas {state.min_insync_replicas}, streams.toml says "
                f"{stream.min_insync_replicas}"
            )
    return problems


def raise_partitions(settings: ConnectionSettings, stream: Stream, partitions: int, *, timeout: float = 30.0) -> int:
    """Give a stream's topic ``partitions`` partitions in all; returns how many it had.

    Raises:
        TelemetryError: the topic is missing, or has more partitions already (Kafka never removes any).
    """
    state = topic_states(settings, [stream], timeout=timeout)[0]
    if state.partitions is None:
        msg = f"topic {state.topic} does not exist; create it first (--create)"
        raise TelemetryError(msg)
    if partitions < state.partitions:
        msg = f"topic {state.topic} has {state.partitions} partitions; Kafka cannot lower that to {partitions}"
        raise TelemetryError(msg)
    if partitions > state.partitions:
        admin = AdminClient({**settings.kafka_config(), "logger": librdkafka_logger("topics")})
        future = admin.create_partitions([NewPartitions(state.topic, partitions)], request_timeout=timeout)[state.topic]
        try:
            future.result()
        except KafkaException as exc:
            msg = f"cannot raise the partitions of {state.topic} to {partitions}: {exc}"
            raise TelemetryError(msg) from exc
    return state.partitions

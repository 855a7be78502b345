"""The demo's proof that the documented queries tell the truth: the lake's answer against Kafka's.

An independent consumer reads a topic from the beginning to the end and decodes each record with
confluent-kafka's own Avro deserializer (not the streaming job's decoder); the last record each
vehicle sent must be what the named query ``last-position`` (the Athena text of
docs/athena-queries.md, run on the lake through DuckDB) reports for it.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.serialization import MessageField, SerializationContext

with warnings.catch_warnings(record=True):  # authlib's warning about its own httpx module: see core.registry
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer

from core.errors import StackError
from core.kafka_logs import librdkafka_logger
from core.settings import ConnectionSettings

__all__ = ["last_position_mismatches", "read_topic"]


def _plain(value: Any) -> Any:
    """A decoded Avro value as the lake holds it: UUIDs as text, records as dicts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return str(value) if isinstance(value, uuid.UUID) else value


def read_topic(connection: ConnectionSettings, topic: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Every record of ``topic``, from the beginning to the end each partition has now, decoded.

    Raises:
        StackError: the topic is silent for ``timeout`` seconds before its end, or a read fails.
    """
    registry: dict[str, Any] = {"url": connection.registry_url}
    auth = connection.registry_auth()
    if auth:
        registry["basic.auth.user.info"] = f"{auth[0]}:{auth[1]}"
    deserializer = AvroDeserializer(SchemaRegistryClient(registry))
    consumer = Consumer(
        {
            **connection.kafka_config(),
            "logger": librdkafka_logger("demo"),
            "group.id": f"telemetry-check-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout) for p in partitions}
        pending = {p: high for p, (low, high) in ends.items() if high > low}
        consumer.assign([TopicPartition(topic, p, ends[p][0]) for p in pending])
        records = []
        while pending:
            message = consumer.poll(timeout)
            if message is None:
                msg = f"{topic}: nothing read for {timeout:.0f} s before the end of partitions {sorted(pending)}"
                raise StackError(msg)
            if message.error() is not None:
                msg = f"{topic}: cannot read: {message.error()}"
                raise StackError(msg)
            context = SerializationContext(topic, MessageField.VALUE)
            records.append(_plain(deserializer(message.value(), context)))
            if message.offset() + 1 >= pending.get(message.partition(), 0):
                pending.pop(message.partition(), None)
        return records
    finally:
        consumer.close()


def last_position_mismatches(rows: Sequence[Sequence[Any]], vehicles: Sequence[dict[str, Any]]) -> list[str]:
    """What differs between ``last-position``'s rows and the last record each vehicle sent; empty when equal."""
    last: dict[str, dict[str, Any]] = {}
    for record in vehicles:
        known = last.get(record["vehicle_id"])
        if known is None or record["event_time"] > known["event_time"]:
            last[record["vehicle_id"]] = record
    problems = []
    if sorted(last) != [row[0] for row in rows]:
        problems.append(f"vehicles in Kafka {sorted(last)} != vehicles in the lake {[row[0] for row in rows]}")
    for vehicle_id, seen, latitude, longitude, speed in rows:
        sent = last.get(vehicle_id)
        if sent is None:
            continue
        place = sent["location"]
        if (
            seen != sent["event_time"]
            or abs(latitude - place["latitude"]) > 0.5e-5 + 1e-9
            or abs(longitude - place["longitude"]) > 0.5e-5 + 1e-9
            or abs(speed - sent["speed_kmh"]) > 0.05 + 1e-9
        ):
            problems.append(f"{vehicle_id}: lake says {seen} ({latitude}, {longitude}) {speed} km/h; Kafka says {sent}")
    return problems

"""Helpers of the streaming job's integration tests: prefixed subjects and topics, raw records, lake rows."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from core.catalog import Catalog, Stream
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from core.topics import ensure_topics
from streaming.settings import StreamingSettings
from streaming.show import read_table


def shared_spark() -> Any:
    """The process's local SparkSession for the job, created once and shared by every test module.

    Not stopped between modules: starting one takes tens of seconds on two cores; it ends with pytest.
    """
    from streaming.session import get_spark

    return get_spark(StreamingSettings.from_env(), app_name="telemetry-tests")


def prefixed(stack: ConnectionSettings, prefix: str) -> ConnectionSettings:
    """The stack's connection settings with a topic/subject prefix."""
    return dataclasses.replace(stack, topic_prefix=prefix)


def register(registry: RegistryClient, subject: str, schema: Mapping[str, Any] | str) -> int:
    """Register a schema under a subject that refuses breaking versions; returns its id."""
    registry.set_compatibility(subject, "BACKWARD_TRANSITIVE")
    return registry.register(subject, schema if isinstance(schema, str) else json.dumps(schema))


def set_up_streams(
    registry: RegistryClient, connection: ConnectionSettings, streams: Iterable[Stream]
) -> dict[str, int]:
    """Register each stream's schema under its prefixed subject and create its prefixed topic; ids by entity."""
    streams = list(streams)
    ids = {s.name: register(registry, connection.subject(s.subject), s.schema_str) for s in streams}
    brokers = len(AdminClient(connection.kafka_config()).list_topics(timeout=10).brokers)
    replicas = min(3, brokers)
    ensure_topics(connection, streams, replication_factor=replicas, min_insync_replicas=min(2, replicas))
    return ids


def avro_body(schema: Mapping[str, Any], record: Mapping[str, Any]) -> bytes:
    """The Avro binary encoding of ``record`` (no header)."""
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(dict(schema)), dict(record))
    return out.getvalue()


def produce_raw(
    connection: ConnectionSettings, topic: str, messages: Iterable[tuple[bytes | None, bytes | None]]
) -> int:
    """Produce (key, value) pairs as they are, good or bad, to ``topic``; returns how many were acknowledged."""
    delivered = []
    producer = Producer({**connection.kafka_config(), "enable.idempotence": True, "acks": "all"})
    for key, value in messages:
        producer.produce(topic, value, key, on_delivery=lambda err, msg: delivered.append(err is None))
    producer.flush(30)
    assert all(delivered), "a test record was not delivered"
    return len(delivered)


def job_settings(connection: ConnectionSettings, tmp_path: Path, **flags: Any) -> StreamingSettings:
    """Settings of a job on the test stack, with a lake and checkpoints in ``tmp_path``."""
    flags.setdefault("lake", str(tmp_path / "lake"))
    flags.setdefault("checkpoints", str(tmp_path / "checkpoints"))
    return StreamingSettings.from_env(
        topic_prefix=connection.topic_prefix,
        bootstrap_servers=connection.bootstrap_servers,
        registry_url=connection.registry_url,
        **flags,
    )


def lake_rows(settings: StreamingSettings, table: str) -> list[dict[str, Any]]:
    """Every row of a lake table as dicts ([] when the table has no files)."""
    data = read_table(settings, table)
    return data.to_pylist() if data is not None else []


def expected_row(value: Mapping[str, Any], catalog: Catalog, entity: str) -> dict[str, Any]:
    """A produced record as the lake should show it: each schema field, in schema order."""
    return {name: value[name] for name in catalog.get(entity).field_names}


def assert_lake_holds_exactly(
    settings: StreamingSettings, catalog: Catalog, events: Iterable[Any], topic: Callable[[Stream], str]
) -> dict[str, list[dict[str, Any]]]:
    """Assert each stream's table holds exactly the produced records, once each, from its topic; return the rows."""
    events = list(events)
    tables = {}
    for stream in catalog.streams:
        produced = {
            e.value["id"]: expected_row(e.value, catalog, stream.name) for e in events if e.stream == stream.name
        }
        rows = lake_rows(settings, stream.name)
        assert len(rows) == len(produced), stream.name
        assert {r["id"]: {k: r[k] for k in stream.field_names} for r in rows} == produced
        assert {r["kafka_topic"] for r in rows} == {topic(stream)}
        tables[stream.name] = rows
    return tables

"""The producer against the real local stack: everything sent arrives, and every failure says why."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator

import fastavro
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from core.catalog import Catalog, load_catalog, project_root
from core.errors import RegistryError
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from core.topics import ensure_topics
from core.wire import parse_header
from producer.producer import TelemetryProducer
from producer.simulator import STREAMS, Event, SimulationConfig, simulate

pytestmark = pytest.mark.integration

ROOT = project_root()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _replication(settings: ConnectionSettings) -> tuple[int, int]:
    brokers = len(AdminClient(settings.kafka_config()).list_topics(timeout=30).brokers)
    return (3, 2) if brokers >= 3 else (1, 1)


def _register(registry: RegistryClient, settings: ConnectionSettings, catalog: Catalog, **schemas: str) -> None:
    for stream in catalog.streams:
        registry.register(settings.subject(stream.subject), schemas.get(stream.name, stream.schema_str))


@pytest.fixture
def prefixed(stack: ConnectionSettings, topic_prefix: str, catalog: Catalog) -> Iterator[ConnectionSettings]:
    """Settings with a unique prefix, its five topics created (subjects are left to each test)."""
    settings = dataclasses.replace(stack, topic_prefix=topic_prefix)
    replicas, min_insync = _replication(settings)
    ensure_topics(settings, catalog.streams, replication_factor=replicas, min_insync_replicas=min_insync)
    yield settings
    admin = AdminClient(settings.kafka_config())
    for future in admin.delete_topics([settings.topic(s.topic) for s in catalog.streams]).values():
        future.result()


@pytest.fixture
def registered(
    prefixed: ConnectionSettings, registry: RegistryClient, catalog: Catalog
) -> Iterator[ConnectionSettings]:
    """The prefixed topics with the five schemas registered under their prefixed subjects."""
    _register(registry, prefixed, catalog)
    yield prefixed
    for stream in catalog.streams:
        registry.delete_subject(prefixed.subject(stream.subject), permanent=True)


def _consume(settings: ConnectionSettings, topics: list[str], expected: int) -> list:
    consumer = Consumer(
        {
            **settings.kafka_config(),
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(topics)
    messages: list = []
    idle = 0
    try:
        while len(messages) < expected and idle < 20:
            batch = consumer.consume(num_messages=1000, timeout=1.0)
            idle = 0 if batch else idle + 1
            for m in batch:
                assert m.error() is None, m.error()
                messages.append(m)
        # Anything beyond what was produced would be a duplicate: give it a moment to show up.
        messages += [m for m in consumer.consume(num_messages=1000, timeout=2.0) if m.error() is None]
    finally:
        consumer.close()
    return messages


def _end_offsets(settings: ConnectionSettings, topic: str, partitions: int) -> int:
    consumer = Consumer({**settings.kafka_config(), "group.id": f"test-{uuid.uuid4().hex}"})
    try:
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions))
    finally:
        consumer.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "producer", "--progress", "plain", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _plain(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def test_every_event_produced_is_delivered_and_reads_back_equal(
    registered: ConnectionSettings, registry: RegistryClient, catalog: Catalog
) -> None:
    config = SimulationConfig(vehicles=2, seed=5, max_steps=300, camera_spacing_m=500.0, emergency_probability=0.02)
    events = list(simulate(config, catalog))
    with TelemetryProducer(registered, catalog, delivery_timeout_s=60) as producer:
        for event in events:
            producer.produce(event)
    summary = producer.summary()
    sent = Counter(registered.topic(catalog.get(e.stream).topic) for e in events)
    assert {t.topic: t.produced for t in summary.topics} == sent
    assert summary.delivered == summary.produced == len(events) and summary.failed == 0
    assert all(sent[registered.topic(catalog.get(name).topic)] > 0 for name in STREAMS)

    messages = _consume(registered, list(sent), len(events))
    assert Counter(m.topic() for m in messages) == sent  # delivered == consumed, per topic, no duplicates
    by_id: dict[str, Event] = {e.value["id"]: e for e in events}
    writers: dict[int, dict] = {}
    for m in messages:
        schema_id, body = parse_header(m.value())
        if schema_id not in writers:
            writers[schema_id] = fastavro.parse_schema(json.loads(registry.schema_by_id(schema_id)))
        value = _plain(fastavro.schemaless_reader(io.BytesIO(body), writers[schema_id]))
        assert isinstance(value, dict)
        event = by_id[value["id"]]
        assert value == event.value
        assert m.key() == event.key.encode()
        assert m.topic() == registered.topic(catalog.get(event.stream).topic)


def test_the_cli_with_two_workers_delivers_exactly_the_count(registered: ConnectionSettings, catalog: Catalog) -> None:
    result = _cli("--topic-prefix", registered.topic_prefix, "--vehicles", "4", "--workers", "2", "--count", "3000")
    assert result.returncode == 0, result.stderr
    assert any(line.split()[:4] == ["total", "3000", "3000", "0"] for line in result.stdout.splitlines())
    topics = [registered.topic(s.topic) for s in catalog.streams]
    messages = _consume(registered, topics, 3000)
    assert len(messages) == 3000
    assert len({m.key() for m in messages}) == 4  # the two workers split the fleet of four


def test_an_unregistered_subject_stops_before_sending(prefixed: ConnectionSettings, catalog: Catalog) -> None:
    result = _cli("--topic-prefix", prefixed.topic_prefix, "--count", "100")
    assert result.returncode == 1
    line = result.stderr.strip()
    assert line == (
        f"error: subject {prefixed.subject('vehicle_data-value')} has no registered version; run `make schema-register`"
    )
    vehicle = catalog.get("vehicle")
    assert _end_offsets(prefixed, prefixed.topic(vehicle.topic), vehicle.partitions) == 0


def test_an_unreachable_registry_is_one_line_and_exit_code_2() -> None:
    result = _cli("--registry-url", "http://127.0.0.1:1/apis/ccompat/v7", "--count", "10")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: schema registry at http://127.0.0.1:1/apis/ccompat/v7 is unreachable (ConnectionError); "
        "is it up? try `make up`"
    )


def test_a_record_that_does_not_match_the_registered_schema_stops_before_sending(
    prefixed: ConnectionSettings, registry: RegistryClient, catalog: Catalog
) -> None:
    vehicle = catalog.get("vehicle")
    schema = json.loads(vehicle.schema_str)
    schema["fields"].append({"name": "odometer_km", "type": "double", "doc": "A field the simulator does not fill."})
    _register(registry, prefixed, catalog, vehicle=json.dumps(schema))
    try:
        result = _cli("--topic-prefix", prefixed.topic_prefix, "--count", "100")
    finally:
        for stream in catalog.streams:
            registry.delete_subject(prefixed.subject(stream.subject), permanent=True)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert errors[0].startswith("error: record does not match schema id ")
    assert f"of subject {prefixed.subject(vehicle.subject)} at field odometer_km: missing" in errors[0]
    for stream in catalog.streams:
        assert _end_offsets(prefixed, prefixed.topic(stream.topic), stream.partitions) == 0


def test_unreachable_brokers_report_the_undelivered_count(registered: ConnectionSettings) -> None:
    result = _cli(
        "--topic-prefix", registered.topic_prefix, "--bootstrap-servers", "127.0.0.1:1",
        "--delivery-timeout", "3", "--count", "40",
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: 40 of 40 records were not delivered to 127.0.0.1:1 within 3 s")
    assert any(line.split()[:4] == ["total", "40", "0", "40"] for line in result.stdout.splitlines())


def test_missing_topics_are_refused_before_sending(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, catalog: Catalog
) -> None:
    settings = dataclasses.replace(stack, topic_prefix=topic_prefix)
    _register(registry, settings, catalog)
    try:
        result = _cli("--topic-prefix", topic_prefix, "--count", "10")
    finally:
        for stream in catalog.streams:
            registry.delete_subject(settings.subject(stream.subject), permanent=True)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: topic(s) {topic_prefix}emergency_data, ")
    assert "do not exist on" in result.stderr and "Traceback" not in result.stderr


def test_the_producer_refuses_to_start_without_registered_subjects(
    prefixed: ConnectionSettings, catalog: Catalog
) -> None:
    with pytest.raises(RegistryError, match="run `make schema-register`"), TelemetryProducer(prefixed, catalog):
        pass

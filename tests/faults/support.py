"""What every faults test needs: produce simulated events, read them back with a consumer of its own, count the lake.

The end check of each test compares three sets of event ids: what the producer was given, what a
separate Kafka consumer reads back from the topics (decoded with each record's writer schema), and
what the lake holds. Lost is produced minus lake; duplicated is rows beyond one per id.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka import Consumer, TopicPartition

from core.catalog import load_catalog
from core.procs import alive, port_open
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from producer.producer import TelemetryProducer
from producer.simulator import Event, SimulationConfig, simulate
from stack.cli import up
from stack.services import Service, StackSettings, services
from streaming.settings import StreamingSettings
from tests.integration.streaming_support import lake_rows

CATALOG = load_catalog()


@dataclass(frozen=True)
class Tally:
    """Event ids compared: produced (given to the producer), in Kafka (own consumer), in the lake."""

    produced: int
    in_kafka: int
    kafka_duplicated: int
    in_lake: int
    lost: int
    duplicated: int


def events(vehicles: int, steps: int, seed: int, **config: Any) -> list[Event]:
    """Simulated events of every stream (ids differ between seeds); ``config``: more SimulationConfig fields."""
    return list(simulate(SimulationConfig(vehicles=vehicles, max_steps=steps, seed=seed, **config), CATALOG))


def job_command(connection: ConnectionSettings, tmp_path: Path, *flags: str) -> list[str]:
    """The streaming CLI on the test's topics, with its lake and checkpoints in ``tmp_path``."""
    return [
        sys.executable, "-m", "streaming", "run", "--lake", str(tmp_path / "lake"),
        "--checkpoints", str(tmp_path / "checkpoints"), "--topic-prefix", connection.topic_prefix,
        "--bootstrap-servers", connection.bootstrap_servers, "--registry-url", connection.registry_url, *flags,
    ]  # fmt: skip


def start_job(command: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    """Start the job in its own process group, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **env})  # fmt: skip


def wait_for_line(log: Path, text: str, job: subprocess.Popen[bytes], timeout: float = 300) -> None:
    """Wait until ``text`` appears in ``log`` (the job still running); fail with the log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if job.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} in the job's log:\n" + log.read_text(errors="replace")[-4000:])


def kill_job(job: subprocess.Popen[bytes]) -> None:
    """SIGKILL the job's process group (the driver and its JVM), no goodbye."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(job.pid, signal.SIGKILL)
    job.wait()


def produce(connection: ConnectionSettings, batch: Iterable[Event], **tuning: object) -> TelemetryProducer:
    """Produce ``batch`` and flush; the producer is returned for its counts."""
    with TelemetryProducer(connection, CATALOG, **tuning) as producer:
        for event in batch:
            producer.produce(event)
    return producer


def kafka_ids(connection: ConnectionSettings, registry: RegistryClient, topics: Iterable[str]) -> Counter[str]:
    """Every event id in ``topics``, read from the start to the end with a consumer of this test's own."""
    consumer = Consumer({**connection.kafka_config(), "group.id": f"faults-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})  # fmt: skip
    schemas: dict[int, Any] = {}
    found: Counter[str] = Counter()
    try:
        ends: dict[tuple[str, int], int] = {}
        assignment = []
        for topic in topics:
            for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                if high > low:
                    ends[(topic, partition)] = high
                    assignment.append(TopicPartition(topic, partition, low))
        consumer.assign(assignment)
        while ends:
            message = consumer.poll(5)
            if message is None or message.error():
                continue
            key = (message.topic(), message.partition())
            value = message.value()
            if value and value[0] == 0:  # an event; a test's bad record (no Confluent header) is not one
                _, schema_id = struct.unpack(">bI", value[:5])
                if schema_id not in schemas:
                    schemas[schema_id] = fastavro.parse_schema(json.loads(registry.schema_by_id(schema_id)))
                record = fastavro.schemaless_reader(io.BytesIO(value[5:]), schemas[schema_id], None)
                found[str(record["id"])] += 1  # type: ignore[index,call-overload]
            if message.offset() + 1 >= ends.get(key, 0):
                ends.pop(key, None)
    finally:
        consumer.close()
    return found


def lake_ids(settings: StreamingSettings, entities: Iterable[str]) -> Counter[str]:
    """Every event id in the lake's entity tables (one count per row)."""
    return Counter(row["id"] for entity in entities for row in lake_rows(settings, entity))


def tally(produced: Iterable[Event], in_kafka: Counter[str], in_lake: Counter[str]) -> Tally:
    """Produced vs Kafka vs lake: lost ids and duplicated rows."""
    ids = {e.value["id"] for e in produced}
    return Tally(
        produced=len(ids),
        in_kafka=len(in_kafka),
        kafka_duplicated=in_kafka.total() - len(in_kafka),
        in_lake=len(in_lake),
        lost=len(ids - set(in_lake)),
        duplicated=in_lake.total() - len(in_lake),
    )


def service(name: str) -> Service:
    """One process of the local stack (``kafka-1``, ``registry``, ``moto``...)."""
    return next(s for s in services(StackSettings.from_env()) if s.name == name)


def kill_service(name: str) -> None:
    """SIGKILL one process of the local stack and wait until it is gone."""
    target = service(name)
    pid = target.pid()
    assert pid is not None, f"{name} is not running"
    os.killpg(pid, signal.SIGKILL)
    # A JVM's main thread can show as a zombie while its other threads, and its sockets, still close.
    while alive(pid) or port_open(target.port):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)


def stop_service(name: str) -> None:
    """Stop one process of the local stack the way ``make down`` does (SIGTERM, a clean shutdown)."""
    target = service(name)
    pid = target.pid()
    assert pid is not None, f"{name} is not running"
    os.killpg(pid, signal.SIGTERM)
    while alive(pid) or port_open(target.port):
        time.sleep(0.1)


def restart_stack() -> float:
    """Start what is not running (as ``make up`` does) and wait until it answers; the seconds it took."""
    began = time.monotonic()
    up(StackSettings.from_env())
    return time.monotonic() - began


def wait_for_lake(settings: StreamingSettings, entities: Iterable[str], count: int, timeout: float = 240) -> float:
    """Wait until the lake's entity tables hold ``count`` rows; the seconds it took."""
    began = time.monotonic()
    entities = list(entities)
    while lake_ids(settings, entities).total() < count and time.monotonic() - began < timeout:
        time.sleep(1)
    return time.monotonic() - began


def end_check(
    connection: ConnectionSettings,
    registry: RegistryClient,
    settings: StreamingSettings,
    produced: Iterable[Event],
    entities: Iterable[str] = CATALOG.names,
) -> Tally:
    """The end of every faults test: produced ids vs an own consumer's read of the topics vs the lake."""
    entities = list(entities)
    topics = [connection.topic(CATALOG.get(name).topic) for name in entities]
    mine = [e for e in produced if e.stream in entities]
    return tally(mine, kafka_ids(connection, registry, topics), lake_ids(settings, entities))

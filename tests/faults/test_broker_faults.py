"""Brokers lost under traffic: one SIGKILLed while 100,000 events are produced; a rolling restart of all three.

Replication factor 3, min.insync.replicas 2, acks=all and idempotence: one broker down never stops
an acknowledged write, and a retried batch is written once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from core.registry import RegistryClient
from core.settings import ConnectionSettings
from producer.producer import TelemetryProducer
from producer.simulator import Event
from tests.faults.support import (
    CATALOG,
    end_check,
    events,
    job_command,
    kafka_ids,
    kill_job,
    kill_service,
    lake_ids,
    restart_stack,
    start_job,
    stop_service,
    tally,
    wait_for_lake,
    wait_for_line,
)
from tests.integration.streaming_support import job_settings, prefixed, set_up_streams, shared_spark

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]


def _under_replicated(connection: ConnectionSettings, topics: list[str]) -> int:
    metadata = AdminClient(connection.kafka_config()).list_topics(timeout=10)
    return sum(
        1
        for topic in topics
        for partition in metadata.topics[topic].partitions.values()
        if len(partition.isrs) < len(partition.replicas) or len(partition.replicas) < 3
    )


def _wait_fully_replicated(connection: ConnectionSettings, topics: list[str], timeout: float = 180) -> float:
    began = time.monotonic()
    while _under_replicated(connection, topics) and time.monotonic() - began < timeout:
        time.sleep(1)
    assert _under_replicated(connection, topics) == 0, "partitions not fully replicated again"
    return time.monotonic() - began


def _produce_while(
    connection: ConnectionSettings, produced: list[Event], faults: Callable[[], None]
) -> TelemetryProducer:
    """Produce ``produced`` in 40 chunks, one a second while ``faults`` runs in another thread, then the rest."""
    chaos = threading.Thread(target=faults)
    size = len(produced) // 40 + 1
    with TelemetryProducer(connection, CATALOG) as producer:
        chaos.start()
        for start in range(0, len(produced), size):
            for event in produced[start : start + size]:
                producer.produce(event)
            producer.poll(1.0 if chaos.is_alive() else 0)
        chaos.join()
    return producer


def test_a_broker_sigkilled_while_100000_events_are_produced_loses_and_doubles_nothing(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    produced = events(vehicles=31, steps=1100, seed=11)
    assert len(produced) >= 100_000
    topics = [connection.topic(s.topic) for s in CATALOG.streams]
    back: dict[str, float] = {}

    def faults() -> None:
        time.sleep(3)
        kill_service("kafka-2")
        time.sleep(10)
        back["broker_back_s"] = round(restart_stack(), 1)

    began = time.monotonic()
    producer = _produce_while(connection, produced, faults)
    produce_s = time.monotonic() - began
    replicated_s = _wait_fully_replicated(connection, topics)
    in_kafka = kafka_ids(connection, registry, topics)
    assert producer.failed == 0 and producer.delivered == len(produced)
    assert set(in_kafka) == {e.value["id"] for e in produced}
    assert in_kafka.total() == len(produced)  # each event once: idempotence absorbed the retries

    settings = job_settings(connection, tmp_path, available_now=True)
    from streaming.job import run

    run(settings, spark=shared_spark(), catalog=CATALOG)
    found = tally(produced, in_kafka, lake_ids(settings, CATALOG.names))
    figures.update(events=found.produced, faults=1, producer_failed=producer.failed,
                   kafka_duplicated=found.kafka_duplicated, lost=found.lost, duplicated=found.duplicated,
                   produce_s=round(produce_s, 1), replicated_again_s=round(replicated_s, 1), **back)  # fmt: skip
    assert (found.lost, found.duplicated) == (0, 0)


def test_a_rolling_restart_of_the_three_brokers_under_traffic_keeps_the_job_running(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    produced = events(vehicles=6, steps=300, seed=21)
    topics = [connection.topic(s.topic) for s in CATALOG.streams]
    log = tmp_path / "job.log"
    job = start_job(job_command(connection, tmp_path, "--trigger-interval", "2s"), log)
    restarts: list[float] = []

    def rolling_restart() -> None:  # one broker at a time, each back and caught up before the next goes
        for node in ("kafka-1", "kafka-2", "kafka-3"):
            time.sleep(3)
            stop_service(node)  # an operator's restart: SIGTERM, the broker hands its leaderships over
            began = time.monotonic()
            restart_stack()
            _wait_fully_replicated(connection, topics)
            restarts.append(time.monotonic() - began)

    try:
        wait_for_line(log, "streaming ", job)
        producer = _produce_while(connection, produced, rolling_restart)
        assert job.poll() is None, log.read_text()[-4000:]  # the job never stopped
        settings = job_settings(connection, tmp_path)
        landed_s = wait_for_lake(settings, CATALOG.names, len(produced))
        job.send_signal(signal.SIGINT)
        assert job.wait(timeout=120) == 0, log.read_text()[-4000:]
    finally:
        kill_job(job)
    assert "failed" not in log.read_text()
    found = end_check(connection, registry, settings, produced)
    figures.update(events=found.produced, faults=3, producer_failed=producer.failed, lost=found.lost,
                   duplicated=found.duplicated, slowest_broker_back_s=round(max(restarts), 1),
                   lake_complete_after_s=round(landed_s, 1))  # fmt: skip
    assert producer.failed == 0
    assert (found.in_kafka, found.kafka_duplicated) == (found.produced, 0)
    assert (found.lost, found.duplicated) == (0, 0)

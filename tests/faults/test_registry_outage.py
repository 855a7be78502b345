"""The schema registry SIGKILLed for a while under traffic: the producer and the job carry on with the ids they know.

The outage lasts 30 s rather than the issue's 60 s: the job looks its subjects up every 2 s here
(``--registry-refresh 2``), so 30 s is about fifteen failed refreshes per subject and several times
the retry budget of one look-up (0.5 + 1 + 2 s); a longer outage adds wall time, not coverage.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from core.registry import RegistryClient
from core.settings import ConnectionSettings
from producer.producer import TelemetryProducer
from tests.faults.support import (
    CATALOG,
    end_check,
    events,
    job_command,
    kill_job,
    kill_service,
    restart_stack,
    start_job,
    wait_for_lake,
    wait_for_line,
)
from tests.integration.streaming_support import job_settings, lake_rows, prefixed, set_up_streams

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]

OUTAGE_S = 30


def test_registry_down_while_the_producer_and_the_job_run_loses_and_quarantines_nothing(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    connection = prefixed(stack, topic_prefix)
    ids = set_up_streams(registry, connection, CATALOG.streams)
    produced = events(vehicles=3, steps=200, seed=31)
    log = tmp_path / "job.log"
    job = start_job(job_command(connection, tmp_path, "--trigger-interval", "1s", "--registry-refresh", "2"), log)
    ready = threading.Event()
    producers: list[TelemetryProducer] = []

    def drive() -> None:  # the producer looks its ids up once, then produces through the outage
        with TelemetryProducer(connection, CATALOG) as producer:
            producers.append(producer)
            ready.set()
            chunk = len(produced) // 20 + 1
            for start in range(0, len(produced), chunk):
                for event in produced[start : start + chunk]:
                    producer.produce(event)
                producer.poll(0)
                time.sleep((OUTAGE_S + 10) / 20)

    driver = threading.Thread(target=drive)
    try:
        wait_for_line(log, "committed in", job)  # the job runs batches before the registry goes
        driver.start()
        assert ready.wait(60), "the producer did not start"
        kill_service("registry")
        time.sleep(OUTAGE_S)
        assert job.poll() is None, log.read_text()[-4000:]  # the job is still running after the outage
        recovered_s = restart_stack()
        driver.join(timeout=120)
        settings = job_settings(connection, tmp_path)
        landed_s = wait_for_lake(settings, CATALOG.names, len(produced))
        job.send_signal(signal.SIGINT)
        assert job.wait(timeout=120) == 0, log.read_text()[-4000:]
    finally:
        kill_job(job)
    output = log.read_text()
    assert "registry unreachable" in output  # the outage was seen, and the cached versions carried the batches
    assert "failed" not in output, output[-4000:]
    assert producers[0].failed == 0
    for stream in CATALOG.streams:
        assert lake_rows(settings, f"{stream.name}_quarantine") == [], stream.name
        assert registry.latest(connection.subject(stream.subject)).schema_id == ids[stream.name]  # ids kept
    found = end_check(connection, registry, settings, produced)
    figures.update(events=found.produced, faults=1, outage_s=OUTAGE_S, lost=found.lost, duplicated=found.duplicated,
                   registry_back_s=round(recovered_s, 1), lake_complete_s=round(landed_s, 1))  # fmt: skip
    assert (found.in_kafka, found.kafka_duplicated) == (found.produced, 0)
    assert (found.lost, found.duplicated) == (0, 0)

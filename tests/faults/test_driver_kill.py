"""The driver SIGKILLed in each phase of a batch's commits: the restart replays the batch, and says so.

One batch of the vehicle query holds two days of events and a few records that do not decode, so it
commits to both of its Iceberg tables: the vehicle table, then its quarantine. The driver is killed three
times in a row inside that batch, at the failpoints of :mod:`streaming.failpoints`: before any commit
(``write``), after the vehicle table's commit and before the quarantine's (``commit``), and after both, before
Spark recorded the batch as done (``committed``). Each restart must log the tables that the earlier attempt
had already committed (none, the vehicle table, both) and write only the others: the replay path ran, not
just a lucky end state. The last run ends with the produced set, once, and each bad record quarantined once.
The job streams the vehicle topic alone: the other queries would only make each restart slower.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.registry import RegistryClient
from core.settings import ConnectionSettings
from tests.faults.support import (
    CATALOG,
    end_check,
    events,
    job_command,
    kill_job,
    produce,
    start_job,
    wait_for_line,
)
from tests.integration.streaming_support import job_settings, lake_rows, prefixed, produce_raw, set_up_streams

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]

BAD = 5


def test_sigkill_before_between_and_after_the_commits_each_replay_the_batch(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    day_one = events(vehicles=2, steps=60, seed=41, start_time=datetime(2025, 1, 6, 8, tzinfo=UTC))
    day_two = events(vehicles=2, steps=60, seed=42, start_time=datetime(2025, 1, 7, 8, tzinfo=UTC))
    produced = day_one + day_two
    assert produce(connection, produced).failed == 0
    topic = connection.topic(CATALOG.get("vehicle").topic)
    produce_raw(connection, topic, [(b"v", f"not avro {n}".encode()) for n in range(BAD)])
    command = job_command(connection, tmp_path, "--available-now", "--entities", "vehicle")
    settings = job_settings(connection, tmp_path, available_now=True)
    log = tmp_path / "job.log"
    vehicles = len([e for e in produced if e.stream == "vehicle"])
    replayed = "vehicle batch 0 is a replay: smartcity.{} already holds it"
    # What the tables hold after each kill: nothing, the vehicle table, both.
    expected = {"write": (0, 0), "commit": (vehicles, 0), "committed": (vehicles, BAD)}
    # What each run finds committed by the attempt before it: nothing, nothing, the vehicle table.
    for point, already in zip(("write", "commit", "committed"), ((), (), ("vehicle",)), strict=True):
        job = start_job(command, log, TELEMETRY_FAILPOINT=f"{point}:vehicle:0")
        mark = len(log.read_text(errors="replace")) if log.exists() else 0
        try:
            wait_for_line(log, f"failpoint {point} reached: vehicle batch 0", job)
        finally:
            kill_job(job)
        this_run = log.read_text(errors="replace")[mark:]
        for table in ("vehicle", "vehicle_quarantine"):
            assert (replayed.format(table) in this_run) == (table in already), (point, this_run[-3000:])
        found = (len(lake_rows(settings, "vehicle")), len(lake_rows(settings, "vehicle_quarantine")))
        assert found == expected[point], point

    began = time.monotonic()
    mark = len(log.read_text(errors="replace"))
    job = start_job(command, log)
    try:
        assert job.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        kill_job(job)
    recovered = time.monotonic() - began
    last_run = log.read_text(errors="replace")[mark:]
    assert replayed.format("vehicle") in last_run and replayed.format("vehicle_quarantine") in last_run, last_run
    found = end_check(connection, registry, settings, produced, ["vehicle"])
    quarantined = lake_rows(settings, "vehicle_quarantine")
    figures.update(events=found.produced, faults=3, replays_seen=3, lost=found.lost, duplicated=found.duplicated,
                   quarantined=len(quarantined), last_restart_s=round(recovered, 1))  # fmt: skip
    assert sorted(bytes(r["raw_value"]) for r in quarantined) == sorted(f"not avro {n}".encode() for n in range(BAD))
    assert (found.in_kafka, found.kafka_duplicated) == (found.produced, 0)
    assert (found.lost, found.duplicated) == (0, 0)

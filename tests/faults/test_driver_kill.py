"""The driver SIGKILLed in each phase of a batch's commit: the restart replays the batch, and says so.

One batch of the vehicle query holds two days of events (at least two files in its table). The driver is
killed three times in a row inside that batch, at the failpoints of :mod:`streaming.failpoints`:
after Spark wrote the staged files (none moved), after the first file moved into the table, and
after every file moved but before Spark recorded the batch as done. Each restart must log the
replay with the number of files the earlier attempt left in the table (0, 1, all): the replay path
ran, not just a lucky end state. The last run ends with the produced set, once. The job streams the
vehicle topic alone: the other queries would only make each restart slower.
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
from tests.integration.streaming_support import job_settings, prefixed, set_up_streams

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]


def _vehicle_files(lake: Path) -> int:
    return len(list((lake / "vehicle").glob("dt=*/part-b*.parquet")))


def test_sigkill_while_writing_while_moving_and_after_the_commit_each_replay_the_batch(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    day_one = events(vehicles=2, steps=60, seed=41, start_time=datetime(2025, 1, 6, 8, tzinfo=UTC))
    day_two = events(vehicles=2, steps=60, seed=42, start_time=datetime(2025, 1, 7, 8, tzinfo=UTC))
    produced = day_one + day_two
    assert produce(connection, produced).failed == 0
    command = job_command(connection, tmp_path, "--available-now", "--entities", "vehicle")
    lake = tmp_path / "lake"
    log = tmp_path / "job.log"
    # Each restart must remove exactly the files the killed attempt left in the table: 0 after "write",
    # 1 after the first "move", all of the batch's after "committed".
    left: int | None = None
    for point in ("write", "move", "committed"):
        job = start_job(command, log, TELEMETRY_FAILPOINT=f"{point}:vehicle:0")
        try:
            if left is not None:
                wait_for_line(log, f"vehicle batch 0 is a replay: removed {left} file(s)", job)
            wait_for_line(log, f"failpoint {point} reached: vehicle batch 0", job)
        finally:
            kill_job(job)
        left = _vehicle_files(lake)
        assert left == {"write": 0, "move": 1}.get(point, left), point
    assert left is not None and left >= 2  # two days: at least a file per day

    began = time.monotonic()
    job = start_job(command, log)
    try:
        wait_for_line(log, f"vehicle batch 0 is a replay: removed {left} file(s)", job)
        assert job.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        kill_job(job)
    recovered = time.monotonic() - began
    settings = job_settings(connection, tmp_path, available_now=True)
    found = end_check(connection, registry, settings, produced, ["vehicle"])
    figures.update(events=found.produced, faults=3, replays_seen=3, lost=found.lost,
                   duplicated=found.duplicated, last_restart_s=round(recovered, 1))  # fmt: skip
    assert _vehicle_files(lake) == left
    assert (found.in_kafka, found.kafka_duplicated) == (found.produced, 0)
    assert (found.lost, found.duplicated) == (0, 0)

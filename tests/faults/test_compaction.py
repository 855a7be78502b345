"""Compaction SIGKILLed at each step, read while it swaps, and run under the streaming job: every row once.

The first tests run ``python -m streaming compact`` as users do, on a lake of the job's micro-batch files
(``tests/batch_lake.py``), stop it at a failpoint of :mod:`streaming.failpoints` and SIGKILL it. Two
readers, DuckDB (the ``lakesql`` views) and Spark (a listing of the table's folder, as Athena lists a
partition's prefix), look at the lake while it waits there: before the swap it sees the rows
once; during the swap of a group (output moved in, inputs not yet deleted) it sees that group's rows
twice, identical copies with the same Kafka topic, partition and offset, and none missing. The rerun
finishes the swap and the lake holds exactly the rows it held before, each once.

The last test runs the real job: it is SIGKILLed after batch 3's files moved into the table and before
Spark recorded the batch; compaction then runs (it must leave batch 3 alone: the restart replays it).
The job restarts, continuous, and replays batch 3; more events of the same days arrive while compaction
runs again and again beside it; the job is stopped, compaction runs once more, and the lake holds
exactly the produced events at each end.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from core.catalog import load_catalog
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from lakesql.engine import connect
from lakesql.settings import LakeSqlSettings
from tests.batch_lake import files, journey, table_rows, write_day
from tests.faults.support import (
    CATALOG,
    end_check,
    events,
    job_command,
    kill_job,
    lake_ids,
    produce,
    start_job,
    wait_for_line,
)
from tests.integration.streaming_support import job_settings, prefixed, set_up_streams

pytestmark = [pytest.mark.faults]

DAY = date(2025, 3, 1)


def _compact_command(lake: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "streaming", "compact", "--lake", str(lake), "--all", "--target-mb", "1", *flags]


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    catalog = load_catalog()
    write_day(tmp_path / "lake", tmp_path / "ck", catalog, journey(catalog, vehicles=2, steps=30), day=DAY,
              batches=60, per_batch=5)  # fmt: skip
    return tmp_path / "lake"


@pytest.fixture(scope="module")
def spark() -> Any:
    from streaming.session import get_spark
    from streaming.settings import StreamingSettings

    return get_spark(StreamingSettings.from_env(), app_name="telemetry-tests")


def _reader_keys(lake: Path) -> Counter[tuple[Any, ...]]:
    """What a reader of the views sees of the vehicle table: each row's Kafka key, counted."""
    con = connect(load_catalog(), LakeSqlSettings.from_env({}, lake=str(lake)))
    rows = con.execute("SELECT kafka_topic, kafka_partition, kafka_offset FROM vehicle").fetchall()
    con.close()
    return Counter(rows)


def _spark_keys(spark: Any, lake: Path) -> Counter[tuple[Any, ...]]:
    """What Spark sees of the vehicle table (a listing of its folder, as Athena lists the partition's prefix)."""
    frame = spark.read.parquet(str(lake / "vehicle")).select("kafka_topic", "kafka_partition", "kafka_offset")
    return Counter(tuple(row) for row in frame.collect())


@pytest.mark.parametrize("point", ["compact-staged", "compact-journal", "compact-swap", "compact-swapped"])
def test_sigkill_during_compaction_then_a_rerun_leaves_the_same_rows_once_and_readers_never_miss_one(
    lake: Path, tmp_path: Path, point: str, spark: Any, figures: dict[str, Any]
) -> None:
    before = table_rows(lake, "vehicle")
    once = _reader_keys(lake)
    assert set(once.values()) == {1} and _spark_keys(spark, lake) == once
    log = tmp_path / "compact.log"
    job = start_job(_compact_command(lake, "--tables", "vehicle"), log, TELEMETRY_FAILPOINT=f"{point}:vehicle:{DAY}")
    try:
        wait_for_line(log, f"failpoint {point} reached: vehicle batch {DAY}", job)
        seen = _reader_keys(lake)  # readers while compaction waits at the failpoint
        seen_by_spark = _spark_keys(spark, lake)
    finally:
        kill_job(job)
    assert seen.keys() == once.keys()  # never a row missing
    twice = {"compact-swap": 2}.get(point, 1)  # one group: its output is in, its inputs not yet deleted
    assert set(seen.values()) == {twice}, point
    assert seen_by_spark == seen
    rerun = subprocess.run(_compact_command(lake, "--tables", "vehicle"), capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert ("finished 1 interrupted swap" in rerun.stdout) == (point != "compact-staged")
    assert table_rows(lake, "vehicle") == before
    assert len(files(lake, "vehicle")) == 1 and _reader_keys(lake) == once
    assert _spark_keys(spark, lake) == once  # Spark reads the compacted file as it read the job's
    figures.update(point=point, rows=len(before), reader_saw_each_row=twice)


@pytest.mark.integration
@pytest.mark.slow
def test_compaction_between_a_killed_batch_and_its_replay_and_beside_the_running_job_keeps_the_lake_exact(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    produced = events(vehicles=2, steps=60, seed=43, start_time=datetime(2025, 1, 6, 8, tzinfo=UTC))
    assert produce(connection, produced).failed == 0
    command = job_command(connection, tmp_path, "--available-now", "--entities", "vehicle",
                          "--max-offsets-per-trigger", "20")  # fmt: skip
    lake = tmp_path / "lake"
    log = tmp_path / "job.log"
    job = start_job(command, log, TELEMETRY_FAILPOINT="committed:vehicle:3")
    try:
        wait_for_line(log, "failpoint committed reached: vehicle batch 3", job)
    finally:
        kill_job(job)
    batch_files = files(lake, "vehicle")
    assert any("part-b000000000003-" in f for f in batch_files)
    first = subprocess.run(_compact_command(lake), capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    left = files(lake, "vehicle")
    assert any("part-c" in f for f in left)  # batches 0..2 were merged
    assert [f for f in left if "part-b" in f] == [f for f in batch_files if "part-b000000000003-" in f]
    # The job again, continuous this time, while more events of the same days arrive and compaction runs
    # between its batches: late rows land in compacted partitions, and each run merges what is done.
    running = job_command(connection, tmp_path, "--entities", "vehicle", "--trigger-interval", "1s",
                          "--max-offsets-per-trigger", "20")  # fmt: skip
    late = events(vehicles=2, steps=60, seed=44, start_time=datetime(2025, 1, 6, 9, tzinfo=UTC))
    settings = job_settings(connection, tmp_path, available_now=True)
    expected = len([e for e in produced + late if e.stream == "vehicle"])
    job = start_job(running, log)
    runs = 0
    try:
        wait_for_line(log, "vehicle batch 3 is a replay", job)
        assert produce(connection, late).failed == 0
        while lake_ids(settings, ["vehicle"]).total() < expected and job.poll() is None and runs < 200:
            during = subprocess.run(_compact_command(lake), capture_output=True, text=True, check=False)
            assert during.returncode == 0, during.stdout + during.stderr
            runs += 1
        job.send_signal(signal.SIGINT)
        assert job.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        kill_job(job)
    found = end_check(connection, registry, settings, produced + late, ["vehicle"])
    assert (found.lost, found.duplicated) == (0, 0)
    second = subprocess.run(_compact_command(lake), capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    assert not [f for f in files(lake, "vehicle") if "part-b" in f]
    again = end_check(connection, registry, settings, produced + late, ["vehicle"])
    figures.update(events=again.produced, compactions_while_running=runs, lost=again.lost, duplicated=again.duplicated)
    assert runs >= 1 and (again.lost, again.duplicated) == (0, 0)

"""Table maintenance beside the running job and beside another maintenance run, while readers count.

The job streams every entity continuously in small batches (a file per batch and day), so maintenance has
small files to rewrite, manifests to merge and snapshots to expire. Two ``python -m streaming maintain``
runs start at the same moment, as two schedulers could; meanwhile DuckDB (``iceberg_scan`` over each
table's current metadata, from the extension package ``make setup`` installs) and Spark (the tables in the
catalog) count every table again and again. Each count is exactly the produced set, every time: a reader
sees a snapshot, before or after a rewrite, never both. Then more events arrive while two more runs go:
counts only grow, never hold a row twice, and end at the produced set. The job is stopped, maintenance
runs once more, and every produced event is in the lake once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from duckdb_extensions import import_extension

from core.iceberg_tables import open_catalog
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from streaming.session import configure
from streaming.settings import StreamingSettings
from tests.faults.support import (
    CATALOG,
    end_check,
    events,
    job_command,
    kill_job,
    produce,
    start_job,
    wait_for_lake,
    wait_for_line,
)
from tests.integration.streaming_support import job_settings, prefixed, set_up_streams, shared_spark

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]

ENTITIES = CATALOG.names


def _maintain(tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    log = (tmp_path / f"{name}.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "streaming", "maintain", "--lake", str(tmp_path / "lake")],
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


@pytest.fixture
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    import_extension("iceberg", con=con)
    con.sql("LOAD iceberg")
    yield con
    con.close()


def _duckdb_counts(con: duckdb.DuckDBPyConnection, settings: StreamingSettings) -> dict[str, tuple[int, int]]:
    """Rows and distinct Kafka positions per entity table, by DuckDB over each table's current metadata file."""
    iceberg = settings.iceberg()
    client = open_catalog(iceberg)
    counts = {}
    for entity in ENTITIES:
        table = client.load_table(iceberg.table_id(entity))
        location = table.metadata_location.removeprefix("file://").removeprefix("file:")
        row = con.execute(
            "SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset)) FROM iceberg_scan(?)", [location]
        ).fetchone()
        assert row is not None
        counts[entity] = (int(row[0]), int(row[1]))
    return counts


def _spark_counts(spark: Any, settings: StreamingSettings) -> dict[str, tuple[int, int]]:
    """The same counts by Spark, through the catalog."""
    iceberg = settings.iceberg()
    counts = {}
    for entity in ENTITIES:
        table = iceberg.spark_table(entity)
        row = spark.sql(f"SELECT count(*) AS n, count(DISTINCT kafka_partition, kafka_offset) AS d FROM {table}")
        row = row.collect()[0]
        counts[entity] = (int(row["n"]), int(row["d"]))
    return counts


def _data_files(settings: StreamingSettings, entity: str) -> int:
    iceberg = settings.iceberg()
    table = open_catalog(iceberg).load_table(iceberg.table_id(entity))
    return len(table.inspect.files())


def test_two_maintenance_runs_beside_the_job_while_duckdb_and_spark_count_every_table(
    stack: ConnectionSettings,
    registry: RegistryClient,
    topic_prefix: str,
    tmp_path: Path,
    duck: duckdb.DuckDBPyConnection,
    figures: dict[str, Any],
) -> None:
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    first = events(vehicles=3, steps=80, seed=71)
    later = events(vehicles=3, steps=80, seed=72)
    expected = {e: len([x for x in first if x.stream == e]) for e in ENTITIES}
    assert produce(connection, first).failed == 0
    command = job_command(connection, tmp_path, "--trigger-interval", "1s", "--max-offsets-per-trigger", "40")
    log = tmp_path / "job.log"
    settings = job_settings(connection, tmp_path)
    job = start_job(command, log)
    runs = reads = 0
    try:
        wait_for_line(log, "committed in", job)
        wait_for_lake(settings, ENTITIES, len(first))
        spark = shared_spark()
        configure(spark, settings)
        files_before = _data_files(settings, "vehicle")

        # 1. Two maintenance runs at once beside the (idle) job: every count is the produced set, every time.
        pair = [_maintain(tmp_path, "maintain-a"), _maintain(tmp_path, "maintain-b")]
        while any(p.poll() is None for p in pair):
            assert _duckdb_counts(duck, settings) == {e: (n, n) for e, n in expected.items()}
            assert _spark_counts(spark, settings) == {e: (n, n) for e, n in expected.items()}
            reads += 1
        assert [p.returncode for p in pair] == [0, 0], (tmp_path / "maintain-a.log").read_text()[-3000:]
        runs += 2
        files_after = _data_files(settings, "vehicle")

        # 2. More events while two more runs go: counts grow, never hold a row twice, and reach the produced set.
        assert produce(connection, later).failed == 0
        total = {e: n + len([x for x in later if x.stream == e]) for e, n in expected.items()}
        pair = [_maintain(tmp_path, "maintain-c"), _maintain(tmp_path, "maintain-d")]
        previous = expected
        while any(p.poll() is None for p in pair):
            for counts in (_duckdb_counts(duck, settings), _spark_counts(spark, settings)):
                assert all(rows == distinct for rows, distinct in counts.values()), counts
                assert all(previous[e] <= counts[e][0] <= total[e] for e in ENTITIES), counts
            previous = {e: counts[e][0] for e in ENTITIES}
            reads += 1
        assert [p.returncode for p in pair] == [0, 0], (tmp_path / "maintain-c.log").read_text()[-3000:]
        runs += 2
        wait_for_lake(settings, ENTITIES, len(first) + len(later))
        job.send_signal(signal.SIGINT)
        assert job.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        kill_job(job)
    last = subprocess.run([sys.executable, "-m", "streaming", "maintain", "--lake", str(tmp_path / "lake")],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert last.returncode == 0, last.stdout + last.stderr
    assert _duckdb_counts(duck, settings) == {e: (n, n) for e, n in total.items()}
    found = end_check(connection, registry, settings, first + later)
    figures.update(events=found.produced, maintenance_runs=runs + 1, reads_during=reads, lost=found.lost,
                   duplicated=found.duplicated, vehicle_files=f"{files_before}->{files_after}")  # fmt: skip
    assert files_after < files_before
    assert (found.lost, found.duplicated) == (0, 0)

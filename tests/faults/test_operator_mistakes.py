"""Operator mistakes on a kept lake: checkpoints deleted, a second job pointed at the same lake.

Each is refused with one clear error before the job writes or deletes anything; the lake keeps
exactly what it had (each table's files and its current snapshot), and the documented way out (the
tables dropped and rebuilt from Kafka) ends with every produced event in the lake once.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from core.errors import TelemetryError
from core.iceberg_tables import open_catalog
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from core.tables import lake_tables
from streaming.job import run
from tests.faults.support import CATALOG, end_check, events, lake_ids, produce
from tests.integration.streaming_support import job_settings, prefixed, set_up_streams, shared_spark

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]

ENTITIES = CATALOG.names


def _lake_files(lake: Path) -> dict[str, int]:
    """Every file of the lake's tables (data and metadata; the catalog's database aside) with its size."""
    return {
        p.relative_to(lake).as_posix(): p.stat().st_size
        for p in lake.rglob("*")
        if p.is_file() and not p.relative_to(lake).as_posix().startswith("_catalog/")
    }


def _snapshots(settings: Any) -> dict[str, int | None]:
    """Each table's current snapshot id."""
    iceberg = settings.iceberg()
    client = open_catalog(iceberg)
    found = {}
    for table in lake_tables(CATALOG):
        current = client.load_table(iceberg.table_id(table.name)).current_snapshot()
        found[table.name] = current.snapshot_id if current is not None else None
    return found


def test_deleted_checkpoints_and_a_second_job_on_one_lake_are_refused_before_anything_is_touched(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    spark = shared_spark()
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    first = events(vehicles=3, steps=120, seed=61)
    assert produce(connection, first).failed == 0
    settings = job_settings(connection, tmp_path, available_now=True)
    run(settings, spark=spark, catalog=CATALOG)
    lake = tmp_path / "lake"
    before = _lake_files(lake)
    snapshots = _snapshots(settings)
    assert lake_ids(settings, ENTITIES).total() == len(first)

    # 1. The checkpoints are deleted, more events arrive, the job is run again.
    shutil.rmtree(tmp_path / "checkpoints")
    second = events(vehicles=3, steps=120, seed=62)
    assert produce(connection, second).failed == 0
    with pytest.raises(TelemetryError, match=r"checkpoint .* is new, but the lake .* already holds the \w+ table"):
        run(settings, spark=spark, catalog=CATALOG)
    assert _lake_files(lake) == before  # nothing written, nothing deleted (the emergency table included)
    assert _snapshots(settings) == snapshots

    # 2. A second job with its own checkpoint folder, and 3. one with another topic prefix, on the same lake.
    other_checkpoints = job_settings(connection, tmp_path, available_now=True, checkpoints=str(tmp_path / "other"))
    taken = r"already holds the vehicle table \(written with checkpoint .*/checkpoints/" + topic_prefix + "vehicle"
    with pytest.raises(TelemetryError, match=taken):
        run(other_checkpoints, spark=spark, catalog=CATALOG)
    other_prefix = prefixed(stack, f"{topic_prefix}b_")
    set_up_streams(registry, other_prefix, CATALOG.streams)
    with pytest.raises(TelemetryError, match=taken):
        run(job_settings(other_prefix, tmp_path, available_now=True), spark=spark, catalog=CATALOG)
    assert _lake_files(lake) == before
    assert _snapshots(settings) == snapshots
    figures.update(faults=3, refused=3, files_touched=0)

    # The way out the error names: drop the tables, rebuild them from Kafka.
    began = time.monotonic()
    iceberg = settings.iceberg()
    for table in lake_tables(CATALOG):
        spark.sql(f"DROP TABLE {iceberg.spark_table(table.name)} PURGE")
    run(settings, spark=spark, catalog=CATALOG)
    everything = first + second
    result = end_check(connection, registry, settings, everything)
    figures.update(events=result.produced, lost=result.lost, duplicated=result.duplicated,
                   rebuild_s=round(time.monotonic() - began, 1))  # fmt: skip
    assert result.in_kafka == result.produced and result.kafka_duplicated == 0
    assert (result.lost, result.duplicated) == (0, 0)

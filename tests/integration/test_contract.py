"""The contract between the streaming job and the catalog: what Spark writes is what Glue declares.

For every stream, the Parquet files the job writes (read back with pyarrow, independently of the
Avro mapping) have exactly the columns, types and nesting of the generated Glue table, and so does
the quarantine. Timestamps are stored as UTC microseconds, which Athena and DuckDB read as timestamps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.catalog import Stream, load_catalog
from core.lake import QUARANTINE_DIR
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from core.tables import quarantine_lake_table
from glue.contract import parquet_duckdb_columns, parquet_glue_columns
from glue.glue_types import glue_type
from glue.tables import glue_columns
from lakesql.engine import connect, view_columns
from lakesql.settings import LakeSqlSettings
from producer.producer import TelemetryProducer
from producer.simulator import SimulationConfig, simulate
from streaming.job import run
from tests.integration.streaming_support import job_settings, prefixed, produce_raw, set_up_streams, shared_spark

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def lake(stack: ConnectionSettings, registry: RegistryClient, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake the job wrote: every stream's records, and one bad record per topic for the quarantine."""
    spark = shared_spark()
    folder = tmp_path_factory.mktemp("contract")
    connection = prefixed(stack, f"c{folder.name[-8:].replace('-', '')}_")
    set_up_streams(registry, connection, CATALOG.streams)
    events = list(simulate(SimulationConfig(vehicles=1, max_steps=80, emergency_probability=0.2), CATALOG))
    assert {e.stream for e in events} == set(CATALOG.names)
    with TelemetryProducer(connection, CATALOG) as producer:
        for event in events:
            producer.produce(event)
    for stream in CATALOG.streams:
        produce_raw(connection, connection.topic(stream.topic), [(b"k", b"\x07not avro")])
    run(job_settings(connection, folder, available_now=True), spark=spark, catalog=CATALOG)
    return folder / "lake"


def _one_file(folder: Path) -> Path:
    files = sorted(folder.glob("dt=*/part-b*.parquet"))
    assert files, f"the job wrote no file in {folder}"
    return files[0]


@pytest.mark.parametrize("stream", CATALOG.streams, ids=lambda s: s.name)
def test_the_parquet_the_job_writes_has_the_glue_tables_columns(stream: Stream, lake: Path) -> None:
    written = parquet_glue_columns(_one_file(lake / stream.name))
    declared = [(c["Name"], c["Type"]) for c in glue_columns(stream)]
    assert written == declared


@pytest.mark.parametrize("stream", CATALOG.streams, ids=lambda s: s.name)
def test_the_duckdb_view_has_the_columns_the_job_writes_then_dt(stream: Stream, lake: Path) -> None:
    settings = LakeSqlSettings.from_env(lake=str(lake))
    written = parquet_duckdb_columns(_one_file(lake / stream.name))
    with connect(CATALOG, settings) as con:
        view = view_columns(con, settings.database, stream.name)
        table = f'"{settings.database}"."{stream.name}"'  # names from the catalog, not user input
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert view == [*written, ("dt", "VARCHAR")]
    assert rows is not None
    assert rows[0] == sum(pq.read_metadata(f).num_rows for f in (lake / stream.name).glob("dt=*/*.parquet"))


@pytest.mark.parametrize("stream", CATALOG.streams, ids=lambda s: s.name)
def test_the_quarantine_parquet_has_the_glue_quarantine_tables_columns(stream: Stream, lake: Path) -> None:
    written = parquet_glue_columns(_one_file(lake / QUARANTINE_DIR / stream.name))
    table = quarantine_lake_table(stream)
    assert written == [(c.name, glue_type(c.type)) for c in table.columns]


@pytest.mark.parametrize("stream", CATALOG.streams, ids=lambda s: s.name)
def test_timestamps_are_stored_as_utc_microseconds(stream: Stream, lake: Path) -> None:
    schema = pq.read_schema(_one_file(lake / stream.name))
    timestamps: list[Any] = [f.type for f in schema if pa.types.is_timestamp(f.type)]
    assert timestamps and all(t == pa.timestamp("us", tz="UTC") for t in timestamps)

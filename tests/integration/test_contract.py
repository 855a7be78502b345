"""The contract between the streaming job and the catalog: what Spark writes is what Glue declares.

For every stream, the Parquet files the job writes into its Iceberg table (read back with pyarrow,
independently of the Avro mapping) have exactly the columns, types and nesting of the generated Glue table,
and so does the quarantine; Spark's view of the table and DuckDB's (``iceberg_scan`` of its current
metadata) have the same columns. Timestamps are stored as UTC microseconds, which Athena and DuckDB read
as timestamps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from duckdb_extensions import import_extension

from core.catalog import Stream, load_catalog
from core.iceberg_tables import open_catalog
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from core.tables import entity_lake_table, quarantine_lake_table
from glue.contract import parquet_duckdb_columns, parquet_glue_columns
from glue.glue_types import glue_type
from glue.tables import glue_columns
from producer.producer import TelemetryProducer
from producer.simulator import SimulationConfig, simulate
from streaming.job import run
from streaming.session import configure
from streaming.settings import StreamingSettings
from tests.integration.streaming_support import job_settings, prefixed, produce_raw, set_up_streams, shared_spark

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def lake(
    stack: ConnectionSettings, registry: RegistryClient, tmp_path_factory: pytest.TempPathFactory
) -> StreamingSettings:
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
    settings = job_settings(connection, folder, available_now=True)
    run(settings, spark=spark, catalog=CATALOG)
    return settings


def _data_files(settings: StreamingSettings, table: str) -> list[Path]:
    iceberg = settings.iceberg()
    loaded = open_catalog(iceberg).load_table(iceberg.table_id(table))
    return [
        Path(p.removeprefix("file:").removeprefix("//")) for p in loaded.inspect.files().column("file_path").to_pylist()
    ]


def _one_file(settings: StreamingSettings, table: str) -> Path:
    files = _data_files(settings, table)
    assert files, f"the job wrote no file in {table}"
    return files[0]


@pytest.mark.parametrize("stream", CATALOG.streams, ids=lambda s: s.name)
def test_the_parquet_the_job_writes_has_the_glue_tables_columns(stream: Stream, lake: StreamingSettings) -> None:
    written = parquet_glue_columns(_one_file(lake, stream.name))
    declared = [(c["Name"], c["Type"]) for c in glue_columns(stream)]
    assert written == declared


@pytest.mark.parametrize("stream", CATALOG.streams, ids=lambda s: s.name)
def test_spark_and_duckdb_read_the_tables_with_the_columns_the_job_writes(
    stream: Stream, lake: StreamingSettings
) -> None:
    spark = shared_spark()
    configure(spark, lake)
    iceberg = lake.iceberg()
    assert spark.table(iceberg.spark_table(stream.name)).columns == [c.name for c in entity_lake_table(stream).columns]
    written = parquet_duckdb_columns(_one_file(lake, stream.name))
    metadata = open_catalog(iceberg).load_table(iceberg.table_id(stream.name)).metadata_location
    con = duckdb.connect()
    import_extension("iceberg", con=con)
    con.sql("LOAD iceberg")
    scan = con.execute("DESCRIBE SELECT * FROM iceberg_scan(?)", [metadata.removeprefix("file://")]).fetchall()
    rows = con.execute("SELECT count(*) FROM iceberg_scan(?)", [metadata.removeprefix("file://")]).fetchone()
    con.close()
    assert [(r[0], r[1]) for r in scan] == written
    assert rows is not None
    assert rows[0] == sum(pq.read_metadata(f).num_rows for f in _data_files(lake, stream.name))


@pytest.mark.parametrize("stream", CATALOG.streams, ids=lambda s: s.name)
def test_the_quarantine_parquet_has_the_glue_quarantine_tables_columns(stream: Stream, lake: StreamingSettings) -> None:
    table = quarantine_lake_table(stream)
    written = parquet_glue_columns(_one_file(lake, table.name))
    assert written == [(c.name, glue_type(c.type)) for c in table.columns]


@pytest.mark.parametrize("stream", CATALOG.streams, ids=lambda s: s.name)
def test_timestamps_are_stored_as_utc_microseconds(stream: Stream, lake: StreamingSettings) -> None:
    schema = pq.read_schema(_one_file(lake, stream.name))
    timestamps: list[Any] = [f.type for f in schema if pa.types.is_timestamp(f.type)]
    assert timestamps and all(t == pa.timestamp("us", tz="UTC") for t in timestamps)

"""Reading a Parquet file's schema back in Glue and DuckDB terms (the helpers of the contract test)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from core.catalog import load_catalog
from core.errors import CatalogError
from core.tables import lake_tables
from glue.contract import hive_type_of_arrow, parquet_duckdb_columns, parquet_glue_columns
from glue.tables import glue_columns
from lakesql.engine import connect, view_columns
from lakesql.settings import LakeSqlSettings
from tests.iceberg_lake import T0, write


@pytest.mark.parametrize(
    ("arrow", "hive"),
    [
        (pa.int32(), "int"),
        (pa.int64(), "bigint"),
        (pa.timestamp("us", tz="UTC"), "timestamp"),
        (pa.timestamp("us"), "timestamp"),
        (pa.date32(), "date"),
        (pa.decimal128(10, 2), "decimal(10,2)"),
        (pa.binary(16), "binary"),
        (pa.list_(pa.string()), "array<string>"),
        (pa.map_(pa.string(), pa.float64()), "map<string,double>"),
        (pa.struct([("a", pa.int32()), ("b", pa.list_(pa.bool_()))]), "struct<a:int,b:array<boolean>>"),
    ],
)
def test_arrow_types_read_back_as_hive_types(arrow: pa.DataType, hive: str) -> None:
    assert hive_type_of_arrow(arrow) == hive


def test_an_undeclarable_parquet_type_is_an_error() -> None:
    with pytest.raises(CatalogError, match="uint32"):
        hive_type_of_arrow(pa.uint32())


def test_a_file_written_like_spark_matches_the_glue_columns_and_the_view(tmp_path: Path) -> None:
    catalog = load_catalog()
    settings = LakeSqlSettings.from_env({}, lake=str(tmp_path))
    for table in (t for t in lake_tables(catalog) if t.name in catalog.names):
        write(tmp_path, table, [{"event_time": T0, "ingested_at": T0, "kafka_timestamp": T0}])
    con = connect(catalog, settings)
    for stream in catalog.streams:
        file = next((tmp_path / settings.database / stream.name / "data").rglob("*.parquet"))
        assert parquet_glue_columns(file) == [(c["Name"], c["Type"]) for c in glue_columns(stream)]
        assert parquet_duckdb_columns(file) == view_columns(con, "smartcity", stream.name)

"""Apply the generated catalog to moto's Glue as Iceberg tables: create, re-apply idempotently, evolve a table."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.table import Table

from core.catalog import load_catalog, project_root
from core.errors import CatalogError
from core.registry import RegistryClient
from glue.apply import glue_catalog
from glue.cli import main
from glue.plan import DEPRECATED
from glue.settings import GlueSettings
from glue.tables import TABLE_PROPERTIES, glue_columns, table_definitions
from tests.evolution_cases import remove_field, schemas_with, year_double, year_long

pytestmark = pytest.mark.integration

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def database() -> str:
    """A database of this test's own, so tests sharing the moto server never meet."""
    return f"smartcity_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def applied(
    moto_endpoint: str, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, tuple[str, ...]]:
    """A lake folder of this test, and the arguments of a catalog already applied once for it."""
    lake = tmp_path / "lake"
    args = ("--offline", "--lake", str(lake), "--database", database)
    run(capsys, "apply", *args)
    return lake, args


def glue() -> Any:
    return boto3.client("glue", region_name="us-east-1")


def iceberg(lake: Path | str, database: str) -> GlueCatalog:
    return glue_catalog(GlueSettings(lake=str(lake), database=database, region="us-east-1"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def append(table: Table, rows: list[dict[str, Any]]) -> None:
    """Commit ``rows`` (missing columns NULL) to ``table``, as a writer of its current schema does."""
    table.append(pa.Table.from_pylist(rows, schema=table.schema().as_arrow()))


def test_apply_creates_iceberg_tables_and_a_second_apply_changes_nothing(
    moto_endpoint: str, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    catalog = load_catalog()
    args = ("--offline", "--lake", str(lake), "--database", database)

    planned = run(capsys, "plan", *args)
    assert f"+ create database {database}" in planned
    assert database not in {d["Name"] for d in glue().get_databases()["DatabaseList"]}, "plan changes nothing"

    applied = run(capsys, "apply", *args)
    assert f"+ create table {database}.vehicle (16 columns, partitioned by day(event_time))" in applied
    assert f"+ create table {database}.vehicle_quarantine (9 columns, partitioned by day(ingested_at))" in applied
    assert "applied 11 change(s)" in applied

    assert glue().get_database(Name=database)["Database"]["LocationUri"] == Path(lake, database).as_uri()
    tables = {t["Name"]: t for t in glue().get_tables(DatabaseName=database)["TableList"]}
    assert set(tables) == {t.name for t in table_definitions(catalog, GlueSettings(lake=str(lake)))}
    vehicle = tables["vehicle"]
    assert vehicle["Parameters"]["table_type"] == "ICEBERG"  # what Athena and Redshift look for
    metadata = vehicle["Parameters"]["metadata_location"]
    assert metadata.startswith(Path(lake, database, "vehicle", "metadata").as_uri() + "/")
    assert Path(metadata.removeprefix("file://")).is_file()
    assert [
        {k: c.get(k, "") for k in ("Name", "Type", "Comment")} for c in vehicle["StorageDescriptor"]["Columns"]
    ] == glue_columns(catalog.get("vehicle"))
    assert "PartitionKeys" not in vehicle or not vehicle["PartitionKeys"], "hidden partitioning"
    assert vehicle["Parameters"]["telemetry.subject"] == "vehicle_data-value"

    table = iceberg(lake, database).load_table((database, "vehicle"))
    assert table.format_version == 2
    assert table.location() == Path(lake, database, "vehicle").as_uri()
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [("event_time_day", "day")]
    assert str(table.schema().find_field("event_time").field_type) == "timestamptz"
    assert {k: table.properties[k] for k in TABLE_PROPERTIES} == dict(TABLE_PROPERTIES)

    again = run(capsys, "apply", *args)
    assert again.strip() == f"nothing to change: database {database} and its 10 tables are up to date"
    assert glue().get_table(DatabaseName=database, Name="vehicle")["Table"]["Parameters"]["metadata_location"] == (
        metadata
    ), "a second apply commits nothing"


def test_a_new_optional_field_is_added_and_older_snapshots_read_it_as_null(
    applied: tuple[Path, tuple[str, ...]],
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake, args = applied
    append(iceberg(lake, database).load_table((database, "gps")), [{"vehicle_id": "car-a", "event_time": T0}])

    schemas = tmp_path / "schemas"
    shutil.copytree(project_root() / "schemas", schemas)
    gps = json.loads((schemas / "gps.avsc").read_text())
    gps["fields"].append({"name": "battery_pct", "type": ["null", "int"], "default": None, "doc": "Battery level."})
    (schemas / "gps.avsc").write_text(json.dumps(gps))
    monkeypatch.setenv("TELEMETRY_SCHEMAS_DIR", str(schemas))

    planned = run(capsys, "plan", *args)
    assert f"~ update table {database}.gps\n    add column battery_pct int\n" in planned
    assert "property telemetry.schema_fingerprint" in planned
    assert f"{database}.vehicle" not in planned

    run(capsys, "apply", *args)
    table = iceberg(lake, database).load_table((database, "gps"))
    names = [f.name for f in table.schema().fields]
    assert names.index("battery_pct") == names.index("altitude_m") + 1  # schema fields first, metadata after
    columns = glue().get_table(DatabaseName=database, Name="gps")["Table"]["StorageDescriptor"]["Columns"]
    assert {c["Name"]: c.get("Comment") for c in columns}["battery_pct"] == "Battery level."
    assert "nothing to change" in run(capsys, "apply", *args)
    assert table.scan(selected_fields=("vehicle_id", "battery_pct")).to_arrow().to_pylist() == [
        {"vehicle_id": "car-a", "battery_pct": None}
    ]


def test_a_promotion_iceberg_allows_is_applied_and_old_rows_keep_their_values(
    applied: tuple[Path, tuple[str, ...]],
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake, args = applied
    append(iceberg(lake, database).load_table((database, "vehicle")), [{"vehicle_id": "car-a", "year": 2024}])
    monkeypatch.setenv("TELEMETRY_SCHEMAS_DIR", str(schemas_with(tmp_path / "schemas", year_long)))
    assert f"~ update table {database}.vehicle\n    promote column year: int -> long\n" in run(capsys, "plan", *args)
    run(capsys, "apply", *args)
    table = iceberg(lake, database).load_table((database, "vehicle"))
    assert str(table.schema().find_field("year").field_type) == "long"
    assert table.scan(selected_fields=("year",)).to_arrow().to_pylist() == [{"year": 2024}]
    assert "nothing to change" in run(capsys, "apply", *args)


def test_a_removed_field_keeps_its_column_deprecated_and_its_history_stays_queryable(
    applied: tuple[Path, tuple[str, ...]],
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake, args = applied
    append(iceberg(lake, database).load_table((database, "vehicle")), [{"vehicle_id": "car-a", "model": "Model S"}])
    monkeypatch.setenv("TELEMETRY_SCHEMAS_DIR", str(schemas_with(tmp_path / "schemas", remove_field)))

    planned = run(capsys, "plan", *args)
    assert (
        f"~ update table {database}.vehicle\n    deprecate column model string (removed from the schema; "
        "kept so older rows stay queryable)\n" in planned
    )
    assert "drop column" not in planned
    run(capsys, "apply", *args)
    table = iceberg(lake, database).load_table((database, "vehicle"))
    assert table.schema().find_field("model").doc.startswith(f"{DEPRECATED} ")  # type: ignore[union-attr]
    columns = glue().get_table(DatabaseName=database, Name="vehicle")["Table"]["StorageDescriptor"]["Columns"]
    assert {c["Name"]: c.get("Comment", "") for c in columns}["model"].startswith(DEPRECATED)
    assert "nothing to change" in run(capsys, "apply", *args)

    append(table, [{"vehicle_id": "car-b"}])  # a writer of the new schema leaves the column NULL
    rows = table.refresh().scan(selected_fields=("vehicle_id", "model")).to_arrow().to_pylist()
    assert sorted(rows, key=lambda r: r["vehicle_id"]) == [
        {"vehicle_id": "car-a", "model": "Model S"},
        {"vehicle_id": "car-b", "model": None},
    ]


def test_tables_record_the_registry_version_of_their_schema(
    moto_endpoint: str,
    registry: RegistryClient,
    topic_prefix: str,
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEMETRY_REGISTRY_URL", registry.url)
    monkeypatch.setenv("TELEMETRY_TOPIC_PREFIX", topic_prefix)
    args = ("--lake", str(tmp_path / "lake"), "--database", database)
    catalog = load_catalog()
    with pytest.raises(CatalogError, match=f"not registered under subject {topic_prefix}vehicle_data-value"):
        main(["apply", *args])
    try:
        ids = {s.name: registry.register(f"{topic_prefix}{s.subject}", s.schema_str) for s in catalog.streams}
        run(capsys, "apply", *args)
        parameters = glue().get_table(DatabaseName=database, Name="weather")["Table"]["Parameters"]
        assert parameters["telemetry.schema_version"] == "1"
        assert parameters["telemetry.subject"] == "weather_data-value"
        assert ids["weather"] > 0
    finally:
        for stream in catalog.streams:
            registry.delete_subject(f"{topic_prefix}{stream.subject}", permanent=True)


def test_a_plain_parquet_table_of_an_earlier_release_is_refused_with_one_line(
    moto_endpoint: str, database: str, tmp_path: Path
) -> None:
    glue().create_database(DatabaseInput={"Name": database})
    glue().create_table(
        DatabaseName=database,
        TableInput={
            "Name": "vehicle",
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet"},
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "string"}], "Location": "s3://old/vehicle/"},
        },
    )
    with pytest.raises(CatalogError, match=f"table {database}.vehicle exists in Glue but is not an Iceberg table") as e:
        main(["plan", "--offline", "--lake", str(tmp_path / "lake"), "--database", database])
    assert "\n" not in str(e.value)


def test_a_lake_on_s3_gets_its_metadata_through_s3(
    moto_endpoint: str, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    args = ("--offline", "--lake", f"s3a://{bucket}/warehouse", "--database", database)
    assert "applied 11 change(s)" in run(capsys, "apply", *args)
    location = glue().get_table(DatabaseName=database, Name="emergency")["Table"]["Parameters"]["metadata_location"]
    assert location.startswith(f"s3://{bucket}/warehouse/{database}/emergency/metadata/")
    key = location.removeprefix(f"s3://{bucket}/")
    assert json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["format-version"] == 2
    assert "nothing to change" in run(capsys, "apply", *args)


def test_a_type_change_iceberg_cannot_make_is_refused_in_one_line_and_changes_nothing(
    applied: tuple[Path, tuple[str, ...]],
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake, args = applied
    before = glue().get_table(DatabaseName=database, Name="vehicle")["Table"]["Parameters"]["metadata_location"]
    monkeypatch.setenv("TELEMETRY_SCHEMAS_DIR", str(schemas_with(tmp_path / "schemas", year_double)))
    assert "    change column year: int -> double\n" in run(capsys, "plan", *args)
    with pytest.raises(CatalogError, match=f"^cannot update table {database}.vehicle: ") as refused:
        main(["apply", *args])
    assert "\n" not in str(refused.value)
    after = glue().get_table(DatabaseName=database, Name="vehicle")["Table"]["Parameters"]["metadata_location"]
    assert after == before
    assert (
        str(iceberg(lake, database).load_table((database, "vehicle")).schema().find_field("year").field_type) == "int"
    )


def test_a_table_whose_glue_entry_was_lost_is_registered_with_its_history_not_created_empty(
    applied: tuple[Path, tuple[str, ...]], database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lake, args = applied
    append(iceberg(lake, database).load_table((database, "weather")), [{"vehicle_id": "car-a", "event_time": T0}])
    glue().delete_table(DatabaseName=database, Name="weather")  # the entry goes, the files stay

    planned = run(capsys, "plan", *args)
    metadata = Path(lake, database, "weather", "metadata").as_uri()
    assert (
        f"+ register table {database}.weather (the table already at its location: {metadata}/00001-" in planned
    )  # created, then one append
    assert "create table" not in planned
    run(capsys, "apply", *args)
    table = iceberg(lake, database).load_table((database, "weather"))
    assert table.scan(selected_fields=("vehicle_id",)).to_arrow().to_pylist() == [{"vehicle_id": "car-a"}]
    assert "nothing to change" in run(capsys, "apply", *args)

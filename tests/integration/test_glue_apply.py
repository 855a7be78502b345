"""Apply the generated catalog to moto's Glue: create, re-apply idempotently, evolve a table."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from core.catalog import load_catalog, project_root
from core.errors import CatalogError
from core.registry import RegistryClient
from core.tables import entity_lake_table
from glue.cli import main
from glue.plan import DEPRECATED
from glue.settings import GlueSettings
from glue.tables import glue_columns, table_definitions
from lakesql.engine import connect, run_sql
from lakesql.settings import LakeSqlSettings
from tests.evolution_cases import remove_field, schemas_with
from tests.parquet_lake import T0, write

pytestmark = pytest.mark.integration


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


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_apply_creates_the_database_and_tables_and_a_second_apply_changes_nothing(
    moto_endpoint: str, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(tmp_path / "lake")
    catalog = load_catalog()
    args = ("--offline", "--lake", lake, "--database", database)

    planned = run(capsys, "plan", *args)
    assert f"+ create database {database}" in planned
    assert database not in {d["Name"] for d in glue().get_databases()["DatabaseList"]}, "plan changes nothing"

    applied = run(capsys, "apply", *args)
    assert f"+ create table {database}.vehicle (16 columns, partitioned by dt)" in applied
    assert "applied 11 change(s)" in applied

    tables = {t["Name"]: t for t in glue().get_tables(DatabaseName=database)["TableList"]}
    assert set(tables) == {t.name for t in table_definitions(catalog, GlueSettings(lake=lake))}
    vehicle = tables["vehicle"]
    assert [
        {k: c.get(k, "") for k in ("Name", "Type", "Comment")} for c in vehicle["StorageDescriptor"]["Columns"]
    ] == glue_columns(catalog.get("vehicle"))
    assert vehicle["PartitionKeys"][0]["Name"] == "dt"
    assert vehicle["Parameters"]["projection.dt.type"] == "date"
    assert vehicle["StorageDescriptor"]["Location"] == Path(lake, "vehicle").as_uri() + "/"

    again = run(capsys, "apply", *args)
    assert again.strip() == f"nothing to change: database {database} and its 10 tables are up to date"


def test_a_new_optional_field_is_added_to_the_table_and_old_files_read_it_as_null(
    applied: tuple[Path, tuple[str, ...]],
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake, args = applied
    old = {t.name: t for t in table_definitions(load_catalog(), GlueSettings(lake=str(lake)))}
    write(lake, old["gps"], [{"vehicle_id": "car-a", "event_time": T0}])  # a file from before the evolution

    schemas = tmp_path / "schemas"
    shutil.copytree(project_root() / "schemas", schemas)
    gps = json.loads((schemas / "gps.avsc").read_text())
    gps["fields"].append({"name": "battery_pct", "type": ["null", "int"], "default": None, "doc": "Battery level."})
    (schemas / "gps.avsc").write_text(json.dumps(gps))
    monkeypatch.setenv("TELEMETRY_SCHEMAS_DIR", str(schemas))

    planned = run(capsys, "plan", *args)
    assert f"~ update table {database}.gps\n    add column battery_pct int\n" in planned
    assert "parameter telemetry.schema_fingerprint" in planned
    assert f"{database}.vehicle" not in planned

    run(capsys, "apply", *args)
    columns = glue().get_table(DatabaseName=database, Name="gps")["Table"]["StorageDescriptor"]["Columns"]
    names = [c["Name"] for c in columns]
    assert names.index("battery_pct") == names.index("altitude_m") + 1  # schema fields first, metadata after
    assert {c["Name"]: c["Type"] for c in columns}["battery_pct"] == "int"
    assert "nothing to change" in run(capsys, "apply", *args)

    con = connect(load_catalog(schemas), LakeSqlSettings.from_env({}, lake=str(lake), database=database))
    assert run_sql(con, "SELECT vehicle_id, battery_pct FROM gps").rows == (("car-a", None),)


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


def test_a_removed_field_keeps_its_column_deprecated_and_its_history_stays_queryable(
    applied: tuple[Path, tuple[str, ...]],
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake, args = applied
    before = entity_lake_table(load_catalog().get("vehicle"))
    write(lake, before, [{"vehicle_id": "car-a", "event_time": T0, "model": "Model S"}])
    schemas = schemas_with(tmp_path / "schemas", remove_field)
    monkeypatch.setenv("TELEMETRY_SCHEMAS_DIR", str(schemas))
    write(lake, entity_lake_table(load_catalog(schemas).get("vehicle")), [{"vehicle_id": "car-b", "event_time": T0}])

    planned = run(capsys, "plan", *args)
    assert (
        f"~ update table {database}.vehicle\n    deprecate column model string (removed from the schema; "
        "kept so older rows stay queryable)\n" in planned
    )
    assert "drop column" not in planned
    run(capsys, "apply", *args)
    columns = glue().get_table(DatabaseName=database, Name="vehicle")["Table"]["StorageDescriptor"]["Columns"]
    model = next(c for c in columns if c["Name"] == "model")
    assert model["Type"] == "string"
    assert model["Comment"].startswith(f"{DEPRECATED} ")
    assert "nothing to change" in run(capsys, "apply", *args)

    con = connect(load_catalog(schemas), LakeSqlSettings.from_env({}, lake=str(lake), database=database))
    assert run_sql(con, "SELECT vehicle_id, model FROM vehicle ORDER BY 1").rows == (
        ("car-a", "Model S"),
        ("car-b", None),
    )


def test_partitions_are_registered_once_for_engines_without_projection(
    moto_endpoint: str, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    args = ("--lake", str(lake), "--database", database)
    with pytest.raises(CatalogError, match=f"table {database}.vehicle does not exist; run `python -m glue apply`"):
        main(["partitions", *args, "--from", "2025-06-01", "--to", "2025-06-01"])
    run(capsys, "apply", "--offline", *args)

    out = run(capsys, "partitions", *args, "--from", "2025-06-01", "--to", "2025-06-03")
    assert f"added 30 partition(s) for 2025-06-01 to 2025-06-03 to the 10 tables of database {database}" in out
    partitions = glue().get_partitions(DatabaseName=database, TableName="vehicle")["Partitions"]
    assert sorted(p["Values"][0] for p in partitions) == ["2025-06-01", "2025-06-02", "2025-06-03"]
    locations = {p["Values"][0]: p["StorageDescriptor"]["Location"] for p in partitions}
    assert locations["2025-06-02"] == Path(lake, "vehicle").as_uri() + "/dt=2025-06-02/"
    quarantine = glue().get_partitions(DatabaseName=database, TableName="gps_quarantine")["Partitions"]
    assert {p["StorageDescriptor"]["Location"] for p in quarantine} == {
        Path(lake, "_quarantine", "gps").as_uri() + f"/dt=2025-06-0{d}/" for d in (1, 2, 3)
    }

    again = run(capsys, "partitions", *args, "--from", "2025-06-02", "--to", "2025-06-04")
    assert "added 10 partition(s) for 2025-06-02 to 2025-06-04" in again

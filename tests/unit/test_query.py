"""DuckDB views over a small Iceberg lake typed as the streaming job writes it: current snapshots and time travel."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.catalog import Catalog, load_catalog, project_root
from core.errors import CatalogError
from core.tables import entity_lake_table, lake_tables
from lakesql.cli import main
from lakesql.engine import connect, run_sql, view_columns
from lakesql.output import format_result
from lakesql.queries import duckdb_sql, named_query
from lakesql.settings import LakeSqlSettings
from lakesql.snapshots import ReadAt, metadata_locations, snapshot_rows
from tests.evolution_cases import remove_field, schemas_with
from tests.iceberg_lake import T0, lake_catalog, write


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog(project_root() / "schemas")


@pytest.fixture(scope="module")
def catalog_m() -> Catalog:
    return load_catalog(project_root() / "schemas")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, catalog_m: Catalog) -> Path:
    catalog = catalog_m
    root = tmp_path_factory.mktemp("query") / "lake"
    tables = {t.name: t for t in lake_tables(catalog)}

    def at(minutes: float) -> datetime:
        return T0 + timedelta(minutes=minutes)

    write(
        root,
        tables["vehicle"],
        [
            {
                "vehicle_id": "car-a",
                "event_time": at(0),
                "speed_kmh": 40.0,
                "location": {"latitude": 51.5, "longitude": -0.12},
            },
            {
                "vehicle_id": "car-a",
                "event_time": at(30),
                "speed_kmh": 60.0,
                "location": {"latitude": 51.6, "longitude": -0.2},
            },
            {
                "vehicle_id": "car-a",
                "event_time": at(70),
                "speed_kmh": 80.0,
                "location": {"latitude": 51.7, "longitude": -0.3},
            },
            {
                "vehicle_id": "car-b",
                "event_time": at(60 * 24),
                "speed_kmh": 20.0,
                "location": {"latitude": 53.4, "longitude": -2.2},
            },
        ],
    )
    # A gps batch from before altitude_m existed, and one with it (the table evolved in between).
    write(root, tables["gps"], [{"vehicle_id": "car-a", "event_time": at(0)}], drop=("altitude_m",))
    write(root, tables["gps"], [{"vehicle_id": "car-a", "event_time": at(60 * 24), "altitude_m": 31.5}])
    write(
        root,
        tables["emergency"],
        [
            {"incident_id": "i1", "incident_type": "FIRE", "status": "REPORTED", "event_time": at(1)},
            {"incident_id": "i1", "incident_type": "FIRE", "status": "RESOLVED", "event_time": at(50)},
            {"incident_id": "i2", "incident_type": "ACCIDENT", "status": "REPORTED", "event_time": at(5)},
        ],
    )
    return root


def test_views_have_the_generated_columns_and_types(catalog: Catalog, lake: Path) -> None:
    con = connect(catalog, LakeSqlSettings.from_env({}, lake=str(lake)))
    described = {row[0]: row[1] for row in con.execute("DESCRIBE smartcity.vehicle").fetchall()}
    assert described["event_time"] == "TIMESTAMP WITH TIME ZONE"
    assert described["location"] == "STRUCT(latitude DOUBLE, longitude DOUBLE)"
    assert described["kafka_offset"] == "BIGINT"
    assert list(described) == [c.name for c in entity_lake_table(catalog.get("vehicle")).columns]
    assert "dt" not in described


def test_views_type_every_column_exactly_as_the_iceberg_scan(catalog: Catalog, lake: Path) -> None:
    con = connect(catalog, LakeSqlSettings.from_env({}, lake=str(lake)))
    for table in ("vehicle", "emergency"):
        metadata = metadata_locations(lake_catalog(lake), [table])[table]
        in_files = con.execute("DESCRIBE SELECT * FROM iceberg_scan(?)", [metadata]).fetchall()
        in_view = con.execute(f"DESCRIBE smartcity.{table}").fetchall()
        assert [(r[0], r[1]) for r in in_view] == [(r[0], r[1]) for r in in_files]


def test_a_batch_written_before_a_column_was_added_reads_null(catalog: Catalog, lake: Path) -> None:
    con = connect(catalog, LakeSqlSettings.from_env({}, lake=str(lake)))
    rows = run_sql(con, "SELECT CAST(event_time AS DATE), altitude_m FROM gps ORDER BY 1").rows
    assert [(str(day), altitude) for day, altitude in rows] == [("2025-06-01", None), ("2025-06-02", 31.5)]


def test_a_column_no_file_has_yet_reads_null(tmp_path: Path, lake: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(project_root() / "schemas", root)
    schema = json.loads((root / "vehicle.avsc").read_text())
    schema["fields"].append({"name": "odometer_km", "type": ["null", "double"], "default": None})
    (root / "vehicle.avsc").write_text(json.dumps(schema))
    con = connect(load_catalog(root), LakeSqlSettings.from_env({}, lake=str(lake)))
    assert run_sql(con, "SELECT count(*), count(odometer_km) FROM vehicle").rows == ((4, 0),)
    described = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE vehicle)").fetchall())
    assert described["odometer_km"] == "DOUBLE"


def test_a_table_without_snapshots_is_an_empty_typed_view(catalog: Catalog, lake: Path) -> None:
    con = connect(catalog, LakeSqlSettings.from_env({}, lake=str(lake)))
    assert run_sql(con, "SELECT count(*) FROM weather").rows == ((0,),)
    assert run_sql(con, "SELECT count(*) FROM traffic_quarantine").rows == ((0,),)
    described = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE weather)").fetchall())
    assert described["air_quality_index"] == "INTEGER"


def test_named_queries(catalog: Catalog, lake: Path) -> None:
    con = connect(catalog, LakeSqlSettings.from_env({}, lake=str(lake)))

    def rows(name: str) -> tuple[tuple[Any, ...], ...]:
        return run_sql(con, duckdb_sql(named_query(name), "smartcity")).rows

    assert [(r[0], r[1].hour, r[2]) for r in rows("events-per-vehicle-hour")] == [
        ("car-a", 8, 2),
        ("car-a", 9, 1),
        ("car-b", 8, 1),
    ]
    assert [(r[0].day, r[0].hour, r[2]) for r in rows("speed-per-hour")] == [(1, 8, 50.0), (1, 9, 80.0), (2, 8, 20.0)]
    assert rows("last-position") == (
        ("car-a", T0 + timedelta(minutes=70), 51.7, -0.3, 80.0),
        ("car-b", T0 + timedelta(days=1), 53.4, -2.2, 20.0),
    )
    assert rows("emergencies-by-type-status") == (("ACCIDENT", "REPORTED", 1), ("FIRE", "RESOLVED", 1))
    assert len(rows("speed-per-segment")) == 4
    assert rows("weather-along-route") == ()


def test_user_sql_errors_are_one_line(catalog: Catalog, lake: Path) -> None:
    con = connect(catalog, LakeSqlSettings.from_env({}, lake=str(lake)))
    with pytest.raises(CatalogError, match=r"^query failed: .*nosuch") as caught:
        run_sql(con, "SELECT * FROM nosuch")
    assert "\n" not in str(caught.value)


def test_results_print_as_a_table() -> None:
    text = format_result(
        run_sql(duckdb.connect(), "SELECT 'car-a' AS vehicle, 12.5 AS speed UNION ALL SELECT 'b', NULL"),
        "speeds",
        limit=1,
    )
    assert text.splitlines()[0] == "speeds"
    assert "| vehicle | speed |" in text
    assert "| car-a   |  12.5 |" in text
    assert text.splitlines()[-1] == "2 rows, showing the first 1"


def test_cli_runs_a_named_query_and_user_sql(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--lake", str(lake), "--name", "last-position"]) == 0
    assert "| car-b      |" in capsys.readouterr().out
    assert main(["query", "--lake", str(lake), "--sql", "SELECT count(*) AS n FROM smartcity.emergency"]) == 0
    out = capsys.readouterr().out
    assert "| 3 |" in out and "1 row" in out


def test_a_column_removed_from_the_schema_stays_in_the_view_last(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    write(root, entity_lake_table(catalog.get("vehicle")), [{"vehicle_id": "car-a", "event_time": T0, "model": "S"}])
    evolved = load_catalog(schemas_with(tmp_path / "schemas", remove_field))
    later = [{"vehicle_id": "car-b", "event_time": T0 + timedelta(days=1)}]
    write(root, entity_lake_table(evolved.get("vehicle")), later)
    con = connect(evolved, LakeSqlSettings.from_env({}, lake=str(root)))
    assert run_sql(con, "SELECT vehicle_id, model FROM vehicle ORDER BY 1").rows == (("car-a", "S"), ("car-b", None))
    names = [name for name, _ in view_columns(con, "smartcity", "vehicle")]
    assert names[-1] == "model" and "dt" not in names


def test_make_query_hands_the_sql_over_exactly_as_typed(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    # Relative to make's folder (the project root), so that every cell stays short enough to be shown whole.
    name = f".planted-{tmp_path.name[-8:]}"
    planted = project_root() / name
    sql = (
        f"SELECT 'a\"b' AS quotes, '$(touch {name})' AS dollar, '`touch {name}`' AS backticks, "
        f"'$(shell touch {name})' AS make_function, 'it''s' AS doubled"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_")} | {"COLUMNS": "500"}
    try:
        result = subprocess.run(
            ["make", "-s", "query", f"SQL={sql}", f"PY={sys.executable}", f"TELEMETRY_LAKE={tmp_path / 'lake'}"],
            cwd=project_root(), env=env, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        planted_exists = planted.exists()
    finally:
        planted.unlink(missing_ok=True)
    assert not planted_exists
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if 'a"b' in line)
    assert [cell.strip() for cell in row.strip("|").split("|")] == [
        'a"b',
        f"$(touch {name})",
        f"`touch {name}`",
        f"$(shell touch {name})",
        "it's",
    ]


def test_a_lake_on_s3_is_read_through_httpfs_at_the_endpoint_of_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    from core.iceberg_tables import ensure_tables, open_catalog
    from tests.iceberg_lake import arrow_rows

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        boto3.client("s3").create_bucket(Bucket="telemetry-lake")
        settings = LakeSqlSettings.from_env({"TELEMETRY_HOME": str(tmp_path)}, lake="s3a://telemetry-lake/lake")
        catalog = load_catalog()
        vehicle = entity_lake_table(catalog.get("vehicle"))
        ensure_tables(settings.iceberg, [vehicle])
        table = open_catalog(settings.iceberg).load_table(settings.iceberg.table_id("vehicle"))
        table.append(arrow_rows(vehicle, [{"vehicle_id": "car-s3", "event_time": T0}] * 3))
        assert table.metadata_location.startswith("s3://telemetry-lake/lake/smartcity/vehicle/metadata/")
        con = connect(catalog, settings)
        assert run_sql(con, "SELECT count(*), min(vehicle_id) FROM vehicle").rows == ((3, "car-s3"),)
        assert run_sql(con, "SELECT count(*) FROM gps").rows == ((0,),)
    finally:
        server.stop()


def test_a_snapshot_from_before_a_column_was_added_still_reads(catalog: Catalog, lake: Path) -> None:
    settings = LakeSqlSettings.from_env({}, lake=str(lake))
    first = snapshot_rows(settings.iceberg, "gps")[0]
    con = connect(catalog, settings, ReadAt(snapshot_id=int(str(first[0]))))
    assert run_sql(con, "SELECT vehicle_id, altitude_m FROM gps").rows == (("car-a", None),)
    assert ("altitude_m", "DOUBLE") in view_columns(con, "smartcity", "gps")

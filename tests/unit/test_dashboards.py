"""The dashboards bundle, held to the schemas and the lake without Superset running."""

from __future__ import annotations

import io
import re
import sys
import tomllib
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
import yaml

from core.avro_lake import record_columns
from core.catalog import load_catalog, project_root
from core.data_rules import stream_rules
from core.errors import ConfigError
from core.lake_types import StructType
from core.sql import quote_literal
from core.tables import entity_lake_table, lake_tables
from dashboards.bundle import Bundle, build_bundle
from dashboards.checks import check_connection, check_sql, dataset_source
from dashboards.dialects import ATHENA, DUCKDB, SqlDialect
from dashboards.install import CONSTRAINTS, REQUIREMENTS
from dashboards.settings import DashboardSettings
from lakesql.settings import LakeSqlSettings
from tests.fleet_lake import write_fleet_lake
from tests.iceberg_lake import T0, write

CATALOG = load_catalog()
URI = "duckdb:////tmp/lake.duckdb?access_mode=read_only"


def bundle(d: SqlDialect = DUCKDB) -> Bundle:
    return build_bundle(CATALOG, "smartcity", d, URI)


def files(b: Bundle) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(b.zip_bytes())) as archive:
        return {n.split("/", 1)[1]: yaml.safe_load(archive.read(n)) for n in archive.namelist()}


def test_the_bundle_holds_one_database_every_dataset_chart_and_the_six_dashboards() -> None:
    content = files(bundle())
    assert content["metadata.yaml"]["type"] == "Dashboard"
    assert [n for n in content if n.startswith("databases/")] == ["databases/telemetry_lake.yaml"]
    dashboards = {c["slug"]: c for n, c in content.items() if n.startswith("dashboards/")}
    assert set(dashboards) == {"fleet", "journey", "incidents", "conditions", "cameras", "pipeline-health"}
    assert all(d["metadata"]["refresh_frequency"] <= 10 for d in dashboards.values())
    assert dashboards["fleet"]["metadata"]["refresh_frequency"] == 5  # the live one
    # Every chart of a refresh asked for at once: Superset's default spreads them over 5 s (its default is on).
    assert all(d["metadata"]["stagger_refresh"] is False for d in dashboards.values())
    # The journey is one vehicle's: its filter picks one, the first at first; the fleet's may pick several or none.
    vehicle = {k: next(f for f in d["metadata"]["native_filter_configuration"] if f["name"] == "Vehicle")
               for k, d in dashboards.items() if k in ("fleet", "journey")}  # fmt: skip
    assert vehicle["journey"]["controlValues"].items() >= {"multiSelect": False, "defaultToFirstItem": True}.items()
    assert vehicle["fleet"]["controlValues"].items() >= {"multiSelect": True, "defaultToFirstItem": False}.items()
    datasets = {c["uuid"] for n, c in content.items() if n.startswith("datasets/")}
    charts = {c["uuid"]: c for n, c in content.items() if n.startswith("charts/")}
    assert {c["dataset_uuid"] for c in charts.values()} <= datasets
    placed = {
        item["meta"]["uuid"] for d in dashboards.values() for item in d["position"].values()
        if isinstance(item, dict) and item.get("type") == "CHART"
    }  # fmt: skip
    assert placed == set(charts)


def test_uuids_are_stable_so_a_reimport_updates_in_place() -> None:
    first, second = files(bundle()), files(bundle())
    assert {n: c.get("uuid") for n, c in first.items()} == {n: c.get("uuid") for n, c in second.items()}


def test_every_lake_column_is_a_dataset_column_described_by_its_avro_doc() -> None:
    datasets = {d.key: d for d in bundle().datasets}
    for table in lake_tables(CATALOG):
        dataset = datasets[table.name]
        for column in table.columns:
            if isinstance(column.type, StructType):
                for leaf in column.type.fields:
                    described = dataset.column(f"{column.name}_{leaf.name}")
                    assert described.description == leaf.doc and described.expression
            elif column.type.__class__.__name__ == "PrimitiveType" and column.type.name == "binary":  # type: ignore[union-attr]
                assert dataset.column(f"{column.name}_base64").description.startswith(column.doc)
            else:
                assert dataset.column(column.name).description == column.doc
                assert column.doc, f"{table.name}.{column.name} has no doc"


def test_every_chart_names_only_columns_of_its_dataset() -> None:
    for chart in bundle().charts:
        names = {c.name for c in chart.dataset.columns}
        assert set(chart.referenced_columns) <= names, chart.key
        for metric in chart.metrics:
            used = {c.name for c in sqlglot.parse_one(metric.sql, read="duckdb").find_all(sqlglot.exp.Column)}
            assert used <= names, (chart.key, metric.label)


@pytest.mark.parametrize("d", [DUCKDB, ATHENA], ids=lambda d: d.name)
def test_every_dataset_and_check_query_parses_in_its_dialect(d: SqlDialect) -> None:
    b = bundle(d)
    for dataset in b.datasets:
        sqlglot.parse_one(f"SELECT * FROM {dataset_source(dataset, d)} AS t", read=d.name)
    for chart in b.charts:
        sqlglot.parse_one(check_sql(chart, d), read=d.name)


def test_a_renamed_schema_field_breaks_the_bundle_not_the_dashboard(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    for path in (project_root() / "schemas").iterdir():
        if path.is_file():
            text = path.read_text()
            if path.name == "vehicle.avsc":
                text = text.replace('"name": "speed_kmh"', '"name": "speed_mph"')
            (schemas / path.name).write_text(text)
    catalog = load_catalog(schemas)
    renamed = build_bundle(catalog, "smartcity", DUCKDB, URI)
    metrics = {m.sql for c in renamed.charts if c.key == "speed-over-time" for m in c.metrics}
    assert "AVG(speed_kmh)" in metrics and "speed_kmh" not in {c.name for c in _dataset(renamed, "vehicle").columns}
    lake = tmp_path / "lake"
    write(lake, entity_lake_table(catalog.get("vehicle")), [{"event_time": T0, "vehicle_id": "car-a"}])
    settings = LakeSqlSettings.from_env({}, lake=str(lake))
    with pytest.raises(duckdb.Error, match="speed_kmh"):  # the check: the derived views do not bind
        check_connection(catalog, settings)
    # The dashboards go on: the views file is written; what needs the field fails when read, and says why.
    from dashboards.lakefile import refresh_lake_file

    path = tmp_path / "superset" / "lake.duckdb"
    assert refresh_lake_file(catalog, settings, path)
    assert not refresh_lake_file(catalog, settings, path)  # the stand-in is made once, not every turn
    con = _open_like_superset(path, lake)
    for key in ("speed-over-time", "latest-positions"):
        chart = next(c for c in renamed.charts if c.key == key)
        with pytest.raises(duckdb.Error, match="speed_kmh"):
            con.execute(check_sql(chart, DUCKDB))
    with pytest.raises(duckdb.Error, match=r"dashboard_vehicle_latest\" cannot be read: .*speed_kmh"):
        con.execute("SELECT vehicle_id FROM smartcity.dashboard_vehicle_latest").fetchall()
    assert con.execute("SELECT count(*) FROM smartcity.dashboard_camera_latest").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM smartcity.vehicle").fetchall() == [(1,)]


def _open_like_superset(path: Path, lake: Path) -> duckdb.DuckDBPyConnection:
    """The views file as Superset opens it: read-only, extensions by name, then locked to the lake's folder."""
    from lakesql.extensions import OFFLINE_CONFIG, VIEW_EXTENSIONS

    con = duckdb.connect(str(path), read_only=True, config=dict(OFFLINE_CONFIG))
    for name in VIEW_EXTENSIONS:
        con.execute(f"LOAD {name}")
    con.execute(f"SET allowed_directories = [{quote_literal(str(lake))}]")
    con.execute("SET enable_external_access = false")
    return con


def _dataset(b: Bundle, key: str) -> Any:
    return next(d for d in b.datasets if d.key == key)


def test_each_dataset_has_the_declared_columns_and_types_on_a_lake_written_like_spark(tmp_path: Path) -> None:
    write_fleet_lake(tmp_path, minutes=2, end=datetime.now(UTC))
    con = check_connection(CATALOG, LakeSqlSettings.from_env({}, lake=str(tmp_path)))
    for dataset in bundle().datasets:
        described = con.execute(f"DESCRIBE SELECT * FROM {dataset_source(dataset, DUCKDB)} AS t").fetchall()
        assert [(r[0], r[1]) for r in described] == [(c.name, c.type) for c in dataset.columns], dataset.key


def test_with_no_lake_yet_every_chart_query_answers_with_no_rows_not_an_error(tmp_path: Path) -> None:
    con = check_connection(CATALOG, LakeSqlSettings.from_env({}, lake=str(tmp_path / "nothing-yet")))
    for chart in bundle().charts:
        rows = con.execute(check_sql(chart, DUCKDB)).fetchall()
        if chart.viz == "deck_geojson":  # the basemap (land and towns) is on the map from the start
            assert {r[0] for r in rows} == {"land", "town"}, chart.key
        elif chart.key == "incidents-active":  # a sentence, not an empty chart
            assert rows == [("No active incidents: nothing is going on, so the map shows none.",)]
        elif chart.dataset.key == "data_rules":  # the contract is in the schemas, not the lake
            assert len(rows) == sum(len(r) for r in stream_rules(CATALOG).values()) > 0
        else:
            assert rows in ([], [(0,)]), chart.key  # a count over nothing is one row of 0


def test_physical_datasets_types_follow_the_avro_schema() -> None:
    datasets = {d.key: d for d in bundle().datasets}
    vehicle = {c.name: c.type for c in datasets["vehicle"].columns}
    assert vehicle["event_time"] == "TIMESTAMP WITH TIME ZONE"
    assert vehicle["location_latitude"] == "DOUBLE"
    assert next(c.name for c in record_columns(CATALOG.get("vehicle").schema)) == "id"


def test_settings_refuse_what_cannot_work() -> None:
    with pytest.raises(ConfigError, match="TELEMETRY_DASHBOARD_ENGINE"):
        DashboardSettings.from_env({"TELEMETRY_DASHBOARD_ENGINE": "bigquery"})
    with pytest.raises(ConfigError, match="athena"):
        DashboardSettings.from_env({"TELEMETRY_LAKE": "s3a://bucket/lake"})
    with pytest.raises(ConfigError, match="TELEMETRY_ATHENA_RESULTS"):
        DashboardSettings.from_env({"TELEMETRY_LAKE": "s3a://bucket/lake", "TELEMETRY_DASHBOARD_ENGINE": "athena"})
    with pytest.raises(ConfigError, match="TELEMETRY_SUPERSET_PORT"):
        DashboardSettings.from_env({"TELEMETRY_SUPERSET_PORT": "70000"})


def test_one_setting_points_the_same_bundle_at_athena() -> None:
    env = {"TELEMETRY_LAKE": "s3a://bucket/lake", "TELEMETRY_DASHBOARD_ENGINE": "athena"}
    env |= {"TELEMETRY_ATHENA_RESULTS": "s3://bucket/athena/", "AWS_REGION": "eu-west-2"}
    settings = DashboardSettings.from_env(env)
    assert settings.sqlalchemy_uri.startswith("awsathena+rest://@athena.eu-west-2.amazonaws.com:443/smartcity?")
    athena, duck = bundle(ATHENA), bundle(DUCKDB)
    assert [c.key for c in athena.charts] == [c.key for c in duck.charts]
    assert "to_base64" in _dataset(athena, "camera_latest").sql
    assert "approx_percentile" in next(c for c in athena.charts if c.key == "latency").metrics[0].sql


def test_a_state_folder_with_a_space_or_percent_is_carried_verbatim_and_a_question_mark_refused(tmp_path: Path) -> None:
    settings = DashboardSettings.from_env({"TELEMETRY_HOME": str(tmp_path / "my home 100%")})
    assert settings.sqlalchemy_uri == f"duckdb:///{tmp_path}/my home 100%/superset/lake.duckdb?access_mode=read_only"
    with pytest.raises(ConfigError, match="'\\?'"):
        DashboardSettings.from_env({"TELEMETRY_HOME": str(tmp_path / "what?")})


def test_superset_opens_the_duckdb_file_with_the_duckdb_version_that_writes_it() -> None:
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", CONSTRAINTS.read_text(), re.M))
    declared = tomllib.loads((project_root() / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"duckdb=={pins['duckdb']}" in declared
    assert pins["apache_superset"].startswith("6.1.")
    assert pins["Flask-Caching"].startswith("2.3.")
    normalized = {k.lower().replace("_", "-") for k in pins}
    assert {r.lower() for r in REQUIREMENTS} <= normalized


def test_a_failed_install_or_start_step_is_one_line_naming_the_step_and_its_log(tmp_path: Path) -> None:
    from core.errors import StackError
    from dashboards import install, server

    log = tmp_path / "install.log"
    with pytest.raises(StackError, match=rf"^installing Superset failed at step 'pip' \(exit code 3\); see {log}$"):
        install._run("pip", [sys.executable, "-c", "import sys; print('no such package'); sys.exit(3)"], log)
    assert "no such package" in log.read_text()
    settings = DashboardSettings.from_env({"TELEMETRY_HOME": str(tmp_path)})
    settings.home.mkdir(parents=True)
    with pytest.raises(
        StackError, match=r"^starting Superset failed at step 'superset init' \(exit code 1\); see .*setup\.log$"
    ):
        server._step(settings, "superset init", [sys.executable, "-c", "raise SystemExit(1)"])


def test_the_lake_file_follows_each_new_snapshot_and_superset_reads_it_offline(tmp_path: Path) -> None:
    from dashboards.lakefile import refresh_lake_file
    from lakesql.snapshots import MetadataCache

    settings = LakeSqlSettings.from_env({}, lake=str(tmp_path / "lake"))
    path = tmp_path / "superset" / "lake.duckdb"
    cache = MetadataCache(settings.iceberg)

    def superset_count() -> int:
        con = _open_like_superset(path, tmp_path / "lake")
        try:
            return int(con.execute("SELECT count(*) FROM smartcity.gps").fetchall()[0][0])
        finally:
            con.close()

    assert refresh_lake_file(CATALOG, settings, path, cache)  # no lake yet: empty views
    assert superset_count() == 0
    gps = entity_lake_table(CATALOG.get("gps"))
    write(tmp_path / "lake", gps, [{"event_time": T0, "vehicle_id": "a"}])
    assert refresh_lake_file(CATALOG, settings, path, cache)
    assert not refresh_lake_file(CATALOG, settings, path, cache)  # no commit since: the file stays
    assert superset_count() == 1
    write(tmp_path / "lake", gps, [{"event_time": T0, "vehicle_id": "b"}] * 2)  # a new snapshot
    assert refresh_lake_file(CATALOG, settings, path, cache)
    assert superset_count() == 3
    assert len(cache.known) == 1  # the metadata of the current snapshot only, each read once

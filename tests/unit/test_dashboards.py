"""The dashboards bundle, held to the schemas and the lake without Superset running."""

from __future__ import annotations

import io
import json
import math
import re
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import jinja2
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
from dashboards.charts import TILES
from dashboards.checks import check_connection, check_sql, dataset_source
from dashboards.dialects import ATHENA, DUCKDB, SqlDialect
from dashboards.install import CONSTRAINTS, REQUIREMENTS
from dashboards.maplayer import pixels_per_degree
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
    # The journey is one vehicle's: its filter picks one, the first at first, never none; the fleet's several or none.
    vehicle = {k: next(f for f in d["metadata"]["native_filter_configuration"] if f["name"] == "Vehicle")
               for k, d in dashboards.items() if k in ("fleet", "journey")}  # fmt: skip
    assert (
        vehicle["journey"]["controlValues"].items()
        >= {"multiSelect": False, "defaultToFirstItem": True, "enableEmptyFilter": True}.items()
    )
    assert (
        vehicle["fleet"]["controlValues"].items()
        >= {"multiSelect": True, "defaultToFirstItem": False, "enableEmptyFilter": False}.items()
    )
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
    # Superset renders every dataset's SQL as a Jinja template (the maps' take filters inside): each must render.
    window = _Window(from_expr="TIMESTAMP '2026-12-04 09:00:00'", to_expr="TIMESTAMP '2026-12-04 12:00:00'")
    for key, template in ((k, c["sql"]) for k, c in files(b).items() if k.startswith("datasets/") and c["sql"]):
        for chosen, bounds in (([], _Window()), (["Ford Focus 1A2B3C", "Kia Niro O'NEIL"], window)):
            assert sqlglot.parse_one(_as_superset_renders(template, chosen, bounds), read=d.name), key
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


@dataclass(frozen=True)
class _Window:
    from_expr: str | None = None
    to_expr: str | None = None


def _as_superset_renders(template: str, chosen: list[str], window: _Window = _Window()) -> str:
    """A dataset's SQL as Superset's Jinja renders it for a dashboard's filter values and time range."""
    env = jinja2.Environment(autoescape=False)  # noqa: S701 - SQL, rendered as Superset does
    env.filters["where_in"] = lambda values: "(" + ", ".join(quote_literal(v) for v in values) + ")"
    return env.from_string(template).render(
        filter_values=lambda column, remove_filter=False: chosen, get_time_filter=lambda **_: window
    )


def test_a_vehicle_filter_or_time_range_on_a_map_keeps_its_basemap_and_only_that_vehicles_features(
    tmp_path: Path,
) -> None:
    write_fleet_lake(tmp_path, minutes=10, end=datetime.now(UTC))
    con = check_connection(CATALOG, LakeSqlSettings.from_env({}, lake=str(tmp_path)))
    content = files(bundle())
    b = bundle()
    for key in ("fleet_map", "journey_map"):
        dataset = next(d for d in b.datasets if d.key == key)
        template = content[f"datasets/telemetry_lake/{key}.yaml"]["sql"]
        everything = con.execute(f"SELECT vehicle, layer FROM ({_as_superset_renders(template, [])})").fetchall()
        plain = con.execute(f"SELECT vehicle, layer FROM {dataset_source(dataset, DUCKDB)}").fetchall()
        assert sorted(everything, key=str) == sorted(plain, key=str), key
        vehicles = sorted({v for v, _ in everything if v is not None})
        assert len(vehicles) == 3, key
        kept = con.execute(f"SELECT vehicle, layer FROM ({_as_superset_renders(template, vehicles[:1])})").fetchall()
        basemap = [r for r in everything if r[0] is None]
        assert {layer for _, layer in basemap} == {"land", "town"}, key
        # The basemap stays whole; of the vehicles, only the chosen one's tracks and markers.
        assert sorted(r for r in kept if r[0] is None) == sorted(basemap), key
        assert {v for v, _ in kept if v is not None} == set(vehicles[:1]), key
        assert len(kept) > len(basemap), key
    # The journey's map follows the time range too: its last 4 minutes of segments, and the whole basemap.
    template = content["datasets/telemetry_lake/journey_map.yaml"]["sql"]
    (start,) = con.execute(
        "SELECT strftime(max(minute) - INTERVAL 3 MINUTE, '%Y-%m-%d %H:%M:%S') FROM smartcity.dashboard_journey_map"
    ).fetchone() or ("",)
    window = _Window(from_expr=f"'{start}'")
    minutes = con.execute(f"SELECT vehicle, minute FROM ({_as_superset_renders(template, [], window)})").fetchall()
    tracked = [m for v, m in minutes if v is not None]
    assert sum(v is None for v, _ in minutes) == len(basemap)
    assert tracked and len({m for m in tracked}) == 4 and min(tracked).strftime("%Y-%m-%d %H:%M:%S") == start
    # Both maps follow the dashboards' vehicle filters and the fleet table's cross-filter; the incidents' map does not.
    boards = {c["slug"]: c for n, c in content.items() if n.startswith("dashboards/")}
    for slug, chart in (("fleet", "fleet-map"), ("journey", "journey-map")):
        number = next(i["meta"]["chartId"] for i in boards[slug]["position"].values()
                      if isinstance(i, dict) and i.get("id") == f"CHART-{chart}")  # fmt: skip
        metadata = boards[slug]["metadata"]
        assert number not in metadata["global_chart_configuration"]["scope"]["excluded"], slug
        for native in metadata["native_filter_configuration"]:  # the fleet map stays outside the time range
            assert (number in native["scope"]["excluded"]) == (chart == "fleet-map" and not native["targets"][0]), slug
    assert boards["incidents"]["metadata"]["global_chart_configuration"]["scope"]["excluded"]
    # The fleet's status counts stay outside every filter, a click in the table included.
    numbered = {i["id"]: i["meta"]["chartId"] for i in boards["fleet"]["position"].values()
                if isinstance(i, dict) and i.get("type") == "CHART"}  # fmt: skip
    counts = {numbered[f"CHART-fleet-{k}"] for k in ("moving", "idle", "silent", "size")}
    assert set(boards["fleet"]["metadata"]["global_chart_configuration"]["scope"]["excluded"]) == counts


def test_no_town_label_is_drawn_under_a_vehicles_label_at_the_maps_first_zoom(tmp_path: Path) -> None:
    write_fleet_lake(tmp_path, minutes=10, end=datetime.now(UTC))
    now = datetime.now(UTC)
    at_london = {"vehicle_id": "parked-at-london", "make": "Parked", "model": "Van", "event_time": now,
                 "kafka_timestamp": now, "ingested_at": now, "location": {"latitude": 51.5085, "longitude": -0.1257},
                 "speed_kmh": 0.0}  # fmt: skip
    write(tmp_path, entity_lake_table(CATALOG.get("vehicle")), [at_london])
    con = check_connection(CATALOG, LakeSqlSettings.from_env({}, lake=str(tmp_path)))
    fleet_map = next(d for d in bundle().datasets if d.key == "fleet_map")
    rows = con.execute(f"SELECT layer, feature FROM {dataset_source(fleet_map, DUCKDB)} AS t").fetchall()
    points = [(layer, json.loads(f)) for layer, f in rows]
    labels = [(layer, f["properties"]["name"], *f["geometry"]["coordinates"]) for layer, f in points
              if f["geometry"]["type"] == "Point" and f["properties"]["name"]]  # fmt: skip
    towns, vehicles = ([lb for lb in labels if lb[0] == kind] for kind in ("town", "vehicle"))
    assert vehicles and "London" not in {name for _, name, _, _ in towns}  # a van parked in London: its label wins
    assert len(towns) > 25  # the others keep theirs
    px = pixels_per_degree()  # the labels' boxes on screen, centred on their points (13 px text, 7.8 px a character)
    for _, town, lon, lat in towns:
        for _, vehicle, vlon, vlat in vehicles:
            apart_x = abs(lon - vlon) * px >= (len(town) + len(vehicle)) * 7.8 / 2
            apart_y = abs(lat - vlat) * px / math.cos(math.radians(lat)) >= 13
            assert apart_x or apart_y, (town, vehicle)


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
    for tiles in ("tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org/map.png", "file:///{z}/{x}/{y}"):
        with pytest.raises(ConfigError, match="TELEMETRY_MAP_TILES must be a tile server's URL template"):
            DashboardSettings.from_env({"TELEMETRY_MAP_TILES": tiles})


def test_tiles_come_only_from_the_tile_server_set() -> None:
    assert DashboardSettings.from_env({}).map_tiles_origin == ""  # none: the pages fetch no tiles
    tiles = "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png?key=k"
    settings = DashboardSettings.from_env({"TELEMETRY_MAP_TILES": tiles})
    assert settings.map_tiles_origin == "https://tiles.example.org:8443"
    for tiled, style in ((build_bundle(CATALOG, "smartcity", DUCKDB, URI, tiles=tiles), tiles), (bundle(), TILES)):
        charts = {k: v for k, v in files(tiled).items() if k.startswith("charts/")}
        styles = {k: c["params"]["mapbox_style"] for k, c in charts.items() if c["viz_type"] == "deck_geojson"}
        assert len(styles) == 3 and set(styles.values()) == {style}, styles


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

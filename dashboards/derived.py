"""Derived datasets: SQL over the lake's tables for what one table cannot say on its own.

The map's GeoJSON features (the route's named places, each vehicle's track and latest position), the
latest state of each vehicle, incident and camera, and the pipeline's health across every table. Each
is a query both DuckDB and Athena run; the few functions they spell differently come from the dialect.
The SQL reads the lake's tables by their schema-qualified names, so it runs on the DuckDB views and on
the Glue tables alike.

With DuckDB each derived dataset's query is a view (``dashboard_<key>``, :func:`dashboard_views_sql`) in the
file the dashboards read, beside the lake's views, and the dataset selects from it. Superset parses a virtual
dataset's SQL with sqlglot several times for every chart query, in Python: for the fleet map's 7,000
characters of GeoJSON building that was half of its answer time (docs/benchmarks.md, "Dashboards: where the
time goes"); DuckDB parses a view in microseconds. Athena has no such file: there the datasets hold their SQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from core.catalog import Catalog
from core.data_rules import stream_rules
from core.sql import quote_literal
from dashboards.basemap_sql import basemap_view_sql, place_rows
from dashboards.datasets import Dataset, DatasetColumn
from dashboards.dialects import DUCKDB, SqlDialect
from dashboards.fleet import MAP_COLUMNS, FleetStatus, feature_sql, fleet_map, vehicle_latest
from dashboards.journey import journey, journey_incidents, journey_map, journey_weather

__all__ = ["VIEW_PREFIX", "DashboardView", "dashboard_views", "dashboard_views_sql", "derived_datasets"]

_TS = "TIMESTAMP WITH TIME ZONE"
INCIDENT_COLOR = "'[213,94,0,255]'"
RULE_VIOLATION = "rule-violation"
"""The quarantine reason code of a record that breaks a data rule: ``rule-violation: <rule>``."""
ACTIVE_STATUSES = ("REPORTED", "DISPATCHED", "ON_SCENE")
"""Incident statuses that mean the incident is still going on (RESOLVED ends it; UNKNOWN is not counted)."""


RECENT_LANDED = "ingested_at >= current_timestamp - INTERVAL '1' HOUR"
"""Rows the streaming job wrote in the last hour (pipeline health is about when rows land, not when they happened)."""


def incident_latest(schema: str, d: SqlDialect) -> Dataset:
    """One row per incident, at its latest status, with whether it is still active."""
    active = ", ".join(quote_literal(s) for s in ACTIVE_STATUSES)
    sql = f"""SELECT incident_id,
    max_by(incident_type, event_time) AS incident_type,
    max_by(status, event_time) AS status,
    max_by(status, event_time) IN ({active}) AS active,
    min(event_time) AS first_reported,
    max(event_time) AS last_update,
    max_by(vehicle_id, event_time) AS vehicle_id,
    upper(substr(max_by(vehicle_id, event_time), 1, 6)) AS vehicle,
    max_by({d.column("location", "latitude")}, event_time) AS latitude,
    max_by({d.column("location", "longitude")}, event_time) AS longitude,
    max_by(description, event_time) AS description
FROM {d.table(schema, "emergency")}
GROUP BY incident_id"""
    columns = (
        DatasetColumn("incident_id", "VARCHAR", "The incident.", label="Incident"),
        DatasetColumn("incident_type", "VARCHAR", "Its type (accident, fire, medical...).", label="Type"),
        DatasetColumn("status", "VARCHAR", "Its latest status.", label="Status"),
        DatasetColumn(
            "active", "BOOLEAN", f"Whether its latest status is one of {', '.join(ACTIVE_STATUSES)}.", label="Active"
        ),
        DatasetColumn("first_reported", _TS, "Event time of its first report, UTC.", label="First reported (UTC)"),
        DatasetColumn("last_update", _TS, "Event time of its latest report, UTC.", label="Last update (UTC)"),
        DatasetColumn("vehicle_id", "VARCHAR", "The vehicle that reported it last."),
        DatasetColumn(
            "vehicle", "VARCHAR", "The first six characters of that vehicle's id (its short id).", label="Vehicle"
        ),
        DatasetColumn("latitude", "DOUBLE", "Latitude of its latest report.", label="Latitude"),
        DatasetColumn("longitude", "DOUBLE", "Longitude of its latest report.", label="Longitude"),
        DatasetColumn("description", "VARCHAR", "Its latest description.", label="Description"),
    )
    return Dataset("incident_latest", "Each incident at its latest status.", columns, "last_update", schema, sql)


def incident_map(schema: str, d: SqlDialect) -> Dataset:
    """Map features: the named places and each active incident, labelled with its type and status."""
    latest = incident_latest(schema, d).sql
    label = "incident_type || ' (' || status || ')'"
    point = "'[' || CAST(longitude AS VARCHAR) || ',' || CAST(latitude AS VARCHAR) || ']'"
    tooltip = {"incident": "incident_type", "status": "status", "description": "description"}
    feature = feature_sql("Point", point, label, INCIDENT_COLOR, tooltip)
    sql = f"""WITH incidents AS (
{latest}
)
{place_rows(schema, d)}
UNION ALL
SELECT 'incident' AS layer, incident_type AS label, {feature} AS feature FROM incidents WHERE active"""
    return Dataset("incident_map", "Active incidents on the basemap as GeoJSON.", MAP_COLUMNS, None, schema, sql)


def _snapshot_html(d: SqlDialect) -> str:
    """SQL: the snapshot as an image 240 px wide (pixels kept crisp), a link to the full image around it."""
    uri = f"'data:' || media_type || ';base64,' || {d.base64(d.column('snapshot'))}"
    return (
        f'\'<a href="\' || {uri} || \'" target="_blank" title="open full size"><img alt="snapshot" '
        f'width="240" style="image-rendering: pixelated" src="\' || {uri} || \'"/></a>\''
    )


def incident_summary(schema: str, d: SqlDialect) -> Dataset:
    """One row: how many incidents are active, as a sentence (saying so when there is none)."""
    sql = f"""SELECT CASE WHEN active = 0 THEN 'No active incidents: nothing is going on, so the map shows none.'
    WHEN active = 1 THEN '1 active incident, in orange on the map.'
    ELSE CAST(active AS VARCHAR) || ' active incidents, in orange on the map.' END AS summary,
    active
FROM (SELECT count(*) AS active FROM ({incident_latest(schema, d).sql}) AS incidents WHERE active) AS counted"""
    columns = (
        DatasetColumn("summary", "VARCHAR", "The number of active incidents, as a sentence.", label="Right now"),
        DatasetColumn("active", "BIGINT", "Incidents whose latest status is active.", label="Active"),
    )
    return Dataset("incident_summary", "How many incidents are going on.", columns, None, schema, sql)


def camera_latest(schema: str, d: SqlDialect) -> Dataset:
    """One row per camera: its latest snapshot as base64 PNG, where and when it was taken."""
    # The image is encoded once per camera, after the latest snapshot is chosen, not for every snapshot received.
    sql = f"""SELECT camera_id,
    taken_at,
    {d.base64(d.column("snapshot"))} AS snapshot_base64,
    {_snapshot_html(d)} AS snapshot,
    media_type,
    vehicle_id,
    upper(substr(vehicle_id, 1, 6)) AS vehicle,
    latitude,
    longitude,
    snapshots
FROM (
    SELECT camera_id,
        max(event_time) AS taken_at,
        max_by({d.column("snapshot")}, event_time) AS {d.column("snapshot")},
        max_by(media_type, event_time) AS media_type,
        max_by(vehicle_id, event_time) AS vehicle_id,
        max_by({d.column("location", "latitude")}, event_time) AS latitude,
        max_by({d.column("location", "longitude")}, event_time) AS longitude,
        count(*) AS snapshots
    FROM {d.table(schema, "traffic")}
    GROUP BY camera_id
) AS latest"""
    columns = (
        DatasetColumn("camera_id", "VARCHAR", "The traffic camera.", label="Camera"),
        DatasetColumn("taken_at", _TS, "Event time of its latest snapshot, UTC.", label="Taken (UTC)"),
        DatasetColumn("snapshot_base64", "VARCHAR", "Its latest snapshot, base64 (an image of media_type)."),
        DatasetColumn(
            "snapshot", "VARCHAR", "Its latest snapshot, shown large; click to open it full size.", label="Snapshot"
        ),
        DatasetColumn("media_type", "VARCHAR", "Media type of the snapshot (image/png)."),
        DatasetColumn("vehicle_id", "VARCHAR", "The vehicle that passed it last.", label="Vehicle id"),
        DatasetColumn("vehicle", "VARCHAR", "The first six characters of that vehicle's id.", label="Vehicle"),
        DatasetColumn("latitude", "DOUBLE", "Latitude of the camera.", label="Latitude"),
        DatasetColumn("longitude", "DOUBLE", "Longitude of the camera.", label="Longitude"),
        DatasetColumn("snapshots", "BIGINT", "Snapshots received from it.", label="Snapshots"),
    )
    return Dataset("camera_latest", "The latest snapshot of each camera.", columns, "taken_at", schema, sql)


def pipeline_rows(schema: str, d: SqlDialect, catalog: Catalog) -> Dataset:
    """Every landed row of every table: when it happened, was sent and was written, and by which schema."""
    selects = [
        f"SELECT {quote_literal(s.name)} AS table_name, event_time, kafka_timestamp, ingested_at, schema_id, "
        f"date_diff('millisecond', kafka_timestamp, ingested_at) AS latency_ms FROM {d.table(schema, s.name)}"
        for s in catalog.streams
    ]
    columns = (
        DatasetColumn("table_name", "VARCHAR", "The lake table the row landed in."),
        DatasetColumn("event_time", _TS, "When the event happened, UTC."),
        DatasetColumn("kafka_timestamp", _TS, "When the producer sent it (Kafka timestamp), UTC."),
        DatasetColumn("ingested_at", _TS, "When the streaming job wrote it, UTC."),
        DatasetColumn("schema_id", "INTEGER", "Registry id of its writer schema."),
        DatasetColumn("latency_ms", "BIGINT", "End-to-end latency: ingested_at minus kafka_timestamp, ms."),
    )
    return Dataset("pipeline_rows", "Rows landed in every table, with their end-to-end latency.", columns,
                   "ingested_at", schema, "\nUNION ALL\n".join(selects))  # fmt: skip


def quarantine_rows(schema: str, d: SqlDialect, catalog: Catalog) -> Dataset:
    """Every quarantined record of every table, with its reason and the reason's stable code."""
    selects = [
        f"SELECT {quote_literal(s.name)} AS table_name, split_part(reason, ':', 1) AS reason_code, reason, "
        f"CASE WHEN split_part(reason, ':', 1) = {quote_literal(RULE_VIOLATION)} THEN trim(split_part(reason, ':', 2)) "
        f"END AS rule, kafka_timestamp, ingested_at FROM {d.table(schema, s.name + '_quarantine')}"
        for s in catalog.streams
    ]
    columns = (
        DatasetColumn("table_name", "VARCHAR", "The table the record was meant for."),
        DatasetColumn("reason_code", "VARCHAR", "The reason's stable code (undecodable-body, unknown-schema-id...)."),
        DatasetColumn("reason", "VARCHAR", "Why the record was quarantined."),
        DatasetColumn(
            "rule", "VARCHAR", "The data rule the record breaks (reason rule-violation: <rule>), else empty."
        ),
        DatasetColumn("kafka_timestamp", _TS, "When the producer sent it (Kafka timestamp), UTC."),
        DatasetColumn("ingested_at", _TS, "When the streaming job quarantined it, UTC."),
    )
    return Dataset("quarantine_rows", "Quarantined records of every table, by reason.", columns, "ingested_at",
                   schema, "\nUNION ALL\n".join(selects))  # fmt: skip


def data_rules(schema: str, d: SqlDialect, catalog: Catalog) -> Dataset:
    """The data rules of every stream, as the schemas declare them (a table of literals: no lake read)."""
    rows = [
        f"({', '.join(quote_literal(v) for v in (stream, r.name, r.expr, r.doc, r.on_failure))})"
        for stream, rules in stream_rules(catalog).items()
        for r in rules
    ]
    values = ", ".join(rows) or "(NULL, NULL, NULL, NULL, NULL)"
    where = "" if rows else "\nWHERE false"
    sql = (
        "SELECT table_name, rule, expression, doc, on_failure\n"
        f"FROM (VALUES {values}) AS rules (table_name, rule, expression, doc, on_failure){where}"
    )
    columns = (
        DatasetColumn("table_name", "VARCHAR", "The table whose records the rule holds to."),
        DatasetColumn("rule", "VARCHAR", "The rule's name, as quarantine reasons give it."),
        DatasetColumn("expression", "VARCHAR", "The rule as a CEL expression over the record (message)."),
        DatasetColumn("doc", "VARCHAR", "What the rule means."),
        DatasetColumn(
            "on_failure", "VARCHAR", "ERROR: the producer refuses and the job quarantines; NONE: shown only."
        ),
    )
    return Dataset("data_rules", "The data rules of every stream (the contract).", columns, None, schema, sql)


_PER_SCHEMA: tuple[Callable[[str, SqlDialect], Dataset], ...] = (
    journey,
    journey_map,
    journey_weather,
    journey_incidents,
    incident_latest,
    incident_summary,
    incident_map,
    camera_latest,
)


VIEW_PREFIX = "dashboard_"
"""A derived dataset's view is ``<VIEW_PREFIX><key>`` (DuckDB), in the schema of the lake's views."""


def _queries(catalog: Catalog, schema: str, d: SqlDialect, status: FleetStatus) -> list[Dataset]:
    """Every derived dataset with its whole query."""
    fleet = [fleet_map(schema, d, status), vehicle_latest(schema, d, status)]
    health = [pipeline_rows(schema, d, catalog), quarantine_rows(schema, d, catalog), data_rules(schema, d, catalog)]
    return [*fleet, *(make(schema, d) for make in _PER_SCHEMA), *health]


def derived_datasets(catalog: Catalog, schema: str, d: SqlDialect, status: FleetStatus) -> list[Dataset]:
    """Every derived dataset, for the lake's tables in ``schema``: its query, or a select from its view."""
    datasets = _queries(catalog, schema, d, status)
    if not d.dataset_views:
        return datasets
    return [dataclasses.replace(s, sql=f"SELECT * FROM {d.table(schema, VIEW_PREFIX + s.key)}") for s in datasets]


@dataclass(frozen=True)
class DashboardView:
    """A derived dataset's view (DuckDB): its qualified name, its columns (name, DuckDB type) and its query."""

    name: str
    columns: tuple[tuple[str, str], ...]
    query: str

    @property
    def sql(self) -> str:
        """The statement that makes the view."""
        return f"CREATE OR REPLACE VIEW {self.name} AS {self.query}"

    def failing_sql(self, why: str) -> str:
        """A view with the same columns whose every read fails with ``why`` (when the query does not bind)."""
        message = quote_literal(f"{self.name} cannot be read: {why}")
        columns = ", ".join(f"CAST(NULL AS {kind}) AS {DUCKDB.column(name)}" for name, kind in self.columns)
        return f"CREATE OR REPLACE VIEW {self.name} AS SELECT {columns} WHERE CAST(error({message}) AS BOOLEAN)"


def dashboard_views(catalog: Catalog, schema: str, status: FleetStatus) -> list[DashboardView]:
    """The derived datasets' views (DuckDB), for the lake's views in ``schema``.

    ``status`` must be the one the dashboards' bundle was built with: the fleet's views hold its thresholds.
    """
    views = []
    for dataset in _queries(catalog, schema, DUCKDB, status):
        columns = tuple((c.name, c.type) for c in dataset.columns)
        views.append(DashboardView(DUCKDB.table(schema, VIEW_PREFIX + dataset.key), columns, dataset.sql or ""))
    return views


def dashboard_views_sql(catalog: Catalog, schema: str, status: FleetStatus) -> list[str]:
    """The statements making the views the dashboards read beside the lake's (DuckDB): basemap, derived datasets."""
    return [basemap_view_sql(schema), *(v.sql for v in dashboard_views(catalog, schema, status))]

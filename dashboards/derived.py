"""Derived datasets: SQL over the lake's tables for what one table cannot say on its own.

The map's GeoJSON features (the route's named places, each vehicle's track and latest position), the
latest state of each vehicle, incident and camera, and the pipeline's health across every table. Each
is a query both DuckDB and Athena run; the few functions they spell differently come from the dialect.
The SQL reads the lake's tables by their schema-qualified names, so it runs on the DuckDB views and on
the Glue tables alike.
"""

from __future__ import annotations

from collections.abc import Callable

from core.catalog import Catalog
from core.data_rules import stream_rules
from core.places import PLACES, place_title
from core.sql import quote_literal
from dashboards.datasets import Dataset, DatasetColumn
from dashboards.dialects import SqlDialect

__all__ = ["derived_datasets"]

_TS = "TIMESTAMP WITH TIME ZONE"
PLACE_COLOR = "[70,70,70,255]"
TRACK_COLOR = "[30,110,200,255]"
VEHICLE_COLOR = "[220,40,40,255]"
INCIDENT_COLOR = "[235,140,0,255]"
RULE_VIOLATION = "rule-violation"
"""The quarantine reason code of a record that breaks a data rule: ``rule-violation: <rule>``."""
ACTIVE_STATUSES = ("REPORTED", "DISPATCHED", "ON_SCENE")
"""Incident statuses that mean the incident is still going on (RESOLVED ends it; UNKNOWN is not counted)."""


def _json_text(expression: str) -> str:
    """A text expression made safe inside a JSON string (backslashes and quotes escaped)."""
    return f"replace(replace({expression}, '\\', '\\\\'), '\"', '\\\"')"


def _point(lat: str, lon: str) -> str:
    return f"'[' || CAST({lon} AS VARCHAR) || ',' || CAST({lat} AS VARCHAR) || ']'"


def _feature(geometry_type: str, coordinates: str, label: str, color_key: str, color: str) -> str:
    """SQL building one GeoJSON Feature as text: a geometry and the properties the map's layer reads."""
    return (
        f'\'{{"type":"Feature","geometry":{{"type":"{geometry_type}","coordinates":\' || {coordinates} || '
        f'\'}},"properties":{{"name":"\' || {_json_text(label)} || \'","{color_key}":{color}}}}}\''
    )


def _places_sql() -> str:
    rows = ", ".join(f"({quote_literal(place_title(n))}, {lat}, {lon})" for n, (lat, lon) in PLACES.items())
    feature = _feature("Point", _point("lat", "lon"), "name", "fillColor", PLACE_COLOR)
    return (
        f"SELECT 'place' AS layer, name AS label, {feature} AS feature\nFROM (VALUES {rows}) AS places (name, lat, lon)"
    )


_MAP_COLUMNS = (
    DatasetColumn("layer", "VARCHAR", "What the feature shows: place, track, vehicle or incident."),
    DatasetColumn("label", "VARCHAR", "The place's name, the vehicle's id or the incident's type."),
    DatasetColumn("feature", "VARCHAR", "The feature as GeoJSON (a Point or a LineString, WGS84)."),
)


RECENT_SENT = "kafka_timestamp >= current_timestamp - INTERVAL '1' HOUR"
"""Reports sent in the last hour, by the producer's clock (event times may be simulated ahead of it)."""
RECENT_LANDED = "ingested_at >= current_timestamp - INTERVAL '1' HOUR"
"""Rows the streaming job wrote in the last hour."""


def fleet_map(schema: str, d: SqlDialect) -> Dataset:
    """Map features: the named places, each vehicle's latest position and its track over the last hour's reports."""
    vehicle = d.table(schema, "vehicle")
    lat, lon = d.column("location", "latitude"), d.column("location", "longitude")
    track = _feature("LineString", f"'[' || {d.ordered_join(_point('lat', 'lon'), 'seen_at')} || ']'", "''",
                     "strokeColor", TRACK_COLOR)  # fmt: skip
    latest = _feature("Point", _point("lat", "lon"), "substr(vehicle_id, 1, 8)", "fillColor", VEHICLE_COLOR)
    sql = f"""WITH positions AS (
    SELECT vehicle_id, event_time, kafka_timestamp, {lat} AS lat, {lon} AS lon FROM {vehicle}
), minutes AS (
    SELECT vehicle_id, max(event_time) AS seen_at, max_by(lat, event_time) AS lat, max_by(lon, event_time) AS lon
    FROM positions WHERE {RECENT_SENT} GROUP BY vehicle_id, date_trunc('minute', event_time)
), latest AS (
    SELECT vehicle_id, max_by(lat, event_time) AS lat, max_by(lon, event_time) AS lon FROM positions GROUP BY vehicle_id
)
{_places_sql()}
UNION ALL
SELECT 'track' AS layer, vehicle_id AS label, {track} AS feature FROM minutes GROUP BY vehicle_id HAVING count(*) > 1
UNION ALL
SELECT 'vehicle' AS layer, vehicle_id AS label, {latest} AS feature FROM latest"""
    return Dataset("fleet_map", "The fleet on a map: named places, latest positions and the last hour's tracks.",
                   _MAP_COLUMNS, None, schema, sql)  # fmt: skip


def vehicle_latest(schema: str, d: SqlDialect) -> Dataset:
    """One row per vehicle: where it was last, how fast, and when it last reported."""
    sql = f"""SELECT vehicle_id,
    max(event_time) AS last_seen,
    max(kafka_timestamp) AS last_report,
    max_by({d.column("location", "latitude")}, event_time) AS latitude,
    max_by({d.column("location", "longitude")}, event_time) AS longitude,
    max_by(speed_kmh, event_time) AS speed_kmh,
    max_by(direction_deg, event_time) AS direction_deg,
    max_by(make, event_time) AS make,
    max_by(model, event_time) AS model,
    count(*) AS events
FROM {d.table(schema, "vehicle")}
GROUP BY vehicle_id"""
    columns = (
        DatasetColumn("vehicle_id", "VARCHAR", "The vehicle."),
        DatasetColumn("last_seen", _TS, "Event time of its latest report, UTC."),
        DatasetColumn("last_report", _TS, "When its latest report was sent (Kafka timestamp), UTC."),
        DatasetColumn("latitude", "DOUBLE", "Latitude of its latest position."),
        DatasetColumn("longitude", "DOUBLE", "Longitude of its latest position."),
        DatasetColumn("speed_kmh", "DOUBLE", "Speed at its latest report, km/h."),
        DatasetColumn("direction_deg", "DOUBLE", "Heading at its latest report, degrees from north."),
        DatasetColumn("make", "VARCHAR", "Manufacturer."),
        DatasetColumn("model", "VARCHAR", "Model."),
        DatasetColumn("events", "BIGINT", "Reports received from it."),
    )
    return Dataset("vehicle_latest", "The latest state of each vehicle.", columns, "last_seen", schema, sql)


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
    max_by({d.column("location", "latitude")}, event_time) AS latitude,
    max_by({d.column("location", "longitude")}, event_time) AS longitude,
    max_by(description, event_time) AS description
FROM {d.table(schema, "emergency")}
GROUP BY incident_id"""
    columns = (
        DatasetColumn("incident_id", "VARCHAR", "The incident."),
        DatasetColumn("incident_type", "VARCHAR", "Its type (accident, fire, medical...)."),
        DatasetColumn("status", "VARCHAR", "Its latest status."),
        DatasetColumn("active", "BOOLEAN", f"Whether its latest status is one of {', '.join(ACTIVE_STATUSES)}."),
        DatasetColumn("first_reported", _TS, "Event time of its first report, UTC."),
        DatasetColumn("last_update", _TS, "Event time of its latest report, UTC."),
        DatasetColumn("vehicle_id", "VARCHAR", "The vehicle that reported it last."),
        DatasetColumn("latitude", "DOUBLE", "Latitude of its latest report."),
        DatasetColumn("longitude", "DOUBLE", "Longitude of its latest report."),
        DatasetColumn("description", "VARCHAR", "Its latest description."),
    )
    return Dataset("incident_latest", "Each incident at its latest status.", columns, "last_update", schema, sql)


def incident_map(schema: str, d: SqlDialect) -> Dataset:
    """Map features: the named places and each active incident, labelled with its type and status."""
    latest = incident_latest(schema, d).sql
    label = "incident_type || ' (' || status || ')'"
    feature = _feature("Point", _point("latitude", "longitude"), label, "fillColor", INCIDENT_COLOR)
    sql = f"""WITH incidents AS (
{latest}
)
{_places_sql()}
UNION ALL
SELECT 'incident' AS layer, incident_type AS label, {feature} AS feature FROM incidents WHERE active"""
    return Dataset("incident_map", "Active incidents and the named places as GeoJSON.", _MAP_COLUMNS, None, schema, sql)


def camera_latest(schema: str, d: SqlDialect) -> Dataset:
    """One row per camera: its latest snapshot as base64 PNG, where and when it was taken."""
    sql = f"""SELECT camera_id,
    max(event_time) AS taken_at,
    max_by({d.base64(d.column("snapshot"))}, event_time) AS snapshot_base64,
    max_by('<img alt="snapshot" src="data:' || media_type || ';base64,' || {d.base64(d.column("snapshot"))} || '"/>',
           event_time) AS snapshot_html,
    max_by(media_type, event_time) AS media_type,
    max_by(vehicle_id, event_time) AS vehicle_id,
    max_by({d.column("location", "latitude")}, event_time) AS latitude,
    max_by({d.column("location", "longitude")}, event_time) AS longitude,
    count(*) AS snapshots
FROM {d.table(schema, "traffic")}
GROUP BY camera_id"""
    columns = (
        DatasetColumn("camera_id", "VARCHAR", "The traffic camera."),
        DatasetColumn("taken_at", _TS, "Event time of its latest snapshot, UTC."),
        DatasetColumn("snapshot_base64", "VARCHAR", "Its latest snapshot, base64 (an image of media_type)."),
        DatasetColumn("snapshot_html", "VARCHAR", "Its latest snapshot as an HTML image (a data: URI)."),
        DatasetColumn("media_type", "VARCHAR", "Media type of the snapshot (image/png)."),
        DatasetColumn("vehicle_id", "VARCHAR", "The vehicle that passed it last."),
        DatasetColumn("latitude", "DOUBLE", "Latitude of the camera."),
        DatasetColumn("longitude", "DOUBLE", "Longitude of the camera."),
        DatasetColumn("snapshots", "BIGINT", "Snapshots received from it."),
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
    fleet_map,
    vehicle_latest,
    incident_latest,
    incident_map,
    camera_latest,
)


def derived_datasets(catalog: Catalog, schema: str, d: SqlDialect) -> list[Dataset]:
    """Every derived dataset, for the lake's tables in ``schema``."""
    return [*(make(schema, d) for make in _PER_SCHEMA), pipeline_rows(schema, d, catalog),
            quarantine_rows(schema, d, catalog), data_rules(schema, d, catalog)]  # fmt: skip

"""One vehicle's journey: its track coloured by speed, its speed, the weather and the incidents along its route.

Every dataset here has a ``vehicle`` column (make, model and short id, as the fleet dashboard names it),
so one native filter picks the vehicle for all of them. The map's dataset takes that filter and the time range
inside its query, so the basemap's rows (no vehicle, no time) stay (:attr:`Dataset.filtered_inside`).
"""

from __future__ import annotations

import json

from dashboards.basemap_sql import place_rows
from dashboards.datasets import Dataset, DatasetColumn
from dashboards.dialects import SqlDialect
from dashboards.fleet import MAP_COLUMNS, MAP_VEHICLE_COLUMN, VEHICLE_COLUMN, feature_sql, vehicle_name

__all__ = ["SPEED_BANDS", "journey", "journey_incidents", "journey_map", "journey_weather"]

_TS = "TIMESTAMP WITH TIME ZONE"
SPEED_BANDS = (
    (30, "under 30 km/h", (68, 1, 84)),
    (60, "30-60 km/h", (59, 82, 139)),
    (90, "60-90 km/h", (33, 145, 140)),
    (120, "90-120 km/h", (94, 201, 98)),
    (None, "120 km/h and over", (253, 231, 37)),
)
"""(upper bound, name, colour) of each speed band of the journey map: viridis, dark slow to yellow fast."""


def _names(schema: str, d: SqlDialect) -> str:
    """SQL: each vehicle id with its name."""
    name = vehicle_name("vehicle_id", "max_by(make, event_time)", "max_by(model, event_time)")
    return f"SELECT vehicle_id, {name} AS vehicle FROM {d.table(schema, 'vehicle')} GROUP BY vehicle_id"


def journey(schema: str, d: SqlDialect) -> Dataset:
    """One row per vehicle report with what an operator looks at along a journey (event time, speed, place)."""
    sql = f"""SELECT {vehicle_name("vehicle_id", "make", "model")} AS vehicle,
    event_time,
    speed_kmh,
    {d.column("location", "latitude")} AS latitude,
    {d.column("location", "longitude")} AS longitude
FROM {d.table(schema, "vehicle")}"""
    columns = (
        VEHICLE_COLUMN,
        DatasetColumn("event_time", _TS, "When the report happened, UTC.", label="Time (UTC)"),
        DatasetColumn("speed_kmh", "DOUBLE", "Speed, km/h.", label="Speed (km/h)"),
        DatasetColumn("latitude", "DOUBLE", "Latitude.", label="Latitude"),
        DatasetColumn("longitude", "DOUBLE", "Longitude.", label="Longitude"),
    )
    return Dataset("journey", "Every report of every vehicle, by name, for a journey's charts.", columns,
                   "event_time", schema, sql)  # fmt: skip


def _band_color() -> str:
    cases = " ".join(
        f"WHEN speed < {bound} THEN '{json.dumps([*rgb, 255], separators=(',', ':'))}'"
        for bound, _, rgb in SPEED_BANDS
        if bound is not None
    )
    last = json.dumps([*SPEED_BANDS[-1][2], 255], separators=(",", ":"))
    return f"CASE {cases} ELSE '{last}' END"


def journey_map(schema: str, d: SqlDialect) -> Dataset:
    """Map features per vehicle: the basemap and its track, a segment a minute coloured by speed."""
    lat, lon = d.column("location", "latitude"), d.column("location", "longitude")
    point = "'[' || CAST({1} AS VARCHAR) || ',' || CAST({0} AS VARCHAR) || ']'"
    segment = f"'[' || {point.format('lat0', 'lon0')} || ',' || {point.format('lat', 'lon')} || ']'"
    # No time in the tooltip: a timestamp as text follows the session's time zone, which differs between clients.
    tooltip = {"vehicle": "vehicle", "speed": "CAST(CAST(round(speed) AS BIGINT) AS VARCHAR) || ' km/h'"}
    feature = feature_sql("LineString", segment, "''", _band_color(), tooltip)
    # One pass over the table: each minute keeps its last make and model, and the vehicle's name is that of its last
    # minute (a window over the minutes), as ``_names`` gives it from every report.
    latest = "max_by({}, seen) OVER (PARTITION BY vehicle_id)"
    name = vehicle_name("vehicle_id", latest.format("make"), latest.format("model"))
    sql = f"""WITH minutes AS (
    SELECT vehicle_id, date_trunc('minute', event_time) AS minute, max_by({lat}, event_time) AS lat,
        max_by({lon}, event_time) AS lon, avg(speed_kmh) AS speed, max(event_time) AS seen,
        max_by(make, event_time) AS make, max_by(model, event_time) AS model
    FROM {d.table(schema, "vehicle")} GROUP BY vehicle_id, date_trunc('minute', event_time)
), named AS (
    SELECT vehicle_id, minute, lat, lon, speed, {name} AS vehicle
    FROM minutes
), segments AS (
    SELECT vehicle, minute, lat, lon, speed,
        lag(lat) OVER (PARTITION BY vehicle_id ORDER BY minute) AS lat0,
        lag(lon) OVER (PARTITION BY vehicle_id ORDER BY minute) AS lon0
    FROM named
), basemap AS (
{place_rows(schema, d)}
)
SELECT CAST(NULL AS VARCHAR) AS vehicle, CAST(NULL AS {_TS}) AS minute, layer, label, feature FROM basemap
UNION ALL
SELECT vehicle, minute, 'track' AS layer, '' AS label, {feature} AS feature FROM segments WHERE lat0 IS NOT NULL"""
    minute = DatasetColumn("minute", _TS, "The minute of event time a track segment ends in, UTC (empty for the "
                           "basemap).", label="Minute (UTC)")  # fmt: skip
    return Dataset("journey_map", "Each vehicle's track by speed, a segment a minute, with the basemap.",
                   (MAP_VEHICLE_COLUMN, minute, *MAP_COLUMNS), None, schema, sql,
                   filtered_inside=("vehicle", "minute"))  # fmt: skip


def journey_weather(schema: str, d: SqlDialect) -> Dataset:
    """The weather each vehicle reported along its route, by vehicle name."""
    sql = f"""SELECT names.vehicle, w.event_time, w.temperature_c, w.precipitation_mm, w.air_quality_index
FROM {d.table(schema, "weather")} AS w JOIN ({_names(schema, d)}) AS names ON w.vehicle_id = names.vehicle_id"""
    columns = (
        VEHICLE_COLUMN,
        DatasetColumn("event_time", _TS, "When the observation happened, UTC.", label="Time (UTC)"),
        DatasetColumn("temperature_c", "DOUBLE", "Air temperature, °C.", label="Temperature (°C)"),
        DatasetColumn("precipitation_mm", "DOUBLE", "Precipitation, mm.", label="Precipitation (mm)"),
        DatasetColumn("air_quality_index", "INTEGER", "Air quality index (0-500, higher is worse).", label="AQI"),
    )
    return Dataset("journey_weather", "The weather along each vehicle's route.", columns, "event_time", schema, sql)


def journey_incidents(schema: str, d: SqlDialect) -> Dataset:
    """The incidents each vehicle reported along its route, one row per report."""
    sql = f"""SELECT names.vehicle, e.event_time, e.incident_type, e.status, e.description
FROM {d.table(schema, "emergency")} AS e JOIN ({_names(schema, d)}) AS names ON e.vehicle_id = names.vehicle_id"""
    columns = (
        VEHICLE_COLUMN,
        DatasetColumn("event_time", _TS, "When the report happened, UTC.", label="Time (UTC)"),
        DatasetColumn("incident_type", "VARCHAR", "The incident's type.", label="Type"),
        DatasetColumn("status", "VARCHAR", "The status reported.", label="Status"),
        DatasetColumn("description", "VARCHAR", "What happened.", label="Description"),
    )
    return Dataset("journey_incidents", "The incidents along each vehicle's route.", columns, "event_time", schema,
                   sql)  # fmt: skip

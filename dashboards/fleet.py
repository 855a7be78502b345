"""The fleet as an operator reads it: each vehicle's status and last report, the map's features, a journey.

A vehicle is *silent* when its latest report (event time) is older than ``silent_after_s``, else
*moving* at ``moving_kmh`` or more, else *idle* (:class:`FleetStatus`, set by ``TELEMETRY_FLEET_*``).
Vehicles are named for people: make, model and the first six characters of their id. Every time here
is event time; an age is measured against the query's ``current_timestamp``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dashboards.basemap_sql import place_rows, town_points
from dashboards.datasets import Dataset, DatasetColumn
from dashboards.dialects import SqlDialect
from dashboards.maplayer import label_clashes

__all__ = [
    "MAP_COLUMNS",
    "MAP_VEHICLE_COLUMN",
    "STATUS_COLORS",
    "TRACK_COLORS",
    "VEHICLE_COLUMN",
    "FleetStatus",
    "feature_sql",
    "fleet_map",
    "vehicle_latest",
    "vehicle_name",
]

_TS = "TIMESTAMP WITH TIME ZONE"
STATUS_COLORS = {"moving": (0, 158, 115), "idle": (230, 159, 0), "silent": (120, 120, 120)}
"""Marker colour per status: green, orange, grey (told apart by people with the common colour blindness)."""
TRACK_COLORS = ((31, 119, 180), (148, 103, 189), (86, 180, 233), (204, 121, 167), (0, 114, 178), (140, 86, 75))
"""Track colour per vehicle, in the order of their ids: none is a status colour."""
_ARROWS = "↑↗→↘↓↙←↖"


@dataclass(frozen=True)
class FleetStatus:
    """When a vehicle counts as moving or silent.

    Attributes:
        moving_kmh: at or above this speed at its latest report, a vehicle is moving (else idle).
        silent_after_s: a vehicle whose latest report is older than this many seconds is silent.
    """

    moving_kmh: int = 5
    silent_after_s: int = 120


def _age_text(age: str) -> str:
    """SQL: an age in whole seconds as people say it (``45 s ago``, ``2 min ago``, ``3 h ago``)."""
    return (
        f"CASE WHEN {age} < 0 THEN 'ahead of the clock' WHEN {age} < 60 THEN CAST({age} AS VARCHAR) || ' s ago' "
        f"WHEN {age} < 3600 THEN CAST(CAST(floor({age} / 60) AS BIGINT) AS VARCHAR) || ' min ago' "
        f"WHEN {age} < 86400 THEN CAST(CAST(floor({age} / 3600) AS BIGINT) AS VARCHAR) || ' h ago' "
        f"ELSE CAST(CAST(floor({age} / 86400) AS BIGINT) AS VARCHAR) || ' d ago' END"
    )


def _sector(degrees: str) -> str:
    """SQL: which of the eight compass sectors (0 north, 1 north-east...) a heading falls in."""
    shifted = f"({degrees} + 22.5)"
    return f"CAST(floor(({shifted} - floor({shifted} / 360) * 360) / 45) AS INTEGER)"


def vehicle_name(vehicle_id: str, make: str, model: str) -> str:
    """SQL: a vehicle's name for people, ``Ford Transit 1A2B3C``."""
    return f"{make} || ' ' || {model} || ' ' || upper(substr({vehicle_id}, 1, 6))"


def _latest_sql(schema: str, d: SqlDialect, status: FleetStatus) -> str:
    return f"""WITH latest AS (
    SELECT vehicle_id,
        max(event_time) AS last_seen,
        max_by({d.column("location", "latitude")}, event_time) AS latitude,
        max_by({d.column("location", "longitude")}, event_time) AS longitude,
        max_by(speed_kmh, event_time) AS speed_kmh,
        max_by(direction_deg, event_time) AS direction_deg,
        max_by(make, event_time) AS make,
        max_by(model, event_time) AS model,
        count(*) AS events
    FROM {d.table(schema, "vehicle")}
    GROUP BY vehicle_id
), aged AS (
    SELECT *, date_diff('second', last_seen, current_timestamp) AS age_s FROM latest
)
SELECT vehicle_id,
    {vehicle_name("vehicle_id", "make", "model")} AS vehicle,
    CASE WHEN age_s > {status.silent_after_s} THEN 'silent'
         WHEN speed_kmh >= {status.moving_kmh} THEN 'moving' ELSE 'idle' END AS status,
    last_seen,
    {_age_text("age_s")} AS last_seen_ago,
    age_s,
    age_s > {status.silent_after_s} AS stale,
    speed_kmh,
    direction_deg,
    substr('{_ARROWS}', {_sector("direction_deg")} + 1, 1) AS heading,
    latitude,
    longitude,
    make,
    model,
    events
FROM aged"""


def vehicle_latest(schema: str, d: SqlDialect, status: FleetStatus) -> Dataset:
    """One row per vehicle: its status, where it was last, how fast, and how long ago it reported."""
    columns = (
        DatasetColumn("vehicle_id", "VARCHAR", "The vehicle's id.", label="Vehicle id"),
        VEHICLE_COLUMN,
        DatasetColumn(
            "status",
            "VARCHAR",
            f"moving (at least {status.moving_kmh} km/h), idle, or silent (no "
            f"report for more than {status.silent_after_s} s).",
            label="Status",
        ),
        DatasetColumn("last_seen", _TS, "Event time of its latest report, UTC.", label="Last report (UTC)"),
        DatasetColumn("last_seen_ago", "VARCHAR", "How long ago its latest report happened.", label="Last report"),
        DatasetColumn("age_s", "BIGINT", "Seconds since its latest report.", label="Seconds since last report"),
        DatasetColumn("stale", "BOOLEAN", f"No report for more than {status.silent_after_s} s.", label="Stale"),
        DatasetColumn("speed_kmh", "DOUBLE", "Speed at its latest report, km/h.", label="Speed (km/h)"),
        DatasetColumn(
            "direction_deg", "DOUBLE", "Heading at its latest report, degrees from north.", label="Heading (°)"
        ),
        DatasetColumn("heading", "VARCHAR", "Heading as an arrow (north up).", label="Heading"),
        DatasetColumn("latitude", "DOUBLE", "Latitude of its latest position.", label="Latitude"),
        DatasetColumn("longitude", "DOUBLE", "Longitude of its latest position.", label="Longitude"),
        DatasetColumn("make", "VARCHAR", "Manufacturer.", label="Make"),
        DatasetColumn("model", "VARCHAR", "Model.", label="Model"),
        DatasetColumn("events", "BIGINT", "Reports received from it.", label="Reports"),
    )
    return Dataset("vehicle_latest", "The latest state of each vehicle, with its status.", columns, "last_seen",
                   schema, _latest_sql(schema, d, status))  # fmt: skip


def _rgba(color: tuple[int, int, int]) -> str:
    return json.dumps([*color, 255], separators=(",", ":"))


def _point(lat: str, lon: str) -> str:
    return f"'[' || CAST({lon} AS VARCHAR) || ',' || CAST({lat} AS VARCHAR) || ']'"


def _json_text(expression: str) -> str:
    """A text expression made safe inside a JSON string (backslashes and quotes escaped)."""
    return f"replace(replace({expression}, '\\', '\\\\'), '\"', '\\\"')"


def _text(expression: str) -> str:
    """SQL: an expression as text, empty rather than NULL (a NULL would void the whole feature)."""
    return f"coalesce(CAST({expression} AS VARCHAR), '')"


def feature_sql(
    geometry: str,
    coordinates: str,
    label: str,
    color: str,
    tooltip: dict[str, str] | None = None,
    properties: dict[str, str] | None = None,
) -> str:
    """SQL building one GeoJSON Feature as text: geometry, label (``name``), colour, tooltip rows.

    ``properties`` are more properties, each an SQL expression giving its JSON text (see :mod:`dashboards.maplayer`).
    """
    more = "".join(f"',\"{k}\":' || {v} || " for k, v in (properties or {}).items())
    extra = ""
    if tooltip:
        pairs = " || ',' || ".join(f"'\"{k}\":\"' || {_json_text(_text(v))} || '\"'" for k, v in tooltip.items())
        extra = f"',\"extraProps\":{{' || {pairs} || '}}' || "
    return (
        f'\'{{"type":"Feature","geometry":{{"type":"{geometry}","coordinates":\' || {coordinates} || '
        f'\'}},"properties":{{"name":"\' || {_json_text(label)} || \'","fillColor":\' || {color} || '
        f"',\"strokeColor\":' || {color} || {more}'}}' || {extra}'}}'"
    )


def _status_color() -> str:
    cases = " ".join(f"WHEN '{s}' THEN '{_rgba(c)}'" for s, c in STATUS_COLORS.items())
    return f"CASE status {cases} END"


def _track_color() -> str:
    cases = " ".join(f"WHEN {i} THEN '{_rgba(c)}'" for i, c in enumerate(TRACK_COLORS))
    return f"CASE (dense_rank() OVER (ORDER BY vehicle_id) - 1) % {len(TRACK_COLORS)} {cases} END"


VEHICLE_COLUMN = DatasetColumn(
    "vehicle", "VARCHAR", "Make, model and the first six characters of its id.", label="Vehicle"
)
"""A vehicle's name for people (:func:`vehicle_name`), the column every vehicle filter and cross-filter is on."""
MAP_VEHICLE_COLUMN = DatasetColumn(
    "vehicle", "VARCHAR", "The vehicle the feature belongs to (empty for the basemap).", label="Vehicle"
)
"""A vehicle map's ``vehicle``: filters on it keep the basemap (:attr:`Dataset.filtered_inside`)."""
MAP_COLUMNS = (
    DatasetColumn("layer", "VARCHAR", "What the feature shows: land, town, track, vehicle or incident.", label="Layer"),
    DatasetColumn("label", "VARCHAR", "The town's name, the vehicle's name or the incident's type.", label="Label"),
    DatasetColumn(
        "feature", "VARCHAR", "The feature as GeoJSON (a Point, LineString or Polygon, WGS84).", label="Feature"
    ),
)


ARROW_KM = 9.0
"""Half the length of a vehicle's arrow: about 13 px at the map's first zoom (Superset's maps size shapes in
metres; icons sized in pixels would need its JavaScript controls, which its content security policy blocks)."""
_ARROW = ((0.0, 1.0), (0.65, -0.8), (0.0, -0.35), (-0.65, -0.8), (0.0, 1.0))
"""The arrow's corners, (east, north) in units of ARROW_KM, pointing north."""


def _arrow(lat: str, lon: str, heading: str) -> str:
    """SQL: a closed ring of [lon,lat] pairs drawing an arrow at (lat, lon) pointing along ``heading``."""
    h = f"radians(coalesce({heading}, 0))"
    corners = []
    for x, y in _ARROW:
        east = f"({x} * cos({h}) + {y} * sin({h})) * {ARROW_KM}"
        north = f"({y} * cos({h}) - {x} * sin({h})) * {ARROW_KM}"
        corners.append(_point(f"({lat} + {north} / 111.32)", f"({lon} + {east} / (111.32 * cos(radians({lat}))))"))
    return "'[[' || " + " || ',' || ".join(corners) + " || ']]'"


def _cell() -> str:
    """Vehicles in one cell (about 37 km by 140 km) share one label: labels drawn over each other cannot be read."""
    return "round(latitude * 3), round(longitude * 0.5)"


def fleet_map(schema: str, d: SqlDialect, status: FleetStatus) -> Dataset:
    """Map features: the basemap, each vehicle's track over the last hour and its latest position by status."""
    vehicle = d.table(schema, "vehicle")
    lat, lon = d.column("location", "latitude"), d.column("location", "longitude")
    path = f"'[' || {d.ordered_join(_point('lat', 'lon'), 'seen_at')} || ']'"
    track = feature_sql("LineString", path, "''", "color")
    tooltip = {"vehicle": "vehicle", "make and model": "make || ' ' || model",
               "speed": "CAST(CAST(round(speed_kmh) AS BIGINT) AS VARCHAR) || ' km/h'", "status": "status",
               "last report": "last_seen_ago"}  # fmt: skip
    arrow = feature_sql("Polygon", _arrow("latitude", "longitude", "direction_deg"), "''", _status_color(), tooltip)
    label = (
        "CASE WHEN slot > 0 THEN '' WHEN together > 1 THEN vehicle || ' +' || CAST(together - 1 AS VARCHAR) "
        "|| ' more' ELSE vehicle END"
    )
    marker = feature_sql("Point", _point("latitude", "longitude"), "label", _status_color(), tooltip)
    clash = label_clashes(("towns.town", "towns.latitude", "towns.longitude"),
                          ("labels.label", "labels.latitude", "labels.longitude"))  # fmt: skip
    # A town whose label a vehicle's would cover keeps its dot and loses its label: the vehicle's is the news.
    unlabelled = 'replace(feature, \'"name":"\' || label || \'"\', \'"name":""\')'
    sql = f"""WITH minutes AS (
    SELECT vehicle_id, max(event_time) AS seen_at, max_by({lat}, event_time) AS lat, max_by({lon}, event_time) AS lon
    FROM {vehicle} WHERE event_time >= current_timestamp - INTERVAL '1' HOUR
    GROUP BY vehicle_id, date_trunc('minute', event_time)
), tracks AS (
    SELECT vehicle_id, {track} AS feature
    FROM (SELECT m.*, {_track_color()} AS color FROM minutes AS m) AS colored
    GROUP BY vehicle_id, color HAVING count(*) > 1
), latest AS (
{_latest_sql(schema, d, status)}
), labels AS (
    SELECT *, {label} AS label
    FROM (SELECT *, row_number() OVER (PARTITION BY {_cell()} ORDER BY vehicle) - 1 AS slot,
                 count(*) OVER (PARTITION BY {_cell()}) AS together
          FROM latest) AS placed
), covered AS (
    SELECT DISTINCT towns.town FROM ({town_points()}) AS towns JOIN labels ON labels.label <> '' AND {clash}
)
SELECT CAST(NULL AS VARCHAR) AS vehicle, layer, label,
    CASE WHEN layer = 'town' AND label IN (SELECT town FROM covered) THEN {unlabelled} ELSE feature END AS feature
FROM ({place_rows(schema, d)}) AS basemap
UNION ALL
SELECT latest.vehicle, 'track' AS layer, tracks.vehicle_id AS label, tracks.feature
FROM tracks JOIN latest ON tracks.vehicle_id = latest.vehicle_id
UNION ALL
SELECT vehicle, 'vehicle' AS layer, vehicle AS label, {arrow} AS feature FROM latest
UNION ALL
SELECT vehicle, 'vehicle' AS layer, vehicle AS label, {marker} AS feature FROM labels"""
    return Dataset("fleet_map", "The fleet on a map: basemap, the last hour's tracks and latest positions by status.",
                   (MAP_VEHICLE_COLUMN, *MAP_COLUMNS), None, schema, sql, filtered_inside=("vehicle",))  # fmt: skip

"""The five dashboards and their charts: fleet, incidents, conditions, cameras and pipeline health.

Each dashboard refreshes itself every :data:`REFRESH_SECONDS`. Charts name dataset columns only; the
contract tests hold those names to the datasets, and the datasets to the lake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.places import PLACES
from dashboards.charts import TILES, Chart, Metric
from dashboards.datasets import Dataset, stable_uuid
from dashboards.derived import ACTIVE_STATUSES, RECENT_LANDED, RECENT_SENT, RULE_VIOLATION
from dashboards.dialects import SqlDialect

__all__ = ["REFRESH_SECONDS", "Dashboard", "dashboards"]

REFRESH_SECONDS = 10
COUNT = Metric("rows", "COUNT(*)")


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: its title, slug and rows of charts (each row's widths add up to at most 12)."""

    key: str
    title: str
    description: str
    rows: tuple[tuple[Chart, ...], ...]

    @property
    def uuid(self) -> str:
        """Its stable uuid."""
        return stable_uuid("dashboard", self.key)

    @property
    def charts(self) -> tuple[Chart, ...]:
        """Its charts, row by row."""
        return tuple(c for row in self.rows for c in row)


def _map_settings(label_size: int = 14) -> dict[str, Any]:
    lats = [lat for lat, _ in PLACES.values()]
    lons = [lon for _, lon in PLACES.values()]
    return {
        "geojson": "feature",
        "filled": True,
        "stroked": True,
        "extruded": False,
        "point_radius_scale": 120,
        "line_width": 3,
        "line_width_unit": "pixels",
        "fill_color_picker": {"r": 220, "g": 40, "b": 40, "a": 1},
        "stroke_color_picker": {"r": 30, "g": 110, "b": 200, "a": 1},
        "enable_labels": True,
        "label_property_name": "name",
        "label_size": label_size,
        "label_size_unit": "pixels",
        "label_color": {"r": 20, "g": 20, "b": 20, "a": 1},
        "mapbox_style": TILES,
        "autozoom": False,
        "viewport": {
            "latitude": (min(lats) + max(lats)) / 2,
            "longitude": (min(lons) + max(lons)) / 2,
            "zoom": 6.3,
            "bearing": 0,
            "pitch": 0,
        },
    }


def _line(key: str, title: str, ds: Dataset, metric: Metric, description: str, **kw: Any) -> Chart:
    settings: Mapping[str, Any] = {
        "show_legend": True,
        "rich_tooltip": True,
        "x_axis_time_format": "%H:%M",
        "markerEnabled": True,
        "markerSize": 3,
    }
    return Chart(
        key,
        title,
        "echarts_timeseries_line",
        ds,
        description,
        x_axis=kw.pop("x_axis", "event_time"),
        time_grain=kw.pop("time_grain", "PT1M"),
        metrics=(metric,),
        settings=settings,
        **kw,
    )


def _fleet(ds: Mapping[str, Dataset]) -> Dashboard:
    recent = "last_report >= current_timestamp - INTERVAL '1' MINUTE"
    return Dashboard(
        "fleet",
        "Fleet, live",
        "Where each vehicle is, where it went, and how fast.",
        (
            (
                Chart(
                    "fleet-map",
                    "Fleet map: latest positions, tracks and places",
                    "deck_geojson",
                    ds["fleet_map"],
                    "Each vehicle's latest position (red, labelled), its track (blue, a point a minute) and the "
                    "route's named places (grey, labelled).",
                    columns=("layer", "label", "feature"),
                    settings=_map_settings(),
                    width=8,
                    height=90,
                ),
                Chart(
                    "vehicles-last-minute",
                    "Vehicles reporting in the last minute",
                    "big_number_total",
                    ds["vehicle_latest"],
                    "Vehicles whose latest report was sent less than a minute ago.",
                    metrics=(Metric("vehicles", "COUNT(*)"),),
                    where=recent,
                    width=4,
                    height=25,
                    settings={"subheader": "sent a report in the last minute", "y_axis_format": "SMART_NUMBER"},
                ),
            ),
            (
                _line(
                    "speed-over-time",
                    "Speed over time per vehicle, last hour",
                    ds["vehicle"],
                    Metric("avg speed km/h", "AVG(speed_kmh)"),
                    "Average speed per minute of event time, per vehicle, over the reports sent in the last hour.",
                    groupby=("vehicle_id",),
                    where=RECENT_SENT,
                    width=6,
                ),
                Chart(
                    "latest-positions",
                    "Latest position of each vehicle",
                    "table",
                    ds["vehicle_latest"],
                    "Each vehicle's latest report: where, how fast, and when it was sent.",
                    columns=(
                        "vehicle_id",
                        "last_report",
                        "last_seen",
                        "latitude",
                        "longitude",
                        "speed_kmh",
                        "make",
                        "model",
                    ),
                    order_by=(("last_report", False),),
                    width=6,
                ),
            ),
        ),
    )


def _incidents(ds: Mapping[str, Dataset]) -> Dashboard:
    return Dashboard(
        "incidents",
        "Incidents",
        "Emergencies reported by the fleet, and the ones still going on.",
        (
            (
                Chart(
                    "incident-map",
                    "Active incidents",
                    "deck_geojson",
                    ds["incident_map"],
                    f"Incidents whose latest status is {', '.join(ACTIVE_STATUSES)} (orange, labelled with type and "
                    "status), with the named places.",
                    columns=("layer", "label", "feature"),
                    settings=_map_settings(),
                    width=6,
                    height=70,
                ),
                Chart(
                    "incidents-latest",
                    "Latest incidents",
                    "table",
                    ds["incident_latest"],
                    "Every incident at its latest status, newest first.",
                    columns=("last_update", "incident_type", "status", "active", "vehicle_id", "description"),
                    order_by=(("last_update", False),),
                    row_limit=100,
                    width=6,
                    height=70,
                ),
            ),
            (
                Chart(
                    "incidents-by-type",
                    "Emergency reports by type over time",
                    "echarts_timeseries_bar",
                    ds["emergency"],
                    "Emergency reports per minute of event time, by incident type.",
                    x_axis="event_time",
                    time_grain="PT1M",
                    groupby=("incident_type",),
                    metrics=(COUNT,),
                    settings={"stack": True, "show_legend": True},
                ),
                Chart(
                    "incidents-by-status",
                    "Emergency reports by status over time",
                    "echarts_timeseries_bar",
                    ds["emergency"],
                    "Emergency reports per minute of event time, by the status they report.",
                    x_axis="event_time",
                    time_grain="PT1M",
                    groupby=("status",),
                    metrics=(COUNT,),
                    settings={"stack": True, "show_legend": True},
                ),
            ),
        ),
    )


def _conditions(ds: Mapping[str, Dataset]) -> Dashboard:
    weather = ds["weather"]
    return Dashboard(
        "conditions",
        "Conditions",
        "Weather along the route, as the vehicles report it.",
        (
            (
                _line(
                    "temperature",
                    "Temperature along the route",
                    weather,
                    Metric("avg temperature °C", "AVG(temperature_c)"),
                    "Average temperature the fleet reports, per minute.",
                ),
                _line(
                    "precipitation",
                    "Precipitation along the route",
                    weather,
                    Metric("avg precipitation mm", "AVG(precipitation_mm)"),
                    "Average precipitation the fleet reports, per minute.",
                ),
            ),
            (
                _line(
                    "air-quality",
                    "Air quality along the route",
                    weather,
                    Metric("max AQI", "MAX(air_quality_index)"),
                    "Highest air quality index the fleet reports, per minute.",
                ),
                Chart(
                    "conditions-now",
                    "Weather by condition",
                    "table",
                    weather,
                    "Observations per weather condition, with average temperature and wind.",
                    groupby=("condition",),
                    metrics=(
                        COUNT,
                        Metric("avg temperature °C", "AVG(temperature_c)"),
                        Metric("avg wind km/h", "AVG(wind_speed_kmh)"),
                    ),
                    order_by=(("rows", False),),
                ),
            ),
        ),
    )


def _cameras(ds: Mapping[str, Dataset]) -> Dashboard:
    cams = ds["camera_latest"]
    return Dashboard(
        "cameras",
        "Cameras",
        "The latest snapshot of each traffic camera the fleet passed.",
        (
            (
                Chart(
                    "camera-snapshots",
                    "Latest snapshot of each camera",
                    "table",
                    cams,
                    "Each camera's latest snapshot as the image it is (a PNG from the lake, shown inline).",
                    columns=("snapshot_html", "camera_id", "taken_at", "vehicle_id"),
                    order_by=(("taken_at", False),),
                    row_limit=48,
                    settings={"allow_render_html": True, "page_length": 0},
                    width=8,
                    height=90,
                ),
                Chart(
                    "camera-list",
                    "Cameras",
                    "table",
                    cams,
                    "Snapshots received per camera, and where it is.",
                    columns=("camera_id", "taken_at", "snapshots", "latitude", "longitude"),
                    order_by=(("taken_at", False),),
                    width=4,
                    height=90,
                ),
            ),
        ),
    )


def _health(ds: Mapping[str, Dataset], d: SqlDialect) -> Dashboard:
    rows, quarantine = ds["pipeline_rows"], ds["quarantine_rows"]
    latency = (
        Metric("p50 latency ms", d.percentile("latency_ms", 0.5)),
        Metric("p95 latency ms", d.percentile("latency_ms", 0.95)),
        COUNT,
    )
    return Dashboard(
        "pipeline-health",
        "Pipeline health",
        "What the streaming job lands, rejects and how fast.",
        (
            (
                _line(
                    "rows-per-minute",
                    "Rows landed per table per minute, last hour",
                    rows,
                    COUNT,
                    "Rows written per minute of ingestion time, per table, over the last hour.",
                    x_axis="ingested_at",
                    groupby=("table_name",),
                    where=RECENT_LANDED,
                ),
                Chart(
                    "quarantine-by-reason",
                    "Quarantined records by reason",
                    "table",
                    quarantine,
                    "Records sent to the quarantine, per table and reason code.",
                    groupby=("table_name", "reason_code"),
                    metrics=(COUNT,),
                    order_by=(("rows", False),),
                ),
            ),
            (
                Chart(
                    "latency",
                    "End-to-end latency per table, last hour",
                    "table",
                    rows,
                    "ingested_at minus kafka_timestamp (the producer's send time): median and 95th percentile, ms, "
                    "of the rows written in the last hour.",
                    groupby=("table_name",),
                    where=RECENT_LANDED,
                    metrics=latency,
                    order_by=(("rows", False),),
                ),
                Chart(
                    "rule-violations",
                    "Data rule violations per rule",
                    "table",
                    quarantine,
                    "Records quarantined because they break a data rule of their writer schema, per table and rule.",
                    groupby=("table_name", "rule"),
                    metrics=(COUNT, Metric("last seen", "MAX(ingested_at)")),
                    where=f"reason_code = '{RULE_VIOLATION}'",
                    order_by=(("rows", False),),
                ),
            ),
            (
                Chart(
                    "schema-versions",
                    "Schema versions seen per table",
                    "table",
                    rows,
                    "Rows per table and writer schema id, with when each id was first and last written.",
                    groupby=("table_name", "schema_id"),
                    metrics=(
                        COUNT,
                        Metric("first written", "MIN(ingested_at)"),
                        Metric("last written", "MAX(ingested_at)"),
                    ),
                    order_by=(("rows", False),),
                ),
            ),
            (
                Chart(
                    "data-rules",
                    "Data rules (the contract)",
                    "table",
                    ds["data_rules"],
                    "The rules each table's records must keep, from the schemas: the producer refuses a record that "
                    "breaks one, the job quarantines it as rule-violation: <rule>.",
                    columns=("table_name", "rule", "expression", "doc", "on_failure"),
                    row_limit=500,
                    width=12,
                    height=70,
                ),
            ),
        ),
    )


def dashboards(datasets: Mapping[str, Dataset], d: SqlDialect) -> list[Dashboard]:
    """The five dashboards over ``datasets`` (by key)."""
    return [_fleet(datasets), _incidents(datasets), _conditions(datasets), _cameras(datasets),
            _health(datasets, d)]  # fmt: skip

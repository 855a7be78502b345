"""The five dashboards and their charts: fleet, incidents, conditions, cameras and pipeline health.

Each dashboard refreshes itself every :data:`REFRESH_SECONDS`. Charts name dataset columns only; the
contract tests hold those names to the datasets, and the datasets to the lake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboards.charts import Chart, Metric
from dashboards.datasets import Dataset, stable_uuid
from dashboards.derived import ACTIVE_STATUSES, RECENT_LANDED, RULE_VIOLATION
from dashboards.dialects import SqlDialect
from dashboards.fleet import FleetStatus
from dashboards.maplayer import map_settings

__all__ = ["REFRESH_SECONDS", "Dashboard", "Filter", "dashboards"]

REFRESH_SECONDS = 10
COUNT = Metric("rows", "COUNT(*)")
TIME_ZONE = "UTC"
"""Every time on the dashboards is UTC, 24-hour, and says so."""
_COUNT_FORMAT = ",d"
_TABLE = {"color_pn": False, "show_cell_bars": False, "table_timestamp_format": "%Y-%m-%d %H:%M:%S",
          "include_search": False, "allow_render_html": False}  # fmt: skip
"""Tables: no red/green on signed numbers (coordinates are not gains and losses), no bars, 24-hour UTC times."""


@dataclass(frozen=True)
class Filter:
    """A native filter of a dashboard: the time range (event time), or a choice of values of a column.

    Attributes:
        key: stable name (its id derives from it).
        name: what the filter bar calls it.
        column: the column chosen from (a value filter), or empty for the time range.
        dataset: where the choices come from (a value filter).
        default: the time range at first (a time filter).
        excluded: keys of the dashboard's charts the filter does not apply to.
    """

    key: str
    name: str
    column: str = ""
    dataset: Dataset | None = None
    default: str = ""
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: its title, slug and rows of charts (each row's widths add up to at most 12)."""

    key: str
    title: str
    description: str
    rows: tuple[tuple[Chart, ...], ...]
    filters: tuple[Filter, ...] = ()

    @property
    def uuid(self) -> str:
        """Its stable uuid."""
        return stable_uuid("dashboard", self.key)

    @property
    def charts(self) -> tuple[Chart, ...]:
        """Its charts, row by row."""
        return tuple(c for row in self.rows for c in row)


def _line(key: str, title: str, ds: Dataset, metric: Metric, description: str, **kw: Any) -> Chart:
    settings: Mapping[str, Any] = {
        "show_legend": True,
        "legendType": "plain",  # every series on the legend: no "1/3" pages
        "rich_tooltip": True,
        "x_axis_time_format": "%H:%M",
        "tooltipTimeFormat": "%Y-%m-%d %H:%M",
        "x_axis_title": kw.pop("x_title", f"event time ({TIME_ZONE})"),
        "x_axis_title_margin": 15,
        "y_axis_title": kw.pop("y_title", metric.label),
        "y_axis_title_margin": 40,
        "y_axis_format": kw.pop("y_format", "SMART_NUMBER"),
        "markerEnabled": True,
        "markerSize": 3,
        # An empty minute is a gap (averages) or a zero (counts), never a line across it.
        "resample_rule": "1T",
        "resample_method": kw.pop("resample", "asfreq"),
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


LAST_DAY = 'DATEADD(DATETIME("now"), -1, day) : now'
"""The last 24 hours up to now (Superset's "Last day" is yesterday, which leaves today's data out)."""
LAST_3_HOURS = 'DATEADD(DATETIME("now"), -3, hour) : now'


def _time_filter(excluded: tuple[str, ...] = (), default: str = LAST_DAY) -> Filter:
    return Filter("time", f"Event time ({TIME_ZONE})", default=default, excluded=excluded)


def _status_number(key: str, title: str, ds: Dataset, where: str, subheader: str) -> Chart:
    return Chart(key, title, "big_number_total", ds, subheader[0].upper() + subheader[1:] + ".",
                 metrics=(Metric("vehicles", "COUNT(*)"),), where=where, width=3, height=20,
                 settings={"subheader": subheader, "y_axis_format": _COUNT_FORMAT,
                           "header_font_size": 0.4, "subheader_font_size": 0.15})  # fmt: skip


def _fleet(ds: Mapping[str, Dataset], status: FleetStatus) -> Dashboard:
    latest = ds["vehicle_latest"]
    numbers = (
        _status_number("fleet-moving", "Moving", latest, "status = 'moving'",
                       f"vehicles moving (at least {status.moving_kmh} km/h)"),
        _status_number("fleet-idle", "Idle", latest, "status = 'idle'",
                       f"vehicles reporting, below {status.moving_kmh} km/h"),
        _status_number("fleet-silent", "Silent", latest, "status = 'silent'",
                       f"vehicles silent: no report for over {status.silent_after_s} s"),
        _status_number("fleet-size", "Fleet", latest, "", "vehicles that ever reported"),
    )  # fmt: skip
    table = Chart(
        "latest-positions",
        "Vehicles: status and last report",
        "table",
        latest,
        "Each vehicle's latest report (event time): its status, how long ago, speed and heading. Click a vehicle to "
        "filter the speed chart to it.",
        groupby=("vehicle", "status", "last_seen_ago", "heading"),
        metrics=(Metric("Speed (km/h)", "MAX(speed_kmh)"),),
        order_by=(("Speed (km/h)", False),),
        width=4,
        height=90,
        settings=_TABLE | {"column_config": {"Speed (km/h)": {"d3NumberFormat": ",.0f"}}},
    )  # fmt: skip
    return Dashboard(
        "fleet",
        "Fleet, live",
        f"Where each vehicle is, what it is doing, and how fast. Times are event times, {TIME_ZONE}.",
        (
            numbers,
            (
                Chart(
                    "fleet-map",
                    "Fleet map, last hour: arrows green moving · orange idle · grey silent",
                    "deck_geojson",
                    ds["fleet_map"],
                    "Each vehicle's latest position as an arrow along its heading, coloured by status (green moving, "
                    "orange idle, grey silent); its track over the last hour of event time, one colour per vehicle; "
                    "land and towns from the basemap shipped with the project. Hover a vehicle for its details.",
                    columns=("layer", "label", "feature"),
                    settings=map_settings(),
                    width=8,
                    height=90,
                ),
                table,
            ),
            (
                _line(
                    "speed-over-time",
                    "Speed per vehicle (km/h)",
                    ds["journey"],
                    Metric("avg speed km/h", "AVG(speed_kmh)"),
                    "Average speed per minute of event time, per vehicle.",
                    groupby=("vehicle",),
                    y_title="speed (km/h)",
                    y_format=",.0f",
                    width=12,
                ),
            ),
        ),
        filters=(
            _time_filter(
                default=LAST_3_HOURS,
                excluded=("fleet-map", "fleet-moving", "fleet-idle", "fleet-silent", "fleet-size", "latest-positions"),
            ),
            Filter(
                "vehicle",
                "Vehicle",
                column="vehicle",
                dataset=latest,
                excluded=("fleet-map", "fleet-moving", "fleet-idle", "fleet-silent", "fleet-size"),
            ),
        ),
    )


def _bar(key: str, title: str, ds: Dataset, by: str, description: str) -> Chart:
    return Chart(key, title, "echarts_timeseries_bar", ds, description, x_axis="event_time", time_grain="PT1M",
                 groupby=(by,), metrics=(COUNT,),
                 settings={"stack": True, "show_legend": True, "legendType": "plain", "y_axis_format": _COUNT_FORMAT,
                           "x_axis_time_format": "%H:%M", "x_axis_title": f"event time ({TIME_ZONE})",
                           "x_axis_title_margin": 15, "y_axis_title": "reports per minute", "y_axis_title_margin": 40,
                           "resample_rule": "1T", "resample_method": "zerofill"})  # fmt: skip


def _incidents(ds: Mapping[str, Dataset]) -> Dashboard:
    return Dashboard(
        "incidents",
        "Incidents",
        f"Emergencies reported by the fleet, and the ones still going on. Times are event times, {TIME_ZONE}.",
        (
            (
                Chart(
                    "incidents-active",
                    "Active incidents now",
                    "table",
                    ds["incident_summary"],
                    "How many incidents are going on, in a sentence (none is a normal state, not a missing chart).",
                    columns=("summary",),
                    width=12,
                    height=22,
                    settings=_TABLE,
                ),
            ),
            (
                Chart(
                    "incident-map",
                    "Active incidents (orange) on the map",
                    "deck_geojson",
                    ds["incident_map"],
                    f"Incidents whose latest status is {', '.join(ACTIVE_STATUSES)}, labelled with type and status; "
                    "hover one for its description.",
                    columns=("layer", "label", "feature"),
                    settings=map_settings(),
                    width=6,
                    height=70,
                ),
                Chart(
                    "incidents-latest",
                    "Latest incidents",
                    "table",
                    ds["incident_latest"],
                    f"Every incident at its latest status, newest first ({TIME_ZONE}).",
                    columns=("last_update", "incident_type", "status", "active", "vehicle", "description"),
                    order_by=(("last_update", False),),
                    row_limit=100,
                    width=6,
                    height=70,
                    settings=_TABLE,
                ),
            ),
            (
                _bar(
                    "incidents-by-type",
                    "Emergency reports by type, per minute",
                    ds["emergency"],
                    "incident_type",
                    "Emergency reports per minute of event time, by incident type; a minute with none is 0.",
                ),
                _bar(
                    "incidents-by-status",
                    "Emergency reports by status, per minute",
                    ds["emergency"],
                    "status",
                    "Emergency reports per minute of event time, by the status they report; a minute with none is 0.",
                ),
            ),
        ),
        filters=(_time_filter(excluded=("incidents-active", "incident-map")),),
    )


def _conditions(ds: Mapping[str, Dataset]) -> Dashboard:
    weather = ds["weather"]
    return Dashboard(
        "conditions",
        "Conditions",
        f"Weather along the route, as the vehicles report it. Times are event times, {TIME_ZONE}.",
        (
            (
                _line(
                    "temperature",
                    "Temperature along the route (°C)",
                    weather,
                    Metric("avg temperature °C", "AVG(temperature_c)"),
                    "Average temperature the fleet reports, per minute of event time.",
                    y_title="temperature (°C)",
                    y_format=",.1f",
                ),
                _line(
                    "precipitation",
                    "Precipitation along the route (mm)",
                    weather,
                    Metric("avg precipitation mm", "AVG(precipitation_mm)"),
                    "Average precipitation the fleet reports, per minute of event time.",
                    y_title="precipitation (mm)",
                    y_format=",.1f",
                ),
            ),
            (
                _line(
                    "air-quality",
                    "Air quality along the route (AQI, 0-500: higher is worse)",
                    weather,
                    Metric("max AQI", "MAX(air_quality_index)"),
                    "Highest air quality index (US EPA scale: 0-50 good, 51-100 moderate, over 150 unhealthy) the "
                    "fleet reports, per minute of event time.",
                    y_title="AQI",
                    y_format=",d",
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
                    settings=_TABLE | {"column_config": {"rows": {"d3NumberFormat": _COUNT_FORMAT},
                                                         "avg temperature °C": {"d3NumberFormat": ",.1f"},
                                                         "avg wind km/h": {"d3NumberFormat": ",.0f"}}},
                ),
            ),
        ),
        filters=(_time_filter(),),
    )  # fmt: skip


def _cameras(ds: Mapping[str, Dataset]) -> Dashboard:
    cams = ds["camera_latest"]
    return Dashboard(
        "cameras",
        "Cameras",
        f"The latest snapshot of each traffic camera the fleet passed. Times are event times, {TIME_ZONE}.",
        (
            (
                Chart(
                    "camera-snapshots",
                    "Latest snapshot of each camera",
                    "table",
                    cams,
                    "Each camera's latest snapshot (a PNG from the lake), 240 px wide; click one to open it full size.",
                    columns=("snapshot", "camera_id", "taken_at", "vehicle"),
                    order_by=(("taken_at", False),),
                    row_limit=48,
                    settings=_TABLE | {"allow_render_html": True, "page_length": 0},
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
                    settings=_TABLE,
                ),
            ),
        ),
        filters=(_time_filter(),),
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
                    "Rows written per minute of ingestion time (when the job wrote them: this dashboard is about the "
                    "pipeline), per table, over the last hour; a minute with none is 0.",
                    x_axis="ingested_at",
                    groupby=("table_name",),
                    where=RECENT_LANDED,
                    x_title=f"ingestion time ({TIME_ZONE})",
                    y_title="rows per minute",
                    y_format=_COUNT_FORMAT,
                    resample="zerofill",
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
                    settings=_TABLE
                    | {
                        "column_config": {
                            "rows": {"d3NumberFormat": _COUNT_FORMAT},
                            "p50 latency ms": {"d3NumberFormat": ",.0f"},
                            "p95 latency ms": {"d3NumberFormat": ",.0f"},
                        }
                    },
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
                    settings=_TABLE
                    | {
                        "column_config": {
                            "rows": {"d3NumberFormat": _COUNT_FORMAT},
                            "p50 latency ms": {"d3NumberFormat": ",.0f"},
                            "p95 latency ms": {"d3NumberFormat": ",.0f"},
                        }
                    },
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
                    settings=_TABLE
                    | {
                        "column_config": {
                            "rows": {"d3NumberFormat": _COUNT_FORMAT},
                            "p50 latency ms": {"d3NumberFormat": ",.0f"},
                            "p95 latency ms": {"d3NumberFormat": ",.0f"},
                        }
                    },
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
                    settings=_TABLE
                    | {
                        "column_config": {
                            "rows": {"d3NumberFormat": _COUNT_FORMAT},
                            "p50 latency ms": {"d3NumberFormat": ",.0f"},
                            "p95 latency ms": {"d3NumberFormat": ",.0f"},
                        }
                    },
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
                    settings=_TABLE,
                    width=12,
                    height=70,
                ),
            ),
        ),
        filters=(Filter("time", f"Ingestion time ({TIME_ZONE})", default=LAST_DAY, excluded=("data-rules",)),),
    )


def dashboards(datasets: Mapping[str, Dataset], d: SqlDialect, status: FleetStatus) -> list[Dashboard]:
    """The dashboards over ``datasets`` (by key)."""
    return [_fleet(datasets, status), _incidents(datasets), _conditions(datasets), _cameras(datasets),
            _health(datasets, d)]  # fmt: skip

"""The dashboards: fleet and journey (:mod:`dashboards.fleet_boards`), incidents, conditions, cameras, pipeline.

Each dashboard refreshes itself every :data:`~dashboards.layout.REFRESH_SECONDS` (the fleet's live one every
:data:`~dashboards.layout.LIVE_REFRESH_SECONDS`), every chart at once. Charts name dataset columns
only; the contract tests hold those names to the datasets, and the datasets to the lake.
"""

from __future__ import annotations

from collections.abc import Mapping

from dashboards.charts import Chart, Metric
from dashboards.datasets import Dataset
from dashboards.derived import ACTIVE_STATUSES, RECENT_LANDED, RULE_VIOLATION
from dashboards.dialects import SqlDialect
from dashboards.fleet import FleetStatus
from dashboards.fleet_boards import fleet_board, journey_board
from dashboards.layout import COUNT, COUNT_FORMAT, LAST_DAY, TABLE, TIME_ZONE, Dashboard, Filter, bar, line, time_filter
from dashboards.maplayer import map_settings

__all__ = ["dashboards"]


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
                    settings=TABLE,
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
                    settings=TABLE,
                ),
            ),
            (
                bar(
                    "incidents-by-type",
                    "Emergency reports by type, per minute",
                    ds["emergency"],
                    "incident_type",
                    "Emergency reports per minute of event time, by incident type; a minute with none is 0.",
                ),
                bar(
                    "incidents-by-status",
                    "Emergency reports by status, per minute",
                    ds["emergency"],
                    "status",
                    "Emergency reports per minute of event time, by the status they report; a minute with none is 0.",
                ),
            ),
        ),
        filters=(time_filter(excluded=("incidents-active", "incident-map")),),
    )


def _conditions(ds: Mapping[str, Dataset]) -> Dashboard:
    weather = ds["weather"]
    return Dashboard(
        "conditions",
        "Conditions",
        f"Weather along the route, as the vehicles report it. Times are event times, {TIME_ZONE}.",
        (
            (
                line(
                    "temperature",
                    "Temperature along the route (°C)",
                    weather,
                    Metric("avg temperature °C", "AVG(temperature_c)"),
                    "Average temperature the fleet reports, per minute of event time.",
                    y_title="temperature (°C)",
                    y_format=",.1f",
                ),
                line(
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
                line(
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
                    settings=TABLE | {"column_config": {"rows": {"d3NumberFormat": COUNT_FORMAT},
                                                         "avg temperature °C": {"d3NumberFormat": ",.1f"},
                                                         "avg wind km/h": {"d3NumberFormat": ",.0f"}}},
                ),
            ),
        ),
        filters=(time_filter(),),
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
                    settings=TABLE | {"allow_render_html": True, "page_length": 0},
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
                    settings=TABLE,
                ),
            ),
        ),
        filters=(time_filter(),),
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
                line(
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
                    y_format=COUNT_FORMAT,
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
                    settings=TABLE
                    | {
                        "column_config": {
                            "rows": {"d3NumberFormat": COUNT_FORMAT},
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
                    settings=TABLE
                    | {
                        "column_config": {
                            "rows": {"d3NumberFormat": COUNT_FORMAT},
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
                    settings=TABLE
                    | {
                        "column_config": {
                            "rows": {"d3NumberFormat": COUNT_FORMAT},
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
                    settings=TABLE
                    | {
                        "column_config": {
                            "rows": {"d3NumberFormat": COUNT_FORMAT},
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
                    settings=TABLE,
                    width=12,
                    height=70,
                ),
            ),
        ),
        filters=(Filter("time", f"Ingestion time ({TIME_ZONE})", default=LAST_DAY, excluded=("data-rules",)),),
    )


def dashboards(datasets: Mapping[str, Dataset], d: SqlDialect, status: FleetStatus) -> list[Dashboard]:
    """The dashboards over ``datasets`` (by key)."""
    fleet = [fleet_board(datasets, status), journey_board(datasets)]
    return [*fleet, _incidents(datasets), _conditions(datasets), _cameras(datasets), _health(datasets, d)]

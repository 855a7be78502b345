"""The fleet operator's dashboards: the fleet live (status, map, vehicles, speed) and one vehicle's journey."""

from __future__ import annotations

from collections.abc import Mapping

from dashboards.charts import Chart, Metric
from dashboards.datasets import Dataset
from dashboards.fleet import FleetStatus
from dashboards.journey import SPEED_BANDS
from dashboards.layout import (
    COUNT_FORMAT,
    LAST_3_HOURS,
    LIVE_REFRESH_SECONDS,
    TABLE,
    TIME_ZONE,
    Dashboard,
    Filter,
    line,
    time_filter,
)
from dashboards.maplayer import map_settings

__all__ = ["MAP_ROW_LIMIT", "fleet_board", "journey_board"]

MAP_ROW_LIMIT = 50_000
"""Rows the journey map draws at most: about five weeks of one vehicle's minutes (10,080 a week) and the basemap;
Superset's own ceiling (``ROW_LIMIT`` in ``superset_config.py``) is the same."""


def _status_number(key: str, title: str, ds: Dataset, where: str, subheader: str) -> Chart:
    return Chart(key, title, "big_number_total", ds, subheader[0].upper() + subheader[1:] + ".",
                 metrics=(Metric("vehicles", "COUNT(*)"),), where=where, width=3, height=20,
                 settings={"subheader": subheader, "y_axis_format": COUNT_FORMAT,
                           "header_font_size": 0.4, "subheader_font_size": 0.15})  # fmt: skip


def fleet_board(ds: Mapping[str, Dataset], status: FleetStatus) -> Dashboard:
    """The fleet live: status counts, the map, each vehicle's last report, the fleet's speed per minute."""
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
        "show only it on the map and in the speed chart.",
        groupby=("vehicle", "status", "last_seen_ago", "heading"),
        metrics=(Metric("Speed (km/h)", "MAX(speed_kmh)"),),
        order_by=(("Speed (km/h)", False),),
        width=4,
        height=90,
        settings=TABLE | {"column_config": {"Speed (km/h)": {"d3NumberFormat": ",.0f"}}},
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
                    "land and towns from the basemap shipped with the project. Hover a vehicle for its details; "
                    "pick one in the filter bar or click it in the table to show only it.",
                    columns=("layer", "label", "feature"),
                    settings=map_settings(),
                    width=8,
                    height=90,
                ),
                table,
            ),
            (
                line(
                    "speed-over-time",
                    "Speed across the fleet (km/h): average and fastest",
                    ds["journey"],
                    (Metric("average km/h", "AVG(speed_kmh)"), Metric("fastest km/h", "MAX(speed_kmh)")),
                    "Per minute of event time, the average speed of the fleet's reports and the fastest one; click a "
                    "vehicle in the table to see its own.",
                    y_title="speed (km/h)",
                    y_format=",.0f",
                    width=12,
                ),
            ),
        ),
        filters=(
            time_filter(
                default=LAST_3_HOURS,
                excluded=("fleet-map", "fleet-moving", "fleet-idle", "fleet-silent", "fleet-size", "latest-positions"),
            ),
            Filter(
                "vehicle",
                "Vehicle",
                column="vehicle",
                dataset=latest,
                excluded=("fleet-moving", "fleet-idle", "fleet-silent", "fleet-size"),
            ),
        ),
        refresh_seconds=LIVE_REFRESH_SECONDS,
    )


def journey_board(ds: Mapping[str, Dataset]) -> Dashboard:
    """One vehicle (the filter's choice) over a time range: track by speed, speed, weather and incidents."""
    bands = ", ".join(name for _, name, _ in SPEED_BANDS)
    return Dashboard(
        "journey",
        "Journey",
        f"One vehicle's journey: pick it in the filter bar. Times are event times, {TIME_ZONE}.",
        (
            (
                Chart(
                    "journey-map",
                    "Track by speed over the time range (dark slow, yellow fast)",
                    "deck_geojson",
                    ds["journey_map"],
                    f"The vehicle's track, a segment a minute, coloured by its speed band ({bands}), over the time "
                    "range in the filter bar; hover a segment for its speed.",
                    columns=("layer", "label", "feature"),
                    settings=map_settings(),
                    row_limit=MAP_ROW_LIMIT,
                    width=7,
                    height=80,
                ),
                Chart(
                    "journey-incidents",
                    "Incidents it reported",
                    "table",
                    ds["journey_incidents"],
                    f"The incident reports the vehicle sent in the time range, newest first ({TIME_ZONE}).",
                    columns=("event_time", "incident_type", "status", "description"),
                    order_by=(("event_time", False),),
                    row_limit=200,
                    width=5,
                    height=80,
                    settings=TABLE,
                ),
            ),
            (
                line(
                    "journey-speed",
                    "Speed (km/h)",
                    ds["journey"],
                    Metric("avg speed km/h", "AVG(speed_kmh)"),
                    "The vehicle's average speed per minute.",
                    y_title="speed (km/h)",
                    y_format=",.0f",
                    width=4,
                ),
                line(
                    "journey-temperature",
                    "Temperature along its route (°C)",
                    ds["journey_weather"],
                    Metric("avg temperature °C", "AVG(temperature_c)"),
                    "The temperature it reported, per minute.",
                    y_title="temperature (°C)",
                    y_format=",.1f",
                    width=4,
                ),
                line(
                    "journey-precipitation",
                    "Precipitation along its route (mm)",
                    ds["journey_weather"],
                    Metric("avg precipitation mm", "AVG(precipitation_mm)"),
                    "The precipitation it reported, per minute.",
                    y_title="precipitation (mm)",
                    y_format=",.1f",
                    width=4,
                ),
            ),
        ),
        filters=(
            Filter("vehicle", "Vehicle", column="vehicle", dataset=ds["journey"], single=True),
            time_filter(default=LAST_3_HOURS),
        ),
    )

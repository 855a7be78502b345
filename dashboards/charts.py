"""Charts as data: what each chart asks of its dataset, and Superset's form data and query context for it.

A :class:`Chart` says its query in plain terms (a time axis and grain, group-by columns, metrics as SQL,
raw columns, a filter, an order, a row limit) plus the settings of its kind of chart. Superset's
``params`` (form data) and ``query_context`` are built from that here, and :mod:`dashboards.checks`
builds the same query as plain SQL, so a test can hold Superset's answer to DuckDB's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dashboards.datasets import Dataset, stable_uuid

__all__ = ["Chart", "Metric", "form_data", "query_context"]

TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
"""The maps' tile layer when no tile server is set (``TELEMETRY_MAP_TILES``): Superset's maps need one, but the pages'
content security policy lets them fetch tiles only from the server set, so without one none is fetched and the maps
draw their own layers (the basemap that ships with the project) on white."""


@dataclass(frozen=True)
class Metric:
    """An aggregate, as SQL over the dataset's columns, and its label."""

    label: str
    sql: str

    def adhoc(self) -> dict[str, Any]:
        """Superset's ad hoc metric."""
        return {"expressionType": "SQL", "sqlExpression": self.sql, "label": self.label, "hasCustomLabel": True,
                "optionName": f"metric_{self.label}"}  # fmt: skip


@dataclass(frozen=True)
class Chart:
    """One chart: its query and its kind's settings.

    Attributes:
        key: stable name (its uuid derives from it).
        title: the chart's name.
        viz: Superset's viz type (``echarts_timeseries_line``, ``table``, ``deck_geojson``...).
        dataset: what it reads.
        description: what it shows.
        x_axis: the time column of a time series.
        time_grain: ISO 8601 duration of the time buckets (``PT1M``).
        groupby: group-by columns (series of a time series, rows of an aggregate table).
        metrics: aggregates.
        columns: the columns of a raw (not aggregated) query.
        where: a SQL filter, or empty.
        order_by: (column or metric label, ascending) pairs.
        row_limit: at most this many rows.
        settings: the kind's own form data (map layers, templates, formats).
        width: columns of the dashboard's 12-column grid.
        height: height in grid units (8 px).
    """

    key: str
    title: str
    viz: str
    dataset: Dataset
    description: str
    x_axis: str | None = None
    time_grain: str | None = None
    groupby: tuple[str, ...] = ()
    metrics: tuple[Metric, ...] = ()
    columns: tuple[str, ...] = ()
    where: str = ""
    order_by: tuple[tuple[str, bool], ...] = ()
    row_limit: int = 10_000
    settings: Mapping[str, Any] = field(default_factory=dict)
    width: int = 6
    height: int = 50

    @property
    def uuid(self) -> str:
        """Its stable uuid."""
        return stable_uuid("chart", self.key)

    @property
    def raw(self) -> bool:
        """Whether it reads rows as they are (no aggregation)."""
        return bool(self.columns)

    @property
    def referenced_columns(self) -> tuple[str, ...]:
        """Every dataset column the chart names (the contract test holds them to the dataset)."""
        named = [*self.columns, *self.groupby, *([self.x_axis] if self.x_axis else [])]
        named += [c for c in (self.settings.get("geojson"),) if c]
        return tuple(dict.fromkeys(named))


def _filters(chart: Chart) -> list[dict[str, Any]]:
    if not chart.where:
        return []
    return [{"expressionType": "SQL", "clause": "WHERE", "sqlExpression": chart.where,
             "filterOptionName": f"filter_{chart.key}"}]  # fmt: skip


def _x_axis_column(chart: Chart) -> dict[str, Any]:
    return {"timeGrain": chart.time_grain, "columnType": "BASE_AXIS", "sqlExpression": chart.x_axis,
            "label": chart.x_axis, "expressionType": "SQL"}  # fmt: skip


def form_data(chart: Chart) -> dict[str, Any]:
    """The chart's ``params``: what Superset's explore view and dashboards read."""
    data: dict[str, Any] = {
        "viz_type": chart.viz,
        "adhoc_filters": _filters(chart),
        "row_limit": chart.row_limit,
        "time_range": "No filter",
    }
    if chart.raw:
        data |= {"query_mode": "raw", "all_columns": list(chart.columns),
                 "order_by_cols": [json.dumps([c, asc]) for c, asc in chart.order_by]}  # fmt: skip
    else:
        data |= {
            "query_mode": "aggregate",
            "groupby": list(chart.groupby),
            "metrics": [m.adhoc() for m in chart.metrics],
        }
        if chart.viz == "big_number_total":
            data["metric"] = chart.metrics[0].adhoc()
        if chart.order_by:
            data["timeseries_limit_metric"] = next(m.adhoc() for m in chart.metrics if m.label == chart.order_by[0][0])
            data["order_desc"] = not chart.order_by[0][1]
    if chart.x_axis:
        data |= {"x_axis": chart.x_axis, "time_grain_sqla": chart.time_grain, "granularity_sqla": chart.x_axis}
    return data | dict(chart.settings)


def _query(chart: Chart) -> dict[str, Any]:
    query: dict[str, Any] = {
        "filters": [],
        "extras": {"where": chart.where, "having": ""},
        "time_range": "No filter",
        "row_limit": chart.row_limit,
        "orderby": [[c, asc] for c, asc in chart.order_by],
        "annotation_layers": [],
        "applied_time_extras": {},
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
        "post_processing": [],
    }
    if chart.raw:
        return query | {"columns": list(chart.columns), "metrics": []}
    columns: list[Any] = [_x_axis_column(chart)] if chart.x_axis else []
    metrics = [m.adhoc() for m in chart.metrics]
    orderby = [[next(m for m in metrics if m["label"] == c), asc] for c, asc in chart.order_by]
    return query | {"columns": [*columns, *chart.groupby], "metrics": metrics, "orderby": orderby}


def query_context(chart: Chart) -> dict[str, Any]:
    """The chart's saved query context: what ``GET /api/v1/chart/<id>/data/`` runs.

    The dataset id is a placeholder here; Superset's importer puts in the imported dataset's id.
    """
    return {
        "datasource": {"id": 0, "type": "table"},
        "force": False,
        "queries": [_query(chart)],
        "form_data": form_data(chart),
        "result_format": "json",
        "result_type": "full",
    }

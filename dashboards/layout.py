"""The parts every dashboard is built of: dashboards, native filters, and charts in the house style.

House style: times are event times in UTC, 24-hour, and say so; counts are whole numbers; tables colour no
sign (coordinates are not gains and losses); time series leave a gap for a missing minute, or draw 0 where
a count is meant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboards.charts import Chart, Metric
from dashboards.datasets import Dataset, stable_uuid

__all__ = [
    "COUNT",
    "COUNT_FORMAT",
    "LAST_3_HOURS",
    "LAST_DAY",
    "LIVE_REFRESH_SECONDS",
    "REFRESH_SECONDS",
    "TABLE",
    "TIME_ZONE",
    "Dashboard",
    "Filter",
    "bar",
    "line",
    "time_filter",
]

REFRESH_SECONDS = 10
"""How often a dashboard reads the lake again, seconds after its last refresh finished (Superset waits for it)."""
LIVE_REFRESH_SECONDS = 5
"""The fleet's live dashboard refreshes sooner: a new position should be on the map within seconds of its batch."""
COUNT = Metric("rows", "COUNT(*)")
TIME_ZONE = "UTC"
"""Every time on the dashboards is UTC, 24-hour, and says so."""
COUNT_FORMAT = ",d"
TABLE = {"color_pn": False, "show_cell_bars": False, "table_timestamp_format": "%Y-%m-%d %H:%M:%S",
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
        single: one value at a time, the first one chosen at first, never none (a value filter).
    """

    key: str
    name: str
    column: str = ""
    dataset: Dataset | None = None
    default: str = ""
    excluded: tuple[str, ...] = ()
    single: bool = False


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: its title, slug, rows of charts (each row's widths add up to at most 12), filters, refresh."""

    key: str
    title: str
    description: str
    rows: tuple[tuple[Chart, ...], ...]
    filters: tuple[Filter, ...] = ()
    refresh_seconds: int = REFRESH_SECONDS

    @property
    def uuid(self) -> str:
        """Its stable uuid."""
        return stable_uuid("dashboard", self.key)

    @property
    def charts(self) -> tuple[Chart, ...]:
        """Its charts, row by row."""
        return tuple(c for row in self.rows for c in row)


def line(key: str, title: str, ds: Dataset, metric: Metric | tuple[Metric, ...], description: str, **kw: Any) -> Chart:
    """Time series of ``metric`` (one or more) per minute of event time; ``kw`` sets titles, format or Chart fields."""
    metrics = metric if isinstance(metric, tuple) else (metric,)
    settings: Mapping[str, Any] = {
        "show_legend": True,
        "legendType": "plain",  # every series on the legend: no "1/3" pages
        "rich_tooltip": True,
        "x_axis_time_format": "%H:%M",
        "tooltipTimeFormat": "%Y-%m-%d %H:%M",
        "x_axis_title": kw.pop("x_title", f"event time ({TIME_ZONE})"),
        "x_axis_title_margin": 15,
        "y_axis_title": kw.pop("y_title", metrics[0].label),
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
        metrics=metrics,
        settings=settings,
        **kw,
    )


LAST_DAY = 'DATEADD(DATETIME("now"), -1, day) : now'
"""The last 24 hours up to now (Superset's "Last day" is yesterday, which leaves today's data out)."""
LAST_3_HOURS = 'DATEADD(DATETIME("now"), -3, hour) : now'


def time_filter(excluded: tuple[str, ...] = (), default: str = LAST_DAY) -> Filter:
    """The time range filter on event time, applied to every chart but ``excluded``."""
    return Filter("time", f"Event time ({TIME_ZONE})", default=default, excluded=excluded)


def bar(key: str, title: str, ds: Dataset, by: str, description: str) -> Chart:
    """Reports per minute of event time, stacked by ``by``; a minute with none is 0."""
    return Chart(key, title, "echarts_timeseries_bar", ds, description, x_axis="event_time", time_grain="PT1M",
                 groupby=(by,), metrics=(COUNT,),
                 settings={"stack": True, "show_legend": True, "legendType": "plain", "y_axis_format": COUNT_FORMAT,
                           "x_axis_time_format": "%H:%M", "x_axis_title": f"event time ({TIME_ZONE})",
                           "x_axis_title_margin": 15, "y_axis_title": "reports per minute", "y_axis_title_margin": 40,
                           "resample_rule": "1T", "resample_method": "zerofill"})  # fmt: skip

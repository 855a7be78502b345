"""Each chart's query as plain SQL on the lake, built from the chart's definition, not by Superset.

For tests and benchmarks: the rows Superset's chart data API answers must equal what this SQL returns
on the same lake (:func:`check_sql`), and its run time is the chart's query time on a big lake.
"""

from __future__ import annotations

import duckdb

from core.catalog import Catalog
from dashboards.charts import Chart
from dashboards.datasets import Dataset
from dashboards.derived import dashboard_views_sql
from dashboards.dialects import SqlDialect
from dashboards.fleet import FleetStatus
from lakesql.engine import connect
from lakesql.settings import LakeSqlSettings

__all__ = ["GRAINS", "check_connection", "check_sql", "dataset_source"]

GRAINS = {"PT1S": "second", "PT1M": "minute", "PT1H": "hour", "P1D": "day"}
"""Superset's time grains, as ``date_trunc`` units."""


def check_connection(
    catalog: Catalog, settings: LakeSqlSettings, status: FleetStatus | None = None
) -> duckdb.DuckDBPyConnection:
    """DuckDB over the lake with the views Superset reads: the lake's tables (as ``make query``) and the dashboards'.

    ``status``: the fleet's thresholds the bundle was built with (the documented defaults when None).
    """
    con = connect(catalog, settings)
    for statement in dashboard_views_sql(catalog, settings.database, status or FleetStatus()):
        con.execute(statement)
    return con


def dataset_source(dataset: Dataset, d: SqlDialect) -> str:
    """The dataset as a subquery with every column by name (calculated columns computed)."""
    if dataset.sql is not None:
        return f"({dataset.sql})"
    columns = ", ".join(
        f"{c.expression} AS {d.column(c.name)}" if c.expression else d.column(c.name) for c in dataset.columns
    )
    return f"(SELECT {columns} FROM {d.table(dataset.schema, dataset.key)})"


def check_sql(chart: Chart, d: SqlDialect) -> str:
    """The chart's rows as one SQL query over its dataset."""
    where = f"\nWHERE {chart.where}" if chart.where else ""
    source = f"{dataset_source(chart.dataset, d)} AS t{where}"
    order = ", ".join(f"{d.column(c)} {'ASC' if asc else 'DESC'}" for c, asc in chart.order_by)
    order_by = f"\nORDER BY {order}" if order else ""
    if chart.raw:
        columns = ", ".join(d.column(c) for c in chart.columns)
        # Superset groups a query without metrics by its columns: equal rows come once.
        return f"SELECT DISTINCT {columns}\nFROM {source}{order_by}\nLIMIT {chart.row_limit}"
    keys = [d.column(c) for c in chart.groupby]
    if chart.x_axis:
        axis = d.column(chart.x_axis)
        keys.insert(0, f"date_trunc('{GRAINS[chart.time_grain or 'PT1M']}', {axis}) AS {axis}")
    metrics = [f"{m.sql} AS {d.column(m.label)}" for m in chart.metrics]
    group_by = f"\nGROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    return f"SELECT {', '.join([*keys, *metrics])}\nFROM {source}{group_by}{order_by}\nLIMIT {chart.row_limit}"

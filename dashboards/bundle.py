"""Superset's import bundle (a ZIP of YAML files), generated from the schemas and the catalog.

The bundle holds one database (the lake: DuckDB locally, Athena for a lake on S3), a dataset per lake
table and per derived query, the charts and the six dashboards, each with a stable uuid, so importing
it again updates everything in place. Nothing in it is clicked together by hand.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from core.catalog import Catalog
from core.tables import lake_tables
from dashboards.boards import dashboards
from dashboards.charts import Chart, form_data, query_context
from dashboards.datasets import Dataset, DatasetColumn, stable_uuid, superset_sql, table_dataset
from dashboards.derived import derived_datasets
from dashboards.dialects import SqlDialect
from dashboards.fleet import FleetStatus
from dashboards.layout import Dashboard, Filter

__all__ = ["DATABASE_NAME", "Bundle", "build_bundle"]

DATABASE_NAME = "Telemetry lake"
_VERSION = "1.0.0"


@dataclass(frozen=True)
class Bundle:
    """Everything the bundle holds, before it is written."""

    sqlalchemy_uri: str
    dialect: SqlDialect
    datasets: tuple[Dataset, ...]
    dashboards: tuple[Dashboard, ...]
    tiles: str = ""

    @property
    def charts(self) -> tuple[Chart, ...]:
        """Every chart of every dashboard."""
        return tuple(c for d in self.dashboards for c in d.charts)

    @property
    def database_uuid(self) -> str:
        """The lake database's uuid."""
        return stable_uuid("database", "lake")

    def zip_bytes(self) -> bytes:
        """The bundle as Superset's ``import-dashboards`` reads it."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in self._files().items():
                archive.writestr(f"telemetry_dashboards/{name}", yaml.safe_dump(content, sort_keys=False))
        return buffer.getvalue()

    def _files(self) -> dict[str, Any]:
        files: dict[str, Any] = {
            "metadata.yaml": {
                "version": _VERSION,
                "type": "Dashboard",
                "timestamp": datetime.now(UTC).isoformat(),
            },
            "databases/telemetry_lake.yaml": self._database(),
        }
        files |= {f"datasets/telemetry_lake/{d.key}.yaml": self._dataset(d) for d in self.datasets}
        files |= {f"charts/{c.key}.yaml": _chart(c, self.tiles) for c in self.charts}
        files |= {f"dashboards/{d.key}.yaml": _dashboard(d) for d in self.dashboards}
        return files

    def _database(self) -> dict[str, Any]:
        return {
            "database_name": DATABASE_NAME,
            "sqlalchemy_uri": self.sqlalchemy_uri,
            "cache_timeout": None,
            "expose_in_sqllab": True,
            "allow_run_async": False,
            "allow_ctas": False,
            "allow_cvas": False,
            "allow_dml": False,
            "allow_file_upload": False,
            "extra": {"allows_virtual_table_explore": True},
            "uuid": self.database_uuid,
            "version": _VERSION,
        }

    def _dataset(self, dataset: Dataset) -> dict[str, Any]:
        return {
            "table_name": dataset.key,
            "main_dttm_col": dataset.main_dttm_col,
            "description": dataset.description,
            "default_endpoint": None,
            "offset": 0,
            "cache_timeout": None,
            "catalog": None,
            "schema": dataset.schema if dataset.sql is None else None,
            "sql": superset_sql(dataset, self.dialect),
            "params": None,
            "template_params": None,
            "filter_select_enabled": True,
            "fetch_values_predicate": None,
            "extra": None,
            "normalize_columns": False,
            "always_filter_main_dttm": False,
            "uuid": dataset.uuid,
            "metrics": [
                {
                    "metric_name": "count",
                    "verbose_name": "COUNT(*)",
                    "metric_type": "count",
                    "expression": "COUNT(*)",
                    "description": "Rows.",
                    "d3format": None,
                    "currency": None,
                    "extra": None,
                    "warning_text": None,
                }
            ],
            "columns": [_column(c) for c in dataset.columns],
            "version": _VERSION,
            "database_uuid": self.database_uuid,
        }


def _column(column: DatasetColumn) -> dict[str, Any]:
    return {
        "column_name": column.name,
        "verbose_name": column.label or None,
        "is_dttm": column.is_dttm,
        "is_active": True,
        "type": column.type,
        "advanced_data_type": None,
        "groupby": True,
        "filterable": True,
        "expression": column.expression,
        "description": column.description,
        "python_date_format": None,
        "extra": None,
    }


def _chart(chart: Chart, tiles: str) -> dict[str, Any]:
    params = form_data(chart)
    if tiles and "mapbox_style" in params:
        params["mapbox_style"] = tiles
    return {
        "slice_name": chart.title,
        "description": chart.description,
        "certified_by": None,
        "certification_details": None,
        "viz_type": chart.viz,
        "params": params,
        "query_context": json.dumps(query_context(chart)),
        "cache_timeout": None,
        "uuid": chart.uuid,
        "version": _VERSION,
        "dataset_uuid": chart.dataset.uuid,
    }


def _chart_numbers(dashboard: Dashboard) -> dict[str, int]:
    """Each chart's number in the bundle's layout (Superset's importer maps them to the imported charts' ids)."""
    return {c.key: n for n, c in enumerate(dashboard.charts, start=1)}


def _outside_cross_filters(dashboard: Dashboard) -> list[int]:
    """The charts a click on another chart does not filter (their numbers).

    Those outside every filter of the dashboard (the fleet's status counts), and the maps that take no filter inside
    their query, whose basemap a filter outside would drop (see ``Dataset.filtered_inside``).
    """
    numbers = _chart_numbers(dashboard)
    outside = set.intersection(*(set(f.excluded) for f in dashboard.filters)) if dashboard.filters else set()
    return [
        numbers[c.key]
        for c in dashboard.charts
        if c.key in outside or (c.viz == "deck_geojson" and not c.dataset.filtered_inside)
    ]


def _native_filter(dashboard: Dashboard, f: Filter) -> dict[str, Any]:
    numbers = _chart_numbers(dashboard)
    common = {
        "id": f"NATIVE_FILTER-{stable_uuid('filter', f'{dashboard.key}:{f.key}')[:8]}",
        "name": f.name,
        "type": "NATIVE_FILTER",
        "description": "",
        "cascadeParentIds": [],
        "scope": {"rootPath": ["ROOT_ID"], "excluded": [numbers[k] for k in f.excluded]},
    }
    if not f.column:
        return common | {
            "filterType": "filter_time",
            "targets": [{}],
            "controlValues": {"enableEmptyFilter": False},
            "defaultDataMask": {"extraFormData": {"time_range": f.default}, "filterState": {"value": f.default}},
        }
    dataset_uuid = f.dataset.uuid if f.dataset is not None else ""
    return common | {
        "filterType": "filter_select",
        "targets": [{"datasetUuid": dataset_uuid, "column": {"name": f.column}}],
        "controlValues": {
            "enableEmptyFilter": f.single,  # a one-value filter always holds one ("filter value is required")
            "defaultToFirstItem": f.single,
            "multiSelect": not f.single,
            "searchAllOptions": False,
            "inverseSelection": False,
        },
        "defaultDataMask": {"extraFormData": {}, "filterState": {}},
    }


def _position(dashboard: Dashboard) -> dict[str, Any]:
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": dashboard.title}},
    }
    number = 0
    for r, row in enumerate(dashboard.rows):
        row_id = f"ROW-{dashboard.key}-{r}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for chart in row:
            number += 1
            chart_id = f"CHART-{chart.key}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "width": chart.width,
                    "height": chart.height,
                    "chartId": number,
                    "uuid": chart.uuid,
                    "sliceName": chart.title,
                },
            }
    return position


def _dashboard(dashboard: Dashboard) -> dict[str, Any]:
    return {
        "dashboard_title": dashboard.title,
        "description": dashboard.description,
        "css": "",
        "slug": dashboard.key,
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": dashboard.uuid,
        "position": _position(dashboard),
        "metadata": {
            "refresh_frequency": dashboard.refresh_seconds,
            # A timed refresh asks for every chart at once. Superset's default spreads the requests over 5 s,
            # and it starts the next refresh's wait only when the last chart is back, so the fleet table got its
            # new row 4 s into a refresh that came every 19 s, not every 10 (docs/benchmarks.md, "Dashboards").
            "stagger_refresh": False,
            "timed_refresh_immune_slices": [],
            "expanded_slices": {},
            "color_scheme": "supersetColors",
            "label_colors": {},
            "shared_label_colors": [],
            "map_label_colors": {},
            "color_scheme_domain": [],
            "cross_filters_enabled": True,
            "native_filter_configuration": [_native_filter(dashboard, f) for f in dashboard.filters],
            "chart_configuration": {},
            "global_chart_configuration": {
                "scope": {"rootPath": ["ROOT_ID"], "excluded": _outside_cross_filters(dashboard)},
            },
            "default_filters": "{}",
        },
        "version": _VERSION,
    }


def build_bundle(
    catalog: Catalog,
    schema: str,
    dialect: SqlDialect,
    sqlalchemy_uri: str,
    status: FleetStatus | None = None,
    tiles: str = "",
) -> Bundle:
    """The bundle for the lake's tables in ``schema``, read through ``sqlalchemy_uri`` in ``dialect``.

    ``status`` sets when a vehicle counts as moving or silent (the documented defaults when None); ``tiles``, a
    tile server's URL template, is what the maps draw under their layers (none when empty: see
    :data:`dashboards.charts.TILES`).
    """
    status = status or FleetStatus()
    datasets = [table_dataset(t, schema, dialect) for t in lake_tables(catalog)]
    datasets += derived_datasets(catalog, schema, dialect, status)
    by_key = {d.key: d for d in datasets}
    return Bundle(sqlalchemy_uri, dialect, tuple(datasets), tuple(dashboards(by_key, dialect, status)), tiles)

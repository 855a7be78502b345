"""Dashboards as code: Apache Superset over the lake, provisioned from the schemas (``make dashboard``).

Modules: :mod:`~dashboards.dialects` (the few SQL functions that differ between DuckDB and Athena),
:mod:`~dashboards.datasets` (Superset datasets from the lake's tables, columns described by their Avro
docs), :mod:`~dashboards.derived` (the derived datasets: map features, latest states, pipeline health),
:mod:`~dashboards.charts` (chart definitions), :mod:`~dashboards.boards` (the six dashboards),
:mod:`~dashboards.bundle` (Superset's import ZIP), :mod:`~dashboards.checks` (each chart's query as plain
SQL, to hold Superset's answers to DuckDB's), :mod:`~dashboards.lakefile` (the DuckDB file Superset
reads), :mod:`~dashboards.install` (Superset's own virtual environment), :mod:`~dashboards.server`
(start, stop, status), :mod:`~dashboards.cli` (``python -m dashboards``).
"""

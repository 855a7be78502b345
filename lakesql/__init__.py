"""SQL on the local lake with DuckDB: the views ``make query`` and the dashboards read.

Modules: :mod:`~lakesql.settings` (where the lake is, the schema name), :mod:`~lakesql.duckdb_types`
(lake types to DuckDB), :mod:`~lakesql.views` (one view per table), :mod:`~lakesql.engine` (a DuckDB
with those views, running SQL), :mod:`~lakesql.queries` (the named queries of :mod:`core.queries`,
transpiled from Athena's SQL), :mod:`~lakesql.output` (text tables), :mod:`~lakesql.cli` (``python -m lakesql``).
"""

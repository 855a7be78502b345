"""SQL on the lake's Iceberg tables with DuckDB: the views ``make query`` and the dashboards read.

Modules: :mod:`~lakesql.settings` (where the lake and its catalog are, the schema name),
:mod:`~lakesql.extensions` (DuckDB with its extensions from their packages, offline),
:mod:`~lakesql.snapshots` (which snapshot of each table to read: current, or time travel),
:mod:`~lakesql.duckdb_types` (lake types to DuckDB), :mod:`~lakesql.views` (one view per table),
:mod:`~lakesql.engine` (a DuckDB with those views, running SQL, counting tables), :mod:`~lakesql.queries`
(the named queries of :mod:`core.queries`, transpiled from Athena's SQL), :mod:`~lakesql.output` (text
tables), :mod:`~lakesql.cli` (``python -m lakesql``).
"""

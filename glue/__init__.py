"""The catalog from the schemas: Glue tables, Athena DDL, IAM documents, and SQL on the lake with DuckDB.

Nothing here is hand-written per entity: every column comes from ``schemas/*.avsc`` and
:mod:`core.lake`, so the catalog describes exactly what the streaming job writes.
"""

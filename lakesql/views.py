"""DuckDB views over the lake's Iceberg tables, one per table, typed from the same definitions as Glue.

Each view scans its table's snapshot (:class:`~lakesql.snapshots.TableSource`: a metadata file and a
snapshot id) with the Iceberg extension's ``iceberg_scan`` and casts every column to the type the schema
says, so a view has the columns of :mod:`core.tables` and their types whatever the table holds: a column
the table does not have yet (a field added by a schema evolution that no batch has carried) reads as
NULL, and so does a column in a snapshot written before it was added. A column the table has but the
schema no longer declares (a removed field: Iceberg keeps it, as the Glue table does) stays in the view,
after the declared ones. A table with no snapshot yet, or one the catalog does not have, is an empty
view. Pure: the caller says what each table's source is (see :func:`lakesql.engine.connect`).
"""

from __future__ import annotations

from core.sql import quote_identifier, quote_literal
from core.tables import LakeTable
from lakesql.duckdb_types import duckdb_type
from lakesql.snapshots import TableSource

__all__ = ["scan_sql", "view_sql"]


def scan_sql(source: TableSource) -> str:
    """``iceberg_scan('<metadata file>'[, snapshot_from_id = <id>])``: the table at its snapshot."""
    pinned = f", snapshot_from_id = {source.snapshot_id}" if source.pinned else ""
    return f"iceberg_scan({quote_literal(source.metadata_location)}{pinned})"


def view_sql(schema: str, table: LakeTable, source: TableSource | None) -> str:
    """``CREATE OR REPLACE VIEW <schema>.<table>`` over the table's snapshot.

    Args:
        schema: the DuckDB schema holding the views (named like the Glue database, so the same SQL
            runs in DuckDB and Athena).
        table: the lake table.
        source: what to read of it, or None when the catalog has no such table yet.
    """
    columns = [(c.name, duckdb_type(c.type)) for c in table.columns]
    name = f"{quote_identifier(schema)}.{quote_identifier(table.name)}"
    if source is None or source.snapshot_id is None:
        nulls = ",\n  ".join(f"CAST(NULL AS {kind}) AS {quote_identifier(col)}" for col, kind in columns)
        if source is not None and source.unreadable is not None:  # time travel to before the table's history
            raise_it = f"error({quote_literal(source.unreadable)}) IS NULL"
            return f"CREATE OR REPLACE VIEW {name} AS\nSELECT\n  {nulls}\nWHERE {raise_it}"
        return f"CREATE OR REPLACE VIEW {name} AS\nSELECT\n  {nulls}\nWHERE false"
    have = {c.lower() for c in source.columns}
    declared = {col.lower() for col, _ in columns}
    removed = [quote_identifier(col) for col in source.columns if col.lower() not in declared]
    cast = [
        f"CAST({quote_identifier(col) if col.lower() in have else 'NULL'} AS {kind}) AS {quote_identifier(col)}"
        for col, kind in columns
    ]
    select = ",\n  ".join([*cast, *removed])
    return f"CREATE OR REPLACE VIEW {name} AS\nSELECT\n  {select}\nFROM {scan_sql(source)}"

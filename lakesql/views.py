"""DuckDB views over the local lake, one per table, typed from the same definitions as Glue.

Every column is cast to the type the schema says, so a view has the same columns and types whatever
files are on disk: a column that no file has yet (a field added by a schema evolution) reads as
NULL, a column missing from older files reads as NULL there (``union_by_name``), and a table with no
files at all is an empty view rather than an error. A column the files have but the schema no longer
declares (a removed field) stays in the view, after the declared ones and before ``dt``, as the Glue table keeps it
(deprecated): older rows show their values, later ones NULL. Pure: the caller says which columns the files
have (see :func:`lakesql.engine.connect`).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from core.lake import PARTITION_COLUMN
from core.sql import quote_identifier, quote_literal
from core.tables import LakeTable
from lakesql.duckdb_types import duckdb_type

__all__ = ["files_glob", "view_sql"]


def files_glob(lake: Path, table: LakeTable) -> str:
    """The Parquet files of a table: ``<lake>/<path>/dt=*/*.parquet`` (Spark's ``_spark_metadata`` is skipped)."""
    return str(lake / table.path / f"{PARTITION_COLUMN}=*" / "*.parquet")


def view_sql(schema: str, table: LakeTable, lake: Path, present: Collection[str] | None) -> str:
    """``CREATE OR REPLACE VIEW <schema>.<table>`` over the table's Parquet files.

    Args:
        schema: the DuckDB schema holding the views (named like the Glue database, so the same SQL
            runs in DuckDB and Athena).
        table: the lake table.
        lake: the local lake folder.
        present: the columns the files have (as DuckDB reads them with ``union_by_name``), or None
            when there are no files yet.
    """
    columns = [*((c.name, duckdb_type(c.type)) for c in table.columns), (PARTITION_COLUMN, "VARCHAR")]
    name = f"{quote_identifier(schema)}.{quote_identifier(table.name)}"
    if present is None:
        nulls = ",\n  ".join(f"CAST(NULL AS {kind}) AS {quote_identifier(col)}" for col, kind in columns)
        return f"CREATE OR REPLACE VIEW {name} AS\nSELECT\n  {nulls}\nWHERE false"
    have = {c.lower() for c in present}
    declared = {col.lower() for col, _ in columns}
    removed = [quote_identifier(col) for col in present if col.lower() not in declared]
    cast = [
        f"CAST({quote_identifier(col) if col.lower() in have else 'NULL'} AS {kind}) AS {quote_identifier(col)}"
        for col, kind in columns
    ]
    select = ",\n  ".join([*cast[:-1], *removed, cast[-1]])  # the partition column stays last
    source = (
        f"read_parquet({quote_literal(files_glob(lake, table))}, hive_partitioning = true, union_by_name = true, "
        f"hive_types = {{{quote_literal(PARTITION_COLUMN)}: 'VARCHAR'}})"
    )
    return f"CREATE OR REPLACE VIEW {name} AS\nSELECT\n  {select}\nFROM {source}"

"""The named queries as local SQL runs them: the Athena text of :mod:`core.queries`, transpiled to DuckDB.

The queries themselves live in :mod:`core.queries`, because the catalog stage renders them for
Athena and Redshift too; here they become DuckDB SQL with sqlglot, so what runs locally is exactly
the documented Athena text, not a hand-kept twin.
"""

from __future__ import annotations

import sqlglot
from sqlglot.errors import ErrorLevel, SqlglotError

from core.errors import CatalogError
from core.queries import QUERIES, NamedQuery, named_query

__all__ = ["QUERIES", "NamedQuery", "duckdb_sql", "named_query", "to_duckdb"]


def to_duckdb(sql: str, dialect: str = "athena") -> str:
    """SQL of ``dialect`` (Athena's by default) as DuckDB SQL; refuses what sqlglot cannot translate faithfully.

    Raises:
        CatalogError: the text does not parse as Athena SQL, or uses something DuckDB has no twin for.
    """
    try:
        statements = sqlglot.transpile(
            sql, read=dialect, write="duckdb", error_level=ErrorLevel.RAISE, unsupported_level=ErrorLevel.RAISE
        )
    except SqlglotError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"cannot run this {dialect} SQL locally: {first}"
        raise CatalogError(msg) from exc
    return ";\n".join(statements)


def duckdb_sql(query: NamedQuery, database: str) -> str:
    """The DuckDB SQL of a named query over the views in schema ``database``."""
    return to_duckdb(query.render(database))

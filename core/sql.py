"""Quoting SQL identifiers and string literals, per dialect, with sqlglot: the one way the project quotes SQL.

Every SQL text the project builds (DuckDB views, Athena DDL, Redshift SQL, dashboard datasets) quotes
names and strings through here, so an odd name (a quote, a backtick, a keyword) cannot break a
statement. Prefer bound parameters where the engine takes them (DuckDB's ``?``); use these where SQL
text must be written out (views, DDL files).
"""

from __future__ import annotations

from sqlglot import exp

__all__ = ["quote_identifier", "quote_literal"]


def quote_identifier(name: str, dialect: str = "duckdb") -> str:
    """``name`` as a quoted identifier of ``dialect`` (``"a""b"`` in DuckDB and Athena, ```a``b``` in Hive DDL)."""
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def quote_literal(text: str, dialect: str = "duckdb") -> str:
    """``text`` as a string literal of ``dialect`` (quotes doubled in DuckDB, backslash-escaped in Hive DDL)."""
    return exp.Literal.string(text).sql(dialect=dialect)

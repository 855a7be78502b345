"""Athena DDL for the generated tables: ``CREATE DATABASE`` and ``CREATE EXTERNAL TABLE``.

The statements say the same as the Glue ``TableInput`` (:func:`glue.tables.table_input`): for
teams that keep Athena DDL under review, or to create the tables from the Athena console.
"""

from __future__ import annotations

from core.lake import PARTITION_COLUMN
from core.sql import quote_identifier, quote_literal
from glue.glue_types import glue_type
from glue.tables import TableDefinition

__all__ = ["create_database_ddl", "create_table_ddl", "quote_name", "sql_string"]


def quote_name(name: str) -> str:
    """A backtick-quoted Hive/Athena DDL identifier."""
    return quote_identifier(name, "hive")


def sql_string(text: str) -> str:
    """A single-quoted Hive DDL string literal (Hive escapes with backslashes), on one line."""
    return quote_literal(text.replace("\n", " "), "hive")


def create_database_ddl(database: str, description: str) -> str:
    """``CREATE DATABASE IF NOT EXISTS`` for the catalog's database."""
    return f"CREATE DATABASE IF NOT EXISTS {quote_name(database)}\nCOMMENT {sql_string(description)};\n"


def create_table_ddl(database: str, table: TableDefinition) -> str:
    """``CREATE EXTERNAL TABLE IF NOT EXISTS`` for one table, partition projection included."""
    width = max(len(quote_name(c.name)) for c in table.columns)
    columns = ",\n".join(
        f"  {quote_name(c.name).ljust(width)} {glue_type(c.type)} COMMENT {sql_string(c.doc)}" for c in table.columns
    )
    properties = {"classification": "parquet", **table.parameters}
    props = ",\n".join(f"  {sql_string(k)}={sql_string(v)}" for k, v in properties.items())
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {quote_name(database)}.{quote_name(table.name)} (\n"
        f"{columns}\n)\n"
        f"COMMENT {sql_string(table.description)}\n"
        f"PARTITIONED BY ({quote_name(PARTITION_COLUMN)} string COMMENT {sql_string(table.partition_comment)})\n"
        "STORED AS PARQUET\n"
        f"LOCATION {sql_string(table.location)}\n"
        f"TBLPROPERTIES (\n{props}\n);\n"
    )

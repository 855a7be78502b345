"""Athena DDL for the generated tables: ``CREATE DATABASE`` and Iceberg ``CREATE TABLE``.

The statements declare the same tables as :mod:`glue.apply` creates, in Athena's terms: columns with the
fields' docs as comments, ``PARTITIONED BY (day(<event time>))``, the location, and ``'table_type'='ICEBERG'``
with the table properties Athena accepts (it refuses any other key in ``TBLPROPERTIES``, so Iceberg's own
names become Athena's: ``write_compression``, ``vacuum_*``). For teams that keep DDL under review, or to look
at a table as Athena does. Two limits of Athena's DDL make ``apply`` the way to create the tables: it can only
declare ``timestamp`` (Iceberg's local date-time) where the job writes ``timestamptz`` instants, and it takes
neither the target file size, the commit retries nor the ``telemetry.*`` provenance.
"""

from __future__ import annotations

from core.sql import quote_identifier, quote_literal
from glue.glue_types import glue_type
from glue.iceberg import partition_fields
from glue.tables import TableDefinition

__all__ = ["athena_properties", "create_database_ddl", "create_table_ddl", "quote_name", "sql_string"]

_MS_PER_SECOND = 1000


def quote_name(name: str) -> str:
    """A backtick-quoted Hive/Athena DDL identifier."""
    return quote_identifier(name, "hive")


def sql_string(text: str) -> str:
    """A single-quoted Hive DDL string literal (Hive escapes with backslashes), on one line."""
    return quote_literal(text.replace("\n", " "), "hive")


def athena_properties(table: TableDefinition) -> dict[str, str]:
    """``TBLPROPERTIES`` of Athena's ``CREATE TABLE``: ``table_type`` and the Iceberg properties Athena names."""
    props = table.properties
    out = {"table_type": "ICEBERG", "format": props["write.format.default"]}
    out["write_compression"] = props["write.parquet.compression-codec"]
    out["vacuum_min_snapshots_to_keep"] = props["history.expire.min-snapshots-to-keep"]
    out["vacuum_max_snapshot_age_seconds"] = str(int(props["history.expire.max-snapshot-age-ms"]) // _MS_PER_SECOND)
    out["vacuum_max_metadata_files_to_keep"] = props["write.metadata.previous-versions-max"]
    return out


def create_database_ddl(database: str, description: str) -> str:
    """``CREATE DATABASE IF NOT EXISTS`` for the catalog's database."""
    return f"CREATE DATABASE IF NOT EXISTS {quote_name(database)}\nCOMMENT {sql_string(description)};\n"


def create_table_ddl(database: str, table: TableDefinition) -> str:
    """Athena's ``CREATE TABLE IF NOT EXISTS`` of one Iceberg table (no ``EXTERNAL``: Athena refuses it here)."""
    width = max(len(quote_name(c.name)) for c in table.columns)
    columns = ",\n".join(
        f"  {quote_name(c.name).ljust(width)} {glue_type(c.type)} COMMENT {sql_string(c.doc)}" for c in table.columns
    )
    partitions = ", ".join(f"{transform}({quote_name(source)})" for source, transform in partition_fields(table))
    props = ",\n".join(f"  {sql_string(k)}={sql_string(v)}" for k, v in athena_properties(table).items())
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_name(database)}.{quote_name(table.name)} (\n"
        f"{columns}\n)\n"
        f"PARTITIONED BY ({partitions})\n"
        f"LOCATION {sql_string(table.location + '/')}\n"
        f"TBLPROPERTIES (\n{props}\n);\n"
    )

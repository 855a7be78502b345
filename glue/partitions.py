"""Register the ``dt`` partitions of every table in Glue, for engines that ignore partition projection.

Athena computes partitions from the tables' projection properties and needs none of this. Redshift
Spectrum (and EMR, Glue ETL) read only the partitions registered in the Data Catalog, so a
projected table shows them no rows until its days are registered. This adds, per table, a partition
for each day of a range whose folder is ``<table location>dt=YYYY-MM-DD/`` (a day without files
simply reads as empty), and skips the ones Glue already has: running it again adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from botocore.exceptions import ClientError

from core.errors import CatalogError
from core.lake import PARTITION_COLUMN
from glue.apply import NOT_FOUND, call_glue
from glue.tables import TableDefinition, table_input

__all__ = ["days_between", "partition_input", "register_partitions"]

_BATCH = 100  # BatchCreatePartition takes at most 100 partitions per call
_MAX_DAYS = 3660


def days_between(first: date, last: date) -> list[str]:
    """Every day from ``first`` to ``last`` inclusive, as ``YYYY-MM-DD``.

    Raises:
        CatalogError: the range is reversed or longer than ten years.
    """
    count = (last - first).days + 1
    if count < 1 or count > _MAX_DAYS:
        msg = f"partition range {first} to {last} must be 1 to {_MAX_DAYS} days long, first day first"
        raise CatalogError(msg)
    return [(first + timedelta(days=offset)).isoformat() for offset in range(count)]


def partition_input(table: TableDefinition, day: str) -> dict[str, Any]:
    """The Glue ``PartitionInput`` of one day of a table: the table's storage, in the day's folder."""
    descriptor = dict(table_input(table)["StorageDescriptor"])
    descriptor["Location"] = f"{table.location}{PARTITION_COLUMN}={day}/"
    return {"Values": [day], "StorageDescriptor": descriptor}


def _existing(client: Any, database: str, table: str) -> set[str]:
    found: set[str] = set()
    token: str | None = None
    while True:
        page = call_glue(
            f"list the partitions of {database}.{table}",
            client.get_partitions,
            DatabaseName=database,
            TableName=table,
            **({"NextToken": token} if token else {}),
        )
        found.update(p["Values"][0] for p in page.get("Partitions", []) if p.get("Values"))
        token = page.get("NextToken")
        if not token:
            return found


def register_partitions(client: Any, database: str, tables: list[TableDefinition], days: list[str]) -> dict[str, int]:
    """Add the missing partitions of ``days`` to each table; returns how many were added per table.

    Raises:
        CatalogError: a table does not exist yet (run ``glue apply``), or Glue refuses a partition.
    """
    added: dict[str, int] = {}
    for table in tables:
        try:
            missing = [day for day in days if day not in _existing(client, database, table.name)]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != NOT_FOUND:
                raise
            msg = f"table {database}.{table.name} does not exist; run `python -m glue apply` first"
            raise CatalogError(msg) from exc
        for start in range(0, len(missing), _BATCH):
            answer = call_glue(
                f"add partitions to {database}.{table.name}",
                client.batch_create_partition,
                DatabaseName=database,
                TableName=table.name,
                PartitionInputList=[partition_input(table, day) for day in missing[start : start + _BATCH]],
            )
            errors = [
                e
                for e in answer.get("Errors", [])
                if e.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException"
            ]
            if errors:
                detail = errors[0].get("ErrorDetail", {})
                msg = (
                    f"Glue refused partition {errors[0].get('PartitionValues')} of {database}.{table.name}: "
                    f"{detail.get('ErrorCode')}: {detail.get('ErrorMessage')}"
                )
                raise CatalogError(msg)
        added[table.name] = len(missing)
    return added

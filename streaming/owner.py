"""One writer per table: each table names the checkpoint that streams into it, and refuses any other.

Why: a replayed batch is recognised by the checkpoint's query id and the batch id that each commit records
(:mod:`streaming.commit`). A second checkpoint over the same tables (checkpoints deleted while the lake is
kept, or a second job with its own checkpoint folder or topic prefix on the same lake) has another query
id and counts its batches from 0 again: nothing it writes would look like a replay, and it would read its
topic into the tables a second time. So, before the job writes anything, each table it writes records its
writer in table properties (:data:`WRITER_PROPERTIES`): the checkpoint's query id, the checkpoint and the
topic. A job whose checkpoint is not the writer is refused with one line saying which checkpoint is, and
what to do.

The claim is a compare-and-swap: the property is set by a catalog commit whose requirement is that the
table still has no writer (:class:`_AssertWriter`, checked against the metadata the commit replaces, and the
catalog only swaps that very metadata: a conditional update of the SQLite row, Glue's version id). Of two
jobs that claim one table at the same moment, one commit fails, and that job sees the other's claim and is
refused. A table that holds rows but names no writer (imported without a checkpoint, or written by another
tool) is adopted by a checkpoint that has offsets and refused to a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal

from pydantic import Field
from pyiceberg.catalog import Catalog as PyIcebergCatalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import AssertTableUUID, SetPropertiesUpdate, ValidatableTableRequirement

from core.errors import TelemetryError
from streaming.checkpoint import CheckpointId

__all__ = ["WRITER_CHECKPOINT", "WRITER_PROPERTIES", "WRITER_QUERY_ID", "WRITER_TOPIC", "claim_tables"]

log = logging.getLogger(__name__)

WRITER_QUERY_ID = "telemetry.writer.query-id"
WRITER_CHECKPOINT = "telemetry.writer.checkpoint"
WRITER_TOPIC = "telemetry.writer.topic"
WRITER_PROPERTIES = (WRITER_QUERY_ID, WRITER_CHECKPOINT, WRITER_TOPIC)
"""The table properties that name a table's writer."""


class _AssertWriter(ValidatableTableRequirement):
    """The table's writer must still be ``query_id`` (None: no writer) when the commit applies."""

    type: Literal["assert-telemetry-writer"] = Field(default="assert-telemetry-writer")
    query_id: str | None = None

    def validate(self, base_metadata: TableMetadata | None) -> None:  # type: ignore[override]  # as pyiceberg's own
        found = base_metadata.properties.get(WRITER_QUERY_ID) if base_metadata is not None else None
        if found != self.query_id:
            msg = f"the table's writer changed to {found} during the claim"
            raise CommitFailedException(msg)


def _has_rows(table: Table) -> bool:
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return False
    return int(snapshot.summary.get("total-records", "0") or 0) > 0


def claim_tables(
    client: PyIcebergCatalog, identifiers: Iterable[str], checkpoint: CheckpointId, topic: str, lake: str
) -> None:
    """Make sure ``checkpoint`` is the writer of every table in ``identifiers``; claim those that have none.

    Raises:
        TelemetryError: a table belongs to another checkpoint, or holds rows and the checkpoint is new.
    """
    for identifier in identifiers:
        for _attempt in range(5):
            table = client.load_table(identifier)
            writer = table.properties.get(WRITER_QUERY_ID)
            if writer == checkpoint.query_id:
                break
            if writer is not None:
                _refuse(identifier, table, checkpoint, lake)
            if _has_rows(table) and checkpoint.new:
                _refuse(identifier, table, checkpoint, lake)
            claim = {WRITER_QUERY_ID: checkpoint.query_id, WRITER_CHECKPOINT: checkpoint.location, WRITER_TOPIC: topic}
            try:
                client.commit_table(  # a requirement of our own: pyiceberg's union type names only its own
                    table,
                    requirements=(AssertTableUUID(uuid=table.metadata.table_uuid), _AssertWriter(query_id=None)),  # type: ignore[arg-type]
                    updates=(SetPropertiesUpdate(updates=claim),),
                )
            except CommitFailedException as exc:  # another job claimed it, or another commit came first: look again
                log.info("claim of %s retried: %s", identifier, exc)
                continue
            log.info("%s: written by checkpoint %s (query id %s)", identifier, checkpoint.location, checkpoint.query_id)
            break
        else:
            msg = f"could not record this job as the writer of {identifier}: the catalog kept refusing the commit"
            raise TelemetryError(msg)


def _refuse(identifier: str, table: Table, checkpoint: CheckpointId, lake: str) -> None:
    name = identifier.rpartition(".")[2]
    other = table.properties.get(WRITER_CHECKPOINT)
    if checkpoint.new:
        owner = f" (written with checkpoint {other})" if other else ""
        msg = (
            f"checkpoint {checkpoint.location} is new, but the lake {lake} already holds the {name} table{owner}: "
            "were the checkpoints deleted, or does another job write this lake? A new checkpoint would read its "
            "topic again into the same tables; nothing was written. Use the original checkpoints, or a new --lake, "
            f"or drop the table {identifier} (and its quarantine) to build them again from Kafka"
        )
        raise TelemetryError(msg)
    msg = (
        f"the lake {lake} holds the {name} table of another job (checkpoint {other}, topic "
        f"{table.properties.get(WRITER_TOPIC)}), and this job's checkpoint {checkpoint.location} would write it too; "
        "nothing was written. Give this job its own --lake, or run the other job's checkpoint"
    )
    raise TelemetryError(msg)

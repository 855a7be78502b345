"""A micro-batch's Iceberg commits, and how a replayed batch finds what its earlier attempt committed.

Why: Structured Streaming's ``foreachBatch`` is at-least-once on its own. The Kafka offsets of batch N are
written to the checkpoint *before* the batch runs and the batch is marked done *after* the function
returns, so a driver killed in between replays batch N on restart, with the same batch id and exactly the
same records. Iceberg's own streaming sink skips such a replay by the query id and batch id it records in
each snapshot's summary, but only for its native sink, not for ``foreachBatch``; so the job does the same
itself, as Iceberg's Kafka Connect sink and Delta's ``txnAppId`` do:

- every append records, in its snapshot's summary (``snapshot-property.*`` write options), the checkpoint's
  query id (:data:`QUERY_ID`), the batch id (:data:`BATCH_ID`) and, for an entity table, the writer schema
  ids whose rows it wrote (:data:`SCHEMA_IDS`);
- the first batch of a run (the only one that can be a replay: a failed batch stops the query) reads the
  table's snapshots, newest first, and writes only what no snapshot of this query and batch holds.

A batch writes each of its tables (the entity, its quarantine) in a commit of its own: Iceberg commits one
table at a time. A batch killed between the two leaves one table committed; its replay writes the other.
The entity table can take more than one commit in one batch: a writer schema registered a moment after the
batch's plan was made is decoded in a second pass (:mod:`streaming.batch`), which writes only the rows of
the ids the first pass could not decode; the schema ids in each summary are what keep a replay of that
exact too. The query id is the checkpoint's (:mod:`streaming.checkpoint`); a table accepts one
(:mod:`streaming.owner`), and maintenance never expires a writer's latest snapshot (:mod:`streaming.maintain`),
so the check always finds the batch a replay may repeat.

Appends are written without a shuffle (``distribution-mode`` ``none``, a fan-out writer per task): a batch is
small, and a file per task and day is what maintenance rewrites later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from pyiceberg.catalog import Catalog as PyIcebergCatalog
from pyiceberg.table.snapshots import Snapshot, ancestors_of
from pyspark.sql import DataFrame

__all__ = ["BATCH_ID", "QUERY_ID", "SCHEMA_IDS", "Committed", "TableCommitter"]

log = logging.getLogger(__name__)

QUERY_ID = "telemetry.query-id"
BATCH_ID = "telemetry.batch-id"
SCHEMA_IDS = "telemetry.schema-ids"

_WRITE_OPTIONS = {"distribution-mode": "none", "fanout-enabled": "true"}


@dataclass(frozen=True)
class Committed:
    """What this query's snapshots of one table hold of one batch.

    Attributes:
        snapshots: the snapshot ids that committed rows of the batch (empty: none).
        schema_ids: the writer schema ids whose rows those snapshots wrote (entity tables), or None when one of
            them wrote the whole batch (a quarantine's commit, or an import).
    """

    snapshots: tuple[int, ...] = ()
    schema_ids: frozenset[int] | None = frozenset()

    def __bool__(self) -> bool:
        """Whether the batch was committed to the table at all."""
        return bool(self.snapshots)


def _batch_of(snapshot: Snapshot, query_id: str) -> int | None:
    summary = snapshot.summary
    if summary is None or summary.get(QUERY_ID) != query_id:
        return None
    return int(summary.get(BATCH_ID) or -1)


class TableCommitter:
    """Appends a batch's rows to its tables, recording the batch; finds what a replayed batch committed.

    Args:
        client: the pyiceberg catalog (for reading snapshots).
        spark_names: Spark's name of each table (``lake.smartcity.vehicle``), by pyiceberg identifier.
        query_id: the checkpoint's query id.
    """

    def __init__(self, client: PyIcebergCatalog, spark_names: dict[str, str], query_id: str) -> None:
        self._client = client
        self._spark_names = spark_names
        self.query_id = query_id

    def committed(self, identifier: str, batch_id: int) -> Committed:
        """What the table's snapshots of this query hold of batch ``batch_id`` (newest first, to an older batch)."""
        table = self._client.load_table(identifier)
        found: list[int] = []
        schema_ids: set[int] | None = set()
        for snapshot in ancestors_of(table.current_snapshot(), table.metadata):
            batch = _batch_of(snapshot, self.query_id)
            if batch is None:
                continue  # maintenance, or an import
            if batch < batch_id:
                break
            if batch == batch_id:
                found.append(snapshot.snapshot_id)
                ids = snapshot.summary.get(SCHEMA_IDS) if snapshot.summary is not None else None
                if ids is None:
                    schema_ids = None
                elif schema_ids is not None:
                    schema_ids.update(int(i) for i in ids.split(",") if i)
        return Committed(tuple(found), None if schema_ids is None else frozenset(schema_ids))

    def append(self, frame: DataFrame, identifier: str, batch_id: int, schema_ids: Iterable[int] = ()) -> None:
        """Append ``frame`` to the table in one commit that records this query, the batch and ``schema_ids``."""
        writer = frame.writeTo(self._spark_names[identifier]).options(**_WRITE_OPTIONS)
        writer = writer.option(f"snapshot-property.{QUERY_ID}", self.query_id)
        writer = writer.option(f"snapshot-property.{BATCH_ID}", str(batch_id))
        ids = ",".join(str(i) for i in sorted(schema_ids))
        if ids:
            writer = writer.option(f"snapshot-property.{SCHEMA_IDS}", ids)
        writer.append()

"""``python -m streaming import-parquet``: a lake of the earlier Parquet layout into the Iceberg tables, once.

Each earlier table (``<lake>/<entity>/dt=*/part-*.parquet``, ``<lake>/_quarantine/<entity>/dt=*/``) is read
with Spark (files of every schema version merged by name, a column older files lack read as null, columns and
nested fields matched to the table by name, widened where Iceberg widens) and appended to its Iceberg table in one
commit, whose summary records the folder it came from
(:data:`IMPORTED_FROM`): a rerun skips a table whose history holds that commit, so a run killed midway is
run again and imports each table exactly once. The earlier files are copied, not moved: they stay where they
were until the operator deletes them.

The earlier job's checkpoints stay valid. Its commit protocol claimed each table for one checkpoint
(``<lake>/_staging/<entity>/_claim``) and named each batch's files ``part-b<batch>``: the import makes that
checkpoint the tables' writer (:mod:`streaming.owner`) and records its query id and the newest batch id
among the files as if that commit were the batch's (:mod:`streaming.commit`), so a batch the earlier job
wrote but had not recorded as done is not written a second time when the new job replays it.

Once every table is in, :data:`streaming.legacy.IMPORTED_MARKER` is written at the lake's root and the job
starts on the lake again. A compaction the earlier release left unfinished (``<lake>/_compaction/``) is
refused: finish it with that release first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from core.catalog import Catalog
from core.errors import TelemetryError
from core.iceberg_tables import ensure_tables, open_catalog
from core.lake import PARTITION_COLUMN
from core.tables import lake_tables
from streaming.checkpoint import CheckpointId, HadoopFs, checkpoint_id
from streaming.commit import BATCH_ID, QUERY_ID
from streaming.legacy import IMPORTED_MARKER, legacy_folders
from streaming.owner import WRITER_QUERY_ID, claim_tables
from streaming.session import get_spark
from streaming.settings import StreamingSettings

__all__ = ["IMPORTED_FROM", "import_lake"]

IMPORTED_FROM = "telemetry.imported-from"
_BATCH_FILE = re.compile(r"/part-b(\d+)-[^/]*\.parquet$")


def _earlier_writer(fs: HadoopFs, lake: str, entity: str) -> tuple[CheckpointId | None, str]:
    """The checkpoint that wrote the entity's earlier tables (from its claim), and its topic."""
    claim_uri = f"{lake}/_staging/{entity}/_claim"
    if not fs.exists(claim_uri):
        return None, ""
    claim = json.loads(fs.read_text(claim_uri))
    checkpoint = checkpoint_id(fs, str(claim["checkpoint"]))
    return (None if checkpoint.new else checkpoint), str(claim.get("topic", ""))


def _imported(client: object, identifier: str, folder: str) -> bool:
    table = client.load_table(identifier)  # type: ignore[attr-defined]
    return any(s.summary is not None and s.summary.get(IMPORTED_FROM) == folder for s in table.snapshots())


def import_lake(settings: StreamingSettings, catalog: Catalog, spark: SparkSession | None = None) -> Iterator[str]:
    """Import every earlier table of the lake; one line per table, and one for the end.

    Raises:
        TelemetryError: an unfinished compaction, or a table's rows do not fit its Iceberg table.
    """
    iceberg = settings.iceberg()
    owned = spark is None
    spark = spark or get_spark(settings, app_name="telemetry-import")
    try:
        fs = HadoopFs(spark)
        lake = settings.lake
        if fs.glob(f"{lake}/_compaction/*/*=*/*.json"):
            msg = (
                f"{lake}/_compaction holds an unfinished compaction; finish it with the earlier release's make compact"
            )
            raise TelemetryError(msg)
        found = legacy_folders(fs, lake, catalog.names)
        tables = [t for t in lake_tables(catalog) if t.name in found]
        ensure_tables(iceberg, tables)
        client = open_catalog(iceberg)
        for table in tables:
            yield _import_table(spark, fs, client, settings, table.name, table.stream.name, found[table.name])
        fs.write_text(f"{lake}/{IMPORTED_MARKER}", json.dumps({"tables": found}, indent=1) + "\n")
        yield f"imported {len(tables)} table(s) of {lake}; the job starts on this lake again"
    finally:
        if owned:
            spark.stop()


def _import_table(
    spark: SparkSession, fs: HadoopFs, client: object, settings: StreamingSettings, name: str, entity: str, folder: str
) -> str:
    iceberg = settings.iceberg()
    identifier = iceberg.table_id(name)
    if _imported(client, identifier, folder):
        return f"{identifier}: already imported from {folder}"
    checkpoint, topic = _earlier_writer(fs, settings.lake, entity)
    if checkpoint is not None:  # before the rows: refused here if another checkpoint writes the table now
        claim_tables(client, [identifier], checkpoint, topic, settings.lake)  # type: ignore[arg-type]
    files = fs.glob(f"{folder}/{PARTITION_COLUMN}=*/part-*.parquet")
    batches = [int(m.group(1)) for p in files if (m := _BATCH_FILE.search(p))]
    rows = spark.read.option("mergeSchema", "true").parquet(*files).drop(PARTITION_COLUMN) if files else None
    if rows is None or rows.isEmpty():  # Iceberg commits no snapshot for no rows: nothing to record either
        return f"{identifier}: no rows in {folder}"
    # The table's columns that the files have, by name: the append matches them by name, nested fields
    # too (a struct's fields in another order land where they belong), and widens what can be widened;
    # a column the files lack is null.
    present = set(rows.columns)
    columns = [F.col(f.name) for f in spark.table(iceberg.spark_table(name)).schema.fields if f.name in present]
    writer = (
        rows.select(*columns).writeTo(iceberg.spark_table(name)).option(f"snapshot-property.{IMPORTED_FROM}", folder)
    )
    table = client.load_table(identifier)  # type: ignore[attr-defined]
    writer_id = table.properties.get(WRITER_QUERY_ID)
    if checkpoint is not None and writer_id == checkpoint.query_id and batches:
        writer = writer.option(f"snapshot-property.{QUERY_ID}", checkpoint.query_id)
        writer = writer.option(f"snapshot-property.{BATCH_ID}", str(max(batches)))
    try:
        writer.append()
    except Exception as exc:  # Spark's analysis errors: a type the table cannot take
        first = str(exc).strip().splitlines()[0]
        msg = f"{folder} does not fit {identifier}: {first}"
        raise TelemetryError(msg) from exc
    return f"{identifier}: imported {len(files):,} file(s) from {folder}"

"""A day of the earlier release's micro-batch files, written fast: the Parquet layout ``import-parquet`` imports.

One simulated journey gives each entity's rows (real simulator records with the job's metadata
columns, typed as Spark writes them, see ``tests/iceberg_lake.py``); they are laid out as the job
commits them, one file per table and micro-batch, ``<table>/dt=<day>/part-b<N:012d>-00000.parquet``,
with each batch's event times, Kafka offsets and ingestion time moved to its place in the day. The
job's claim of each table and its checkpoint's commit log (``commits/<last batch done>``) are written
too, as that job left them (``streaming.importer`` reads the claim to carry the checkpoint over).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.catalog import Catalog
from core.tables import entity_lake_table
from producer.simulator import SimulationConfig
from tests.fleet_lake import fleet_rows
from tests.iceberg_lake import arrow_type

TRIGGER = timedelta(seconds=10)
STAGING_DIR = "_staging"
CLAIM_FILE = "_claim"


def part_name(batch_id: int, n: int) -> str:
    """The name the earlier release gave the ``n``-th file of batch ``batch_id`` in a table."""
    return f"part-b{batch_id:012d}-{n:05d}.parquet"


def journey(catalog: Catalog, vehicles: int = 4, steps: int = 120, seed: int = 7) -> dict[str, pa.Table]:
    """One simulated journey's rows per entity, as Arrow tables with the lake's column types."""
    config = SimulationConfig(vehicles=vehicles, seed=seed, step_seconds=5.0, max_steps=steps,
                              emergency_probability=0.02, camera_spacing_m=1_000.0)  # fmt: skip
    tables = {}
    for name, rows in fleet_rows(config, catalog).items():
        table = entity_lake_table(catalog.get(name))
        schema = pa.schema([pa.field(c.name, arrow_type(c.type), c.nullable) for c in table.columns])
        tables[name] = pa.Table.from_pylist(rows, schema=schema)
    return tables


def _batch(rows: pa.Table, batch: int, count: int, day_start: datetime) -> pa.Table:
    first = batch * count
    picked = rows.take(pa.array([(first + i) % rows.num_rows for i in range(count)]))
    step = TRIGGER / count
    start = day_start + TRIGGER * batch
    times = pa.array([start + step * i for i in range(count)], pa.timestamp("us", tz="UTC"))
    columns = {
        "event_time": times,
        "kafka_timestamp": pc.add(times, pa.scalar(timedelta(milliseconds=40))),
        "kafka_offset": pa.array(range(first, first + count), pa.int64()),
        "ingested_at": pa.array([start + TRIGGER + timedelta(seconds=3)] * count, pa.timestamp("us", tz="UTC")),
    }
    for name, values in columns.items():
        index = picked.schema.get_field_index(name)
        picked = picked.set_column(index, picked.schema.field(index), values.cast(picked.schema.field(index).type))
    return picked


def write_day(
    lake: Path,
    checkpoints: Path,
    catalog: Catalog,
    rows: dict[str, pa.Table],
    *,
    day: date,
    batches: int,
    per_batch: int,
    first_batch: int = 0,
    done: int | None = None,
) -> dict[str, int]:
    """Batches ``first_batch``.. of ``day``, ``per_batch`` vehicle rows each (other tables in proportion).

    ``done`` is the last batch the checkpoint records as done (default: the last one written).
    Returns the rows written per table.
    """
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    written: dict[str, int] = {}
    for name, table_rows in rows.items():
        path = lake / entity_lake_table(catalog.get(name)).path / f"dt={day.isoformat()}"
        path.mkdir(parents=True, exist_ok=True)
        count = max(1, math.ceil(per_batch * table_rows.num_rows / rows["vehicle"].num_rows))
        for batch in range(first_batch, first_batch + batches):
            pq.write_table(_batch(table_rows, batch, count, day_start), path / part_name(batch, 0))
        written[name] = count * batches
        record_done(lake, checkpoints, name, first_batch + batches - 1 if done is None else done)
    return written


def record_done(lake: Path, checkpoints: Path, entity: str, last: int) -> None:
    """The job's claim of ``entity``'s tables and its checkpoint's commit log up to batch ``last``."""
    checkpoint = checkpoints / entity
    (checkpoint / "commits").mkdir(parents=True, exist_ok=True)
    for later in (checkpoint / "commits").glob("*"):
        later.unlink()
    (checkpoint / "commits" / str(last)).write_text("v1\n{}")  # Spark keeps the last ones; the highest counts
    claim = lake / STAGING_DIR / entity / CLAIM_FILE
    claim.parent.mkdir(parents=True, exist_ok=True)
    claim.write_text(json.dumps({"id": "test", "checkpoint": checkpoint.as_uri(), "topic": f"{entity}_data"}))


def table_rows(lake: Path, path: str) -> list[tuple[Any, ...]]:
    """Every row of a table (its columns and ``dt``), sorted: equal lists mean the same rows, each as often."""
    glob = str(lake / path / "dt=*" / "*.parquet")
    con = duckdb.connect(":memory:")
    query = f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
    return sorted(con.execute(query).fetchall(), key=repr)


def files(lake: Path, path: str) -> list[str]:
    """The names of a table's Parquet files, partition by partition."""
    return sorted(str(p.relative_to(lake / path)) for p in (lake / path).glob("dt=*/*.parquet"))

"""The simulator's journeys written straight into a lake, laid out and typed as the streaming job writes them.

For tests and benchmarks of what reads the lake (DuckDB views, dashboards): real records from the
journey simulator with the job's metadata columns (topic, partition, offset, send and ingestion times,
schema id), written as one Parquet file per table, day and micro-batch, fast and without Kafka or Spark.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.catalog import Catalog, load_catalog
from core.tables import entity_lake_table
from producer.simulator import SimulationConfig, simulate
from tests.parquet_lake import write

SEND_DELAY = timedelta(milliseconds=40)
"""Event time to the producer's send (Kafka timestamp)."""
BATCH_LATENCY = timedelta(seconds=3)
"""Send to the streaming job's write (ingested_at)."""


def fleet_rows(
    config: SimulationConfig, catalog: Catalog, *, batch_seconds: float = 10.0
) -> dict[str, list[dict[str, Any]]]:
    """Rows per entity table, with the metadata the job adds; each row's ``ingested_at`` ends its micro-batch."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    offsets: dict[str, int] = defaultdict(int)
    ids = {s.name: i + 1 for i, s in enumerate(catalog.streams)}
    start = config.start_time
    for event in simulate(config, catalog):
        sent = event.value["event_time"] + SEND_DELAY
        batch = int((sent - start).total_seconds() // batch_seconds) + 1
        row = dict(event.value)
        row |= {
            "kafka_topic": catalog.get(event.stream).topic,
            "kafka_partition": 0,
            "kafka_offset": offsets[event.stream],
            "kafka_timestamp": sent,
            "schema_id": ids[event.stream],
            "ingested_at": start + timedelta(seconds=batch * batch_seconds) + BATCH_LATENCY,
        }
        offsets[event.stream] += 1
        rows[event.stream].append(row)
    return rows


def write_rows(
    lake: Path, catalog: Catalog, rows: dict[str, list[dict[str, Any]]], *, per_file: int = 0
) -> dict[str, int]:
    """Write rows into ``lake``: one file per table, day and ``per_file`` rows (0: one file per day)."""
    for name, table_rows in rows.items():
        table = entity_lake_table(catalog.get(name))
        size = per_file or len(table_rows) or 1
        for first in range(0, len(table_rows), size):
            write(lake, table, table_rows[first : first + size])
    return {name: len(table_rows) for name, table_rows in rows.items()}


def write_fleet_lake(lake: Path, *, vehicles: int = 3, minutes: float = 10.0, end: datetime, seed: int = 42,
                     emergency_probability: float = 0.02, per_file: int = 0,
                     catalog: Catalog | None = None) -> dict[str, int]:  # fmt: skip
    """A fleet's last ``minutes`` of driving, ending at ``end``, written into ``lake``; rows per table."""
    catalog = catalog or load_catalog()
    step = 5.0
    config = SimulationConfig(vehicles=vehicles, seed=seed, start_time=end - timedelta(minutes=minutes),
                              step_seconds=step, max_steps=int(minutes * 60 / step),
                              emergency_probability=emergency_probability, camera_spacing_m=1_000.0)  # fmt: skip
    return write_rows(lake, catalog, fleet_rows(config, catalog), per_file=per_file)


def latest(rows: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """The row with the latest event time per ``key``."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row[key] not in found or row["event_time"] >= found[row[key]]["event_time"]:
            found[row[key]] = row
    return found

"""The simulator's journeys written straight into a lake, laid out and typed as the streaming job writes them.

For tests and benchmarks of what reads the lake (DuckDB views, dashboards): real records from the
journey simulator with the job's metadata columns (topic, partition, offset, send and ingestion times,
schema id), appended to the lake's Iceberg tables with pyiceberg (``tests/iceberg_lake.py``), fast and
without Kafka or Spark.
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
from tests.iceberg_lake import append, arrow_rows

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
    lake: Path, catalog: Catalog, rows: dict[str, list[dict[str, Any]]], *, per_batch: int = 0
) -> dict[str, int]:
    """Append rows to ``lake``'s tables: a commit (micro-batch) per table and ``per_batch`` rows (0: one per table)."""
    for name, table_rows in rows.items():
        table = entity_lake_table(catalog.get(name))
        size = per_batch or len(table_rows) or 1
        append(lake, table, [arrow_rows(table, table_rows[i : i + size]) for i in range(0, len(table_rows), size)])
    return {name: len(table_rows) for name, table_rows in rows.items()}


def write_fleet_lake(lake: Path, *, vehicles: int = 3, minutes: float = 10.0, end: datetime, seed: int = 42,
                     emergency_probability: float = 0.02, per_batch: int = 0,
                     catalog: Catalog | None = None) -> dict[str, int]:  # fmt: skip
    """A fleet's last ``minutes`` of driving, ending at ``end``, written into ``lake``; rows per table."""
    catalog = catalog or load_catalog()
    step = 5.0
    config = SimulationConfig(vehicles=vehicles, seed=seed, start_time=end - timedelta(minutes=minutes),
                              step_seconds=step, max_steps=int(minutes * 60 / step),
                              emergency_probability=emergency_probability, camera_spacing_m=1_000.0)  # fmt: skip
    return write_rows(lake, catalog, fleet_rows(config, catalog), per_batch=per_batch)


def latest(rows: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """The row with the latest event time per ``key``."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row[key] not in found or row["event_time"] >= found[row[key]]["event_time"]:
            found[row[key]] = row
    return found

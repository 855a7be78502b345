"""The lake's layout and the columns the streaming job adds to every entity's schema fields.

Both the streaming job (which writes them) and the catalog (which declares them) read this module,
so the Glue columns and the Parquet files cannot drift apart.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from core.errors import ConfigError

__all__ = [
    "DEFAULT_PROJECTION_START",
    "FUTURE_DAYS",
    "METADATA_FIELDS",
    "PARTITION_COLUMN",
    "QUARANTINE_DIR",
    "QUARANTINE_FIELDS",
    "projection_range",
    "projection_start",
]

PARTITION_COLUMN = "dt"
"""Event date in UTC, ``YYYY-MM-DD``: the only partition key of every table."""

QUARANTINE_DIR = "_quarantine"

DEFAULT_PROJECTION_START = "2024-01-01"
"""First ``dt`` of the tables (``TELEMETRY_PROJECTION_START``): Athena's partition projection starts here."""
FUTURE_DAYS = 1
"""How many days after its ingestion date an event's ``dt`` may be (clocks ahead across midnight)."""


def projection_start(text: str) -> date:
    """The projection's first date from its ``YYYY-MM-DD`` text.

    Raises:
        ConfigError: the text is not such a date.
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        msg = f"projection start must be a date like 2024-01-01, got {text!r}"
        raise ConfigError(msg) from exc


def projection_range(start: str) -> str:
    """Athena's ``projection.dt.range``: the days the catalog shows are exactly the days the job writes.

    The streaming job quarantines an event dated before ``start`` or more than :data:`FUTURE_DAYS`
    after the day it is ingested, so every row it writes is inside this range when it lands.
    """
    return f"{projection_start(start).isoformat()},NOW+{FUTURE_DAYS}DAYS"


# Avro-typed so that one type mapping (Avro -> Spark, Avro -> Glue, Avro -> DuckDB) serves them too.
_TIMESTAMP: dict[str, Any] = {"type": "long", "logicalType": "timestamp-millis"}

METADATA_FIELDS: tuple[dict[str, Any], ...] = (
    {"name": "kafka_topic", "type": "string", "doc": "Kafka topic the record was read from."},
    {"name": "kafka_partition", "type": "int", "doc": "Kafka partition of the record."},
    {"name": "kafka_offset", "type": "long", "doc": "Offset of the record in its partition."},
    {"name": "kafka_timestamp", "type": _TIMESTAMP, "doc": "Kafka message timestamp, UTC."},
    {"name": "schema_id", "type": "int", "doc": "Registry id of the writer schema of the record."},
    {"name": "ingested_at", "type": _TIMESTAMP, "doc": "When the streaming job wrote the record, UTC."},
)
"""Columns the streaming job appends after the schema's own fields, in this order."""

QUARANTINE_FIELDS: tuple[dict[str, Any], ...] = (
    {"name": "kafka_topic", "type": "string", "doc": "Kafka topic of the bad record."},
    {"name": "kafka_partition", "type": "int", "doc": "Kafka partition of the bad record."},
    {"name": "kafka_offset", "type": "long", "doc": "Offset of the bad record."},
    {"name": "kafka_timestamp", "type": _TIMESTAMP, "doc": "Kafka message timestamp, UTC."},
    {"name": "kafka_key", "type": ["null", "bytes"], "doc": "Raw key bytes."},
    {"name": "raw_value", "type": ["null", "bytes"], "doc": "Raw value bytes, as read from Kafka."},
    {"name": "schema_id", "type": ["null", "int"], "doc": "Schema id from the header, when there is one."},
    {"name": "reason", "type": "string", "doc": "Why the record was quarantined."},
    {"name": "ingested_at", "type": _TIMESTAMP, "doc": "When the streaming job quarantined it, UTC."},
)
"""Columns of ``<lake>/_quarantine/<entity>/`` (partitioned by ingestion date ``dt``)."""

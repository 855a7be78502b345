"""The rows a decoded batch writes: the entity table's (schema fields, Kafka metadata) and the quarantine's.

No partition column: the tables partition by the day of a time column (Iceberg's hidden partitioning).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from core.lake import METADATA_FIELDS, QUARANTINE_FIELDS
from streaming.decode import (
    _DECODED,
    _ID,
    _REASON,
    _VERDICT,
    INGESTED_AT,
    MAX_SCHEMA_ID,
    EntityPlan,
    decoded_column,
)
from streaming.reasons import reason_column, verdict_column

__all__ = ["checked_frame", "decoded_frame", "entity_frame", "good_rows", "quarantine_rows", "with_verdict"]


def decoded_frame(header: DataFrame, plan: EntityPlan) -> DataFrame:
    """One topic's rows of a header frame, decoded (when any id is usable)."""
    rows = header.filter(_topic_is(plan.topic))
    return rows.withColumn(_DECODED, decoded_column(plan)) if plan.writers else rows


def with_verdict(decoded: DataFrame, plan: EntityPlan) -> DataFrame:
    """A :func:`decoded_frame` with each row's ``_verdict``.

    ``_verdict`` is null for a good row, else the number of its quarantine case: what the write of
    the good rows needs, without the reason's text (see :func:`streaming.reasons.verdict_column`).
    """
    return decoded.withColumn(_VERDICT, verdict_column(plan))


def checked_frame(header: DataFrame, plan: EntityPlan) -> DataFrame:
    """:func:`decoded_frame` then :func:`with_verdict`."""
    return with_verdict(decoded_frame(header, plan), plan)


def entity_frame(header: DataFrame, plan: EntityPlan) -> DataFrame:
    """:func:`checked_frame` with each row's ``reason``: the text of its quarantine case, or null."""
    return checked_frame(header, plan).withColumn(_REASON, reason_column(plan))


@lru_cache(maxsize=64)
def _topic_is(topic: str) -> Column:
    return F.col("kafka_topic") == topic


def _safe_schema_id() -> Column:
    # ANSI casts fail on overflow: an id beyond a Java int (garbage header) stays null, its reason says it.
    return F.when(F.col(_ID) <= MAX_SCHEMA_ID, F.col(_ID).cast("int"))


def _ingested_at(ingested_at: datetime | None) -> Column:
    # The job's source has the batch's timestamp as a column (see streaming.job): as a literal here, it
    # would be inlined in the generated code, which Spark would then compile again for every batch.
    return F.col(INGESTED_AT) if ingested_at is None else F.lit(ingested_at)


def good_rows(frame: DataFrame, plan: EntityPlan, ingested_at: datetime | None = None) -> DataFrame:
    """Good rows of a :func:`checked_frame`: the reader schema's fields, then core.lake's metadata columns.

    ``ingested_at`` is the time to write, or None (the job) to take the frame's ``ingested_at`` column.
    """
    return frame.filter(_is_good()).select(*_good_columns(plan, ingested_at))


@lru_cache(maxsize=1)
def _is_good() -> Column:
    return F.col(_VERDICT).isNull()


@lru_cache(maxsize=64)
def _good_columns(plan: EntityPlan, ingested_at: datetime | None) -> tuple[Column, ...]:
    decoded = F.col(_DECODED)
    metadata: dict[str, Column] = {
        "kafka_topic": F.col("kafka_topic"),
        "kafka_partition": F.col("kafka_partition"),
        "kafka_offset": F.col("kafka_offset"),
        "kafka_timestamp": F.col("kafka_timestamp"),
        "schema_id": _safe_schema_id(),
        "ingested_at": _ingested_at(ingested_at),
    }
    columns = [decoded[name].alias(name) for name in plan.reader_fields]
    columns += [metadata[f["name"]].alias(f["name"]) for f in METADATA_FIELDS]
    return tuple(columns)


def quarantine_rows(frame: DataFrame, ingested_at: datetime | None = None) -> DataFrame:
    """Rows with a reason (of an :func:`entity_frame`) in the quarantine columns of core.lake.

    ``ingested_at`` as for :func:`good_rows`.
    """
    return frame.filter(F.col(_VERDICT).isNotNull()).select(*_quarantine_columns(ingested_at))


@lru_cache(maxsize=8)
def _quarantine_columns(ingested_at: datetime | None) -> tuple[Column, ...]:
    available: dict[str, Column] = {
        "kafka_topic": F.col("kafka_topic"),
        "kafka_partition": F.col("kafka_partition"),
        "kafka_offset": F.col("kafka_offset"),
        "kafka_timestamp": F.col("kafka_timestamp"),
        "kafka_key": F.col("kafka_key"),
        "raw_value": F.col("raw_value"),
        "schema_id": _safe_schema_id(),
        "reason": F.col(_REASON),
        "ingested_at": _ingested_at(ingested_at),
    }
    return tuple(available[f["name"]].alias(f["name"]) for f in QUARANTINE_FIELDS)

"""Decoding Confluent-framed Avro with Spark column functions: header, writer schema, quarantine reason.

Spark's ``from_avro`` cannot read the 5-byte Confluent header (magic byte 0, big-endian schema id),
and the usual shortcut, strip five bytes and decode everything with the latest schema, misreads every
record written with another version. Here the header is parsed with column functions, each record is
decoded with *its own* writer schema (one ``from_avro`` per usable schema id of the subject, chosen
by a ``CASE`` on the id) and resolved to the subject's latest schema through the ``avroSchema`` option.

Every record ends up either as a row of the entity table or in the quarantine with a reason that
starts with a stable code (``bad-magic-byte: ...``); a record that breaks a data rule of its writer
schema is quarantined as ``rule-violation: <rule>`` (:mod:`streaming.rule_sql`).
``from_avro`` in PERMISSIVE mode turns a body that does not decode into a struct of nulls; a required
(non-nullable) field that comes out null is that signal, so a bad body is quarantined instead of
becoming a row of nulls.

No I/O here: the plan (which ids decode with which writer schema, which are rejected and why) is
made by :mod:`streaming.resolver` from the registry.

The columns are built once per plan and reused by every batch the plan holds for: each pyspark
column function is a py4j call that looks its class up by name, and a batch of a few hundred
records would otherwise spend more time building its columns than decoding them.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, reduce
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

from core.data_rules import violation_reason
from core.lake import METADATA_FIELDS, PARTITION_COLUMN, QUARANTINE_FIELDS
from core.wire import HEADER_SIZE, MAGIC_BYTE
from streaming.rule_sql import writer_rule_checks

__all__ = [
    "EVENT_TIME_FIELD",
    "INGESTED_AT",
    "MAX_SCHEMA_ID",
    "EntityPlan",
    "decoded_column",
    "entity_frame",
    "good_rows",
    "quarantine_rows",
    "reason_column",
    "reason_foreign_id",
    "reason_not_avro",
    "reason_unknown_id",
    "required_fields",
    "unresolved_id",
    "with_header",
]

EVENT_TIME_FIELD = "event_time"
"""The schema field whose UTC date partitions the tables (``dt``)."""
MAX_SCHEMA_ID = 2**31 - 1
"""Registry ids are Java ints; a header id above this cannot be a registered schema."""

# Internal columns of the header frame, next to the Kafka metadata columns of core.lake.
_HEADER, _PROBLEM, _ID, _DECODED, _REASON = ("_header", "_problem", "_schema_id", "_decoded", "reason")
_ID_MASK = 2**32 - 1
INGESTED_AT = "ingested_at"
"""The batch's ingestion time column (the streaming job's source adds it; see :mod:`streaming.job`)."""


def reason_unknown_id(schema_id: int) -> str:
    """Quarantine reason: the registry does not know the id in the header."""
    return f"unknown-schema-id: schema id {schema_id} is not registered in the schema registry"


def reason_foreign_id(schema_id: int, subject: str, subjects: list[str]) -> str:
    """Quarantine reason: the id belongs to other subjects, not to this topic's."""
    owners = ", ".join(sorted(subjects)) or "no subject"
    return f"foreign-schema-id: schema id {schema_id} is registered for {owners}, not for {subject}"


def reason_not_avro(schema_id: int, detail: str) -> str:
    """Quarantine reason: the id's schema is not a usable Avro schema."""
    return f"not-avro-schema: schema id {schema_id} is not a usable Avro schema ({detail})"


def required_fields(schema: Mapping[str, Any] | str) -> tuple[str, ...]:
    """Top-level fields that can never be null in a decoded record (not a union with null)."""
    parsed = json.loads(schema) if isinstance(schema, str) else schema
    required = []
    for fld in parsed["fields"]:
        kind = fld["type"]
        if isinstance(kind, list) and ("null" in kind or {"type": "null"} in kind):
            continue
        if kind == "null":
            continue
        required.append(fld["name"])
    return tuple(required)


@dataclass(frozen=True)
class EntityPlan:
    """How to decode one topic's records in one micro-batch.

    Attributes:
        entity: the entity (lake table) name.
        topic: the physical Kafka topic (with prefix).
        subject: the physical registry subject (with prefix).
        reader_schema: the subject's latest schema, JSON text: the shape of the table.
        writers: schema id -> writer schema JSON, for every usable id (the subject's versions).
        rejected: schema id -> quarantine reason, for the unusable ids looked up so far.
    """

    entity: str
    topic: str
    subject: str
    reader_schema: str
    writers: Mapping[int, str] = field(default_factory=dict)
    rejected: Mapping[int, str] = field(default_factory=dict)

    @property
    def reader_fields(self) -> tuple[str, ...]:
        """The reader schema's top-level field names, in order: the table's first columns."""
        return tuple(f["name"] for f in json.loads(self.reader_schema)["fields"])

    def __hash__(self) -> int:
        """Plans are cache keys for their columns (the id maps are compared by their items)."""
        items = (tuple(sorted(self.writers.items())), tuple(sorted(self.rejected.items())))
        return hash((self.entity, self.topic, self.subject, self.reader_schema, *items))


def with_header(kafka: DataFrame) -> DataFrame:
    """Kafka source rows -> metadata columns plus the parsed header (problem, schema id).

    ``_problem`` is ``null-value``, ``short-value`` or ``bad-magic-byte`` when the header cannot be
    read, else null; ``_schema_id`` (a long: four unsigned bytes) is null exactly when there is a problem.
    An ``ingested_at`` column of the input is kept (see :func:`good_rows`).
    The five header bytes are read as one 40-bit number (magic byte, then the id): one conversion per
    record, in its own projection so that the later columns share it instead of computing it again.
    """
    columns, problem, schema_id = _header_columns(INGESTED_AT in kafka.columns)
    return kafka.select(*columns).withColumn(_PROBLEM, problem).withColumn(_ID, schema_id)


@lru_cache(maxsize=2)
def _header_columns(keep_ingested_at: bool) -> tuple[tuple[Column, ...], Column, Column]:
    value = F.col("value")
    columns = (
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        F.col("key").alias("kafka_key"),
        value.alias("raw_value"),
        *([F.col(INGESTED_AT)] if keep_ingested_at else []),
        F.conv(F.hex(F.substring(value, 1, HEADER_SIZE)), 16, 10).cast("long").alias(_HEADER),
    )
    raw = F.col("raw_value")
    problem = (
        F.when(raw.isNull(), F.lit("null-value"))
        .when(F.length(raw) < HEADER_SIZE, F.lit("short-value"))
        .when(F.shiftright(F.col(_HEADER), 32) != MAGIC_BYTE, F.lit("bad-magic-byte"))
    )
    return columns, problem, F.when(F.col(_PROBLEM).isNull(), F.col(_HEADER).bitwiseAND(F.lit(_ID_MASK)))


@lru_cache(maxsize=64)
def decoded_column(plan: EntityPlan) -> Column:
    """The decoded record (a struct of the reader schema): ``from_avro`` with the row's own writer schema."""
    options = {"avroSchema": plan.reader_schema, "mode": "PERMISSIVE"}
    # Only the branch of the row's id runs; a row with a header problem has no id and matches none.
    body = F.substr(F.col("raw_value"), F.lit(HEADER_SIZE + 1))
    expr: Column | None = None
    for schema_id, writer in sorted(plan.writers.items()):
        branch = from_avro(body, writer, options)
        condition = F.col(_ID) == F.lit(schema_id)
        expr = F.when(condition, branch) if expr is None else expr.when(condition, branch)
    if expr is None:
        msg = f"plan for {plan.topic} has no usable writer schema; nothing to decode"
        raise ValueError(msg)
    return expr


@lru_cache(maxsize=64)
def unresolved_id(plan: EntityPlan) -> Column:
    """The schema id of a row whose header is readable but whose id the plan does not cover, else null.

    The job decodes with the ids it already knows for the subject; a row with any other id is a
    quarantine case whose precise reason (unknown id, another subject's id) is asked of the registry
    only for those ids, only when there are any.
    """
    covered = sorted({*plan.writers, *plan.rejected})
    readable = F.col(_PROBLEM).isNull()
    return F.when(readable & ~F.col(_ID).isin(covered) if covered else readable, F.col(_ID))


@lru_cache(maxsize=64)
def reason_column(plan: EntityPlan) -> Column:
    """Why a row goes to the quarantine (a readable text starting with a stable code), or null when it is good."""
    sid = F.col(_ID)
    reason = (
        F.when(F.col(_PROBLEM) == "null-value", F.lit("null-value: the record has no value (a tombstone?)"))
        .when(
            F.col(_PROBLEM) == "short-value",
            F.concat(
                F.lit("short-value: the value has "),
                F.length(F.col("raw_value")).cast("string"),
                F.lit(f" bytes, fewer than the {HEADER_SIZE}-byte Confluent header"),
            ),
        )
        .when(
            F.col(_PROBLEM) == "bad-magic-byte",
            F.concat(
                F.lit("bad-magic-byte: the first byte is "),
                F.shiftright(F.col(_HEADER), 32).cast("string"),
                F.lit(f", expected {MAGIC_BYTE} (not Confluent wire format)"),
            ),
        )
    )
    for schema_id, text in sorted(plan.rejected.items()):
        reason = reason.when(sid == F.lit(schema_id), F.lit(text))
    if plan.writers:
        reason = reason.when(
            ~sid.isin(list(plan.writers)),
            F.concat(F.lit("unknown-schema-id: schema id "), sid.cast("string"), F.lit(" was not resolved")),
        )
        decoded = F.col(_DECODED)
        required = required_fields(plan.reader_schema) or plan.reader_fields
        failed = [decoded[name].isNull() for name in required]
        # A struct of nulls is what PERMISSIVE makes of a bad body; with no required field, all-null is the tell.
        bad_body = reduce(operator.or_ if required_fields(plan.reader_schema) else operator.and_, failed)
        reason = reason.when(
            bad_body,
            F.concat(
                F.lit("undecodable-body: the Avro body does not decode with writer schema id "),
                sid.cast("string"),
                F.lit(f" into the latest schema of {plan.subject}"),
            ),
        )
        for schema_id, rule, violated in writer_rule_checks(plan.writers, plan.reader_schema, _DECODED):
            reason = reason.when((sid == F.lit(schema_id)) & F.expr(violated), F.lit(violation_reason(rule)))
    else:
        reason = reason.otherwise(
            F.concat(F.lit("unknown-schema-id: schema id "), sid.cast("string"), F.lit(" was not resolved"))
        )
    return reason


def entity_frame(header: DataFrame, plan: EntityPlan) -> DataFrame:
    """One topic's rows of a header frame, decoded (when any id is usable) and with their ``reason``."""
    rows = header.filter(_topic_is(plan.topic))
    if plan.writers:
        rows = rows.withColumn(_DECODED, decoded_column(plan))
    return rows.withColumn(_REASON, reason_column(plan))


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
    """Rows without a reason: the reader schema's fields, then core.lake's metadata columns, then ``dt``.

    ``ingested_at`` is the time to write, or None (the job) to take the frame's ``ingested_at`` column.
    ``dt`` is a date (the event's UTC date): Spark names the partition folders ``dt=YYYY-MM-DD`` from
    it, and deriving a date is cheaper per record than formatting a text.
    """
    return frame.filter(_is_good()).select(*_good_columns(plan, ingested_at))


@lru_cache(maxsize=1)
def _is_good() -> Column:
    return F.col(_REASON).isNull()


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
    columns.append(F.to_date(decoded[EVENT_TIME_FIELD]).alias(PARTITION_COLUMN))
    return tuple(columns)


def quarantine_rows(frame: DataFrame, ingested_at: datetime | None = None) -> DataFrame:
    """Rows with a reason, in core.lake's quarantine columns, partitioned by ingestion date ``dt``.

    ``ingested_at`` as for :func:`good_rows`.
    """
    return frame.filter(F.col(_REASON).isNotNull()).select(*_quarantine_columns(ingested_at))


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
    columns = [available[f["name"]].alias(f["name"]) for f in QUARANTINE_FIELDS]
    columns.append(F.to_date(available["ingested_at"]).alias(PARTITION_COLUMN))
    return tuple(columns)

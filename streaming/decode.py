"""Decoding Confluent-framed Avro with Spark column functions: the header, then the record's own writer schema.

Spark's ``from_avro`` cannot read the 5-byte Confluent header (magic byte 0, big-endian schema id),
and the usual shortcut, strip five bytes and decode everything with the latest schema, misreads every
record written with another version. Here the header is parsed with column functions, each record is
decoded with *its own* writer schema (one ``from_avro`` per usable schema id of the subject, chosen
by a ``CASE`` on the id) and resolved to the subject's latest schema through the ``avroSchema`` option.

Every record ends up either as a row of the entity table or in the quarantine with a reason that
starts with a stable code (``bad-magic-byte: ...``). ``from_avro`` in PERMISSIVE mode turns a body
that does not decode into a struct of nulls; a required (non-nullable) field that comes out null is
that signal, so a bad body is quarantined instead of becoming a row of nulls.

No I/O here: the plan (which ids decode with which writer schema, which are rejected and why) is
made by :mod:`streaming.resolver` from the registry. The quarantine reasons are columns of
:mod:`streaming.reasons`; the table and quarantine rows are selected by :mod:`streaming.rows`.

The columns are built once per plan and reused by every batch the plan holds for: each pyspark
column function is a py4j call that looks its class up by name, and a batch of a few hundred
records would otherwise spend more time building its columns than decoding them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

from core.avro_model import parse_schema
from core.lake import DEFAULT_PROJECTION_START
from core.wire import HEADER_SIZE, MAGIC_BYTE

__all__ = [
    "EVENT_TIME_FIELD",
    "INGESTED_AT",
    "MAX_SCHEMA_ID",
    "EntityPlan",
    "decoded_column",
    "unresolved_id",
    "with_header",
]

EVENT_TIME_FIELD = "event_time"
"""The schema field whose UTC date partitions the tables (``dt``)."""
MAX_SCHEMA_ID = 2**31 - 1
"""Registry ids are Java ints; a header id above this cannot be a registered schema."""

# Internal columns of the header frame, next to the Kafka metadata columns of core.lake.
_HEADER, _PROBLEM, _ID, _DECODED, _REASON = ("_header", "_problem", "_schema_id", "_decoded", "reason")
_VERDICT = "_verdict"  # the number of a row's quarantine case (streaming.reasons), null for a good row
_ID_MASK = 2**32 - 1
_END_FIELD = "_telemetry_body_end"
_END_MARK = bytes.fromhex("a5e1f0c3b2d49687")  # arbitrary; extra bytes that begin with exactly these go unseen
INGESTED_AT = "ingested_at"
"""The batch's ingestion time column (the streaming job's source adds it; see :mod:`streaming.job`)."""


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
        first_day: the first event date the lake takes (``YYYY-MM-DD``, the catalog's projection start).
    """

    entity: str
    topic: str
    subject: str
    reader_schema: str
    writers: Mapping[int, str] = field(default_factory=dict)
    rejected: Mapping[int, str] = field(default_factory=dict)
    first_day: str = DEFAULT_PROJECTION_START

    @property
    def reader_fields(self) -> tuple[str, ...]:
        """The reader schema's top-level field names, in order: the table's first columns."""
        return tuple(f.name for f in parse_schema(self.reader_schema).record.fields)

    def __hash__(self) -> int:
        """Plans are cache keys for their columns (the id maps are compared by their items)."""
        items = (tuple(sorted(self.writers.items())), tuple(sorted(self.rejected.items())))
        return hash((self.entity, self.topic, self.subject, self.reader_schema, self.first_day, *items))


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


def _with_end(schema: str) -> str:
    """``schema`` with one more last field, the fixed-size end mark (see :func:`decoded_column`)."""
    parsed = json.loads(schema)
    mark = {"type": "fixed", "name": "BodyEnd", "namespace": "telemetry.wire", "size": len(_END_MARK)}
    return json.dumps({**parsed, "fields": [*parsed["fields"], {"name": _END_FIELD, "type": mark}]})


@lru_cache(maxsize=64)
def decoded_column(plan: EntityPlan, *, checked_end: bool = True) -> Column:
    """The decoded record (a struct of the reader schema): ``from_avro`` with the row's own writer schema.

    ``from_avro`` stops reading where the writer schema's fields end and ignores any bytes after them,
    so a valid body followed by other bytes would decode as a normal record. With ``checked_end`` (the
    default) the body is decoded with an end mark appended, as one more fixed-size field of writer and
    reader schema: the struct's ``_telemetry_body_end`` equals the mark exactly when the body was read
    to its last byte. Without it, the plain decode, used only to tell a cut-short body from a long one.
    """
    reader, suffix = plan.reader_schema, F.lit(_END_MARK)
    options = {"avroSchema": _with_end(reader) if checked_end else reader, "mode": "PERMISSIVE"}
    # Only the branch of the row's id runs; a row with a header problem has no id and matches none.
    body = F.substr(F.col("raw_value"), F.lit(HEADER_SIZE + 1))
    if checked_end:
        body = F.concat(body, suffix)
    expr: Column | None = None
    for schema_id, writer in sorted(plan.writers.items()):
        branch = from_avro(body, _with_end(writer) if checked_end else writer, options)
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

"""Why a record goes to the quarantine: reason texts that start with a stable code, and the column that picks one.

Codes: ``null-value``, ``short-value``, ``bad-magic-byte`` (header), ``unknown-schema-id``,
``foreign-schema-id``, ``not-avro-schema`` (the id), ``undecodable-body``, ``trailing-bytes`` (the
body), ``event-time-before-start``, ``event-time-future`` (a ``dt`` the catalog could not show), and
``rule-violation: <rule>`` for a record that breaks a data rule of its writer schema, and
``rule-unchecked`` for a record whose writer schema has a rule the job cannot check
(:mod:`streaming.rule_sql`).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from functools import lru_cache, reduce
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from core.avro_model import non_null, parse_schema
from core.lake import FUTURE_DAYS
from core.wire import HEADER_SIZE, MAGIC_BYTE
from streaming.decode import (
    _DECODED,
    _END_FIELD,
    _END_MARK,
    _HEADER,
    _ID,
    _PROBLEM,
    EVENT_TIME_FIELD,
    INGESTED_AT,
    EntityPlan,
    decoded_column,
)
from streaming.rule_sql import writer_rule_reasons

__all__ = ["reason_column", "reason_foreign_id", "reason_not_avro", "reason_unknown_id", "required_fields"]


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
    return tuple(f.name for f in parse_schema(schema).record.fields if not non_null(f.type)[1])


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
            _unknown_text(plan.subject),
        )
        decoded = F.col(_DECODED)
        required = required_fields(plan.reader_schema) or plan.reader_fields
        failed = [decoded[name].isNull() for name in required]
        # A struct of nulls is what PERMISSIVE makes of a bad body; with no required field, all-null is the tell.
        bad_body = reduce(operator.or_ if required_fields(plan.reader_schema) else operator.and_, failed)
        undecodable = F.concat(
            F.lit("undecodable-body: the Avro body does not decode with writer schema id "),
            sid.cast("string"),
            F.lit(f" into the latest schema of {plan.subject}"),
        )
        # The end mark was not read right after the body: bytes follow it, or the body was cut short and
        # its last fields took the mark's bytes; only then is the plain decode run, to tell which.
        plain = decoded_column(plan, checked_end=False)
        cut_short = reduce(operator.or_ if required_fields(plan.reader_schema) else operator.and_,
                           [plain[name].isNull() for name in required])  # fmt: skip
        trailing = F.concat(
            F.lit("trailing-bytes: bytes follow the Avro body of writer schema id "),
            sid.cast("string"),
            F.lit("; a record is its 5-byte header and exactly one body"),
        )
        reason = reason.when(bad_body, undecodable).when(
            ~decoded[_END_FIELD].eqNullSafe(F.lit(_END_MARK)), F.when(cut_short, undecodable).otherwise(trailing)
        )
        reason = _event_time_reasons(reason, plan)
        for schema_id, text, applies in writer_rule_reasons(plan.writers, plan.reader_schema, _DECODED):
            reason = reason.when((sid == F.lit(schema_id)) & F.expr(applies), F.lit(text))
    else:
        reason = reason.otherwise(_unknown_text(plan.subject))
    return reason


def _event_time_reasons(reason: Column, plan: EntityPlan) -> Column:
    """Events the catalog could not show: dated before its first day, or after the day after ingestion.

    Athena projects ``dt`` from the projection start to ``NOW+1DAYS`` (:func:`core.lake.projection_range`);
    a row outside that range would be in DuckDB but never in Athena, so it is quarantined instead.
    The bound is the batch's ``ingested_at`` (kept in the checkpoint), so a replay decides the same.
    """
    day = F.to_date(F.col(_DECODED)[EVENT_TIME_FIELD])
    shown = F.col(_DECODED)[EVENT_TIME_FIELD].cast("string")
    return reason.when(
        day < F.lit(plan.first_day).cast("date"),
        F.concat(
            F.lit("event-time-before-start: event_time "),
            shown,
            F.lit(f" is before {plan.first_day}, the first day of the catalog's tables (TELEMETRY_PROJECTION_START)"),
        ),
    ).when(
        day > F.date_add(F.to_date(F.col(INGESTED_AT)), FUTURE_DAYS),
        F.concat(
            F.lit("event-time-future: event_time "),
            shown,
            F.lit(f" is more than {FUTURE_DAYS} day(s) after the record was ingested (a clock far ahead?)"),
        ),
    )


def _unknown_text(subject: str) -> Column:
    # Not looked up one by one (a batch of made-up ids must not cost a registry call each), but true either way.
    return F.concat(
        F.lit("unknown-schema-id: schema id "),
        F.col(_ID).cast("string"),
        F.lit(f" is not a registered version of {subject}"),
    )

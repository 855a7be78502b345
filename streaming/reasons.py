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
from dataclasses import dataclass
from datetime import date
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
    _VERDICT,
    EVENT_TIME_FIELD,
    INGESTED_AT,
    EntityPlan,
    decoded_column,
)
from streaming.rule_sql import writer_rule_reasons

__all__ = [
    "reason_column",
    "reason_foreign_id",
    "reason_not_avro",
    "reason_unknown_id",
    "required_fields",
    "verdict_column",
]

_EPOCH_DAY = date(1970, 1, 1)
_DAY_MICROS = 86_400_000_000


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


@dataclass(frozen=True)
class _Check:
    """One quarantine case: the condition that catches a record, and the reason text it gets."""

    when: Column
    text: Column


@lru_cache(maxsize=64)
def verdict_column(plan: EntityPlan) -> Column:
    """The number of the first quarantine case a row meets (1, 2, ...), or null when the row is good.

    This is what the batch's hot path computes per record, each check (a data rule above all) once:
    a ``CASE`` of conditions that yield a small number, with no text built. The reason's text is
    derived from that number by :func:`reason_column`, only for the rows that have one. Why not the
    text itself: every text is code of the query's generated method, and a method above 8,000 bytes
    of bytecode is never compiled by the JVM's JIT (HotSpot's ``HugeMethodLimit``): with the rules
    the method ran interpreted, at several times the cost per record (docs/benchmarks.md,
    "Streaming: where the time goes").
    """
    checks = _checks(plan)
    verdict = F.when(checks[0].when, F.lit(1))
    for number, check in enumerate(checks[1:], start=2):
        verdict = verdict.when(check.when, F.lit(number))
    return verdict


@lru_cache(maxsize=64)
def reason_column(plan: EntityPlan) -> Column:
    """Why a row goes to the quarantine (a readable text starting with a stable code), or null when it is good.

    Derived from the row's ``_verdict`` column (:func:`verdict_column`): no check runs again.
    """
    checks = _checks(plan)
    verdict = F.col(_VERDICT)
    reason = F.when(verdict == F.lit(1), checks[0].text)
    for number, check in enumerate(checks[1:], start=2):
        reason = reason.when(verdict == F.lit(number), check.text)
    return reason


@lru_cache(maxsize=64)
def _checks(plan: EntityPlan) -> tuple[_Check, ...]:
    """The quarantine cases of the plan's rows, in the order they are decided."""
    sid = F.col(_ID)
    problem = F.col(_PROBLEM)
    checks = [
        _Check(problem == "null-value", F.lit("null-value: the record has no value (a tombstone?)")),
        _Check(
            problem == "short-value",
            F.concat(
                F.lit("short-value: the value has "),
                F.length(F.col("raw_value")).cast("string"),
                F.lit(f" bytes, fewer than the {HEADER_SIZE}-byte Confluent header"),
            ),
        ),
        _Check(
            problem == "bad-magic-byte",
            F.concat(
                F.lit("bad-magic-byte: the first byte is "),
                F.shiftright(F.col(_HEADER), 32).cast("string"),
                F.lit(f", expected {MAGIC_BYTE} (not Confluent wire format)"),
            ),
        ),
    ]
    checks += [_Check(sid == F.lit(schema_id), F.lit(text)) for schema_id, text in sorted(plan.rejected.items())]
    if not plan.writers:
        return (*checks, _Check(F.lit(True), _unknown_text(plan.subject)))
    checks.append(_Check(~sid.isin(list(plan.writers)), _unknown_text(plan.subject)))
    undecodable = F.concat(
        F.lit("undecodable-body: the Avro body does not decode with writer schema id "),
        sid.cast("string"),
        F.lit(f" into the latest schema of {plan.subject}"),
    )
    trailing = F.concat(
        F.lit("trailing-bytes: bytes follow the Avro body of writer schema id "),
        sid.cast("string"),
        F.lit("; a record is its 5-byte header and exactly one body"),
    )
    # The end mark was not read right after the body: bytes follow it, or the body was cut short and
    # its last fields took the mark's bytes; only for the text is the plain decode run, to tell which.
    cut_short = _failed(decoded_column(plan, checked_end=False), plan)
    ended = F.col(_DECODED)[_END_FIELD].eqNullSafe(F.lit(_END_MARK))
    checks += [
        _Check(_failed(F.col(_DECODED), plan), undecodable),
        _Check(~ended, F.when(cut_short, undecodable).otherwise(trailing)),
        *_event_time_checks(plan),
    ]
    for ids, text, violated in _rule_checks(plan):
        checks.append(_Check(sid.isin(list(ids)) & F.expr(violated), F.lit(text)))
    return tuple(checks)


def _failed(decoded: Column, plan: EntityPlan) -> Column:
    """Whether a decoded struct is what PERMISSIVE makes of a body that does not decode: a struct of nulls.

    A body that decodes has every required (non-nullable) field set, and one that does not has none:
    one required field tells them apart. Without any required field, every field null is the tell.
    """
    required = required_fields(plan.reader_schema)
    if required:
        return decoded[required[0]].isNull()
    return reduce(operator.and_, [decoded[name].isNull() for name in plan.reader_fields])


def _rule_checks(plan: EntityPlan) -> list[tuple[tuple[int, ...], str, str]]:
    """The rules of the plan's writer ids as (ids, reason, violation SQL), one entry per rule shared by versions.

    Versions of a subject mostly carry the same rules: a rule is checked once for every id that has it
    (``_schema_id IN (...)``) instead of once per id, which keeps the generated code from growing with
    each version. Each id's rules stay in its own schema's order (its first broken rule names the
    reason): a rule that would come before one of the id's earlier rules gets an entry of its own.
    """
    merged: list[tuple[list[int], str, str]] = []
    last: dict[int, int] = {}
    # A rule the job cannot check for a writer comes as its ``rule-unchecked`` reason with the SQL ``TRUE``.
    for schema_id, rule, violated in writer_rule_reasons(plan.writers, plan.reader_schema, _DECODED):
        after = last.get(schema_id, -1)
        found = next((n for n in range(after + 1, len(merged)) if merged[n][1:] == (rule, violated)), None)
        if found is None:
            merged.append(([], rule, violated))
            found = len(merged) - 1
        merged[found][0].append(schema_id)
        last[schema_id] = found
    return [(tuple(ids), rule, violated) for ids, rule, violated in merged]


def _event_time_checks(plan: EntityPlan) -> list[_Check]:
    """Events dated before the catalog's first day, or after the day after their ingestion: quarantined.

    The first day is ``TELEMETRY_PROJECTION_START``; a day after ingestion is a clock far ahead.

    The bound is the batch's ``ingested_at`` (kept in the checkpoint), so a replay decides the same.
    """
    # In microseconds of UTC days (the session's zone), not dates: the check runs for every record, and Spark
    # turns a timestamp into a date through a zoned date-time object each time (docs/benchmarks.md).
    micros = F.unix_micros(F.col(_DECODED)[EVENT_TIME_FIELD])
    ingested = F.unix_micros(F.col(INGESTED_AT))
    first = (date.fromisoformat(plan.first_day) - _EPOCH_DAY).days * _DAY_MICROS
    after_future = ingested - F.pmod(ingested, F.lit(_DAY_MICROS)) + (FUTURE_DAYS + 1) * _DAY_MICROS
    shown = F.col(_DECODED)[EVENT_TIME_FIELD].cast("string")
    return [
        _Check(
            micros < F.lit(first),
            F.concat(
                F.lit("event-time-before-start: event_time "),
                shown,
                F.lit(
                    f" is before {plan.first_day}, the first day of the catalog's tables (TELEMETRY_PROJECTION_START)"
                ),
            ),
        ),
        _Check(
            micros >= after_future,
            F.concat(
                F.lit("event-time-future: event_time "),
                shown,
                F.lit(f" is more than {FUTURE_DAYS} day(s) after the record was ingested (a clock far ahead?)"),
            ),
        ),
    ]


def _unknown_text(subject: str) -> Column:
    # Not looked up one by one (a batch of made-up ids must not cost a registry call each), but true either way.
    return F.concat(
        F.lit("unknown-schema-id: schema id "),
        F.col(_ID).cast("string"),
        F.lit(f" is not a registered version of {subject}"),
    )

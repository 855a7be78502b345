"""The data rules each writer schema carries, as Spark SQL conditions over the decoded record.

A record is held to the rules of the schema it was written with: the writer schema registered for
the id in its header (a rule added later applies from the version that added it on). The conditions
are SQL over the decoded struct, so Spark checks them in its generated code, without Python per
record (:mod:`core.cel_sql`).

Fail closed. The decoded struct has the shape of the subject's latest schema, so a rule of an older
version that reads a field the latest schema no longer has (or whose type changed under it) cannot be
checked here, nor can any rule of a writer schema whose rules do not parse or leave the subset. Such
a rule is never skipped: every record of that writer id goes to the quarantine with the reason
``rule-unchecked: ...`` (its own code, naming the rule and the writer schema id), and the job logs
it once. Quarantining rather than refusing to start keeps the other writer versions flowing, as an
unknown schema id does (docs/schema-evolution.md, "Where rules are enforced").

CEL's ``now`` is the batch's ``ingested_at`` (the batch's timestamp, which Spark keeps in the
checkpoint): a replayed batch judges its records as the first attempt did, and no time is written
into the generated code, which Spark would otherwise compile again for every batch (about a
second of CPU per batch of each query; docs/benchmarks.md, "Latency").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache

from core.cel_sql import violation_sql
from core.cel_subset import compile_rule
from core.data_rules import enforced, rules_of, violation_reason
from core.errors import SchemaError
from streaming.decode import INGESTED_AT

__all__ = ["UNCHECKED", "unchecked_reason", "writer_rule_reasons"]

log = logging.getLogger(__name__)

UNCHECKED = "rule-unchecked"
"""The quarantine code of a record whose writer schema has a rule the job cannot check."""
_ALWAYS = "TRUE"


def unchecked_reason(schema_id: int, problem: str) -> str:
    """Quarantine reason: a rule of writer schema ``schema_id`` cannot be checked at ingest (``problem`` says which)."""
    return f"{UNCHECKED}: writer schema id {schema_id}: {problem}; the records wait here until it is fixed"


@lru_cache(maxsize=256)
def _checks(writer: str, reader: str, root: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """(rule name, violation SQL) per enforced rule and ""; or no checks and why a rule cannot be checked."""
    try:
        rules = enforced(rules_of(writer, what="writer schema"))
    except (SchemaError, ValueError) as exc:
        return (), f"its rules cannot be read ({exc})"
    checks = []
    for rule in rules:
        try:
            compile_rule(rule.expr, writer, what=f"rule {rule.name}")
            tree = compile_rule(rule.expr, reader, what=f"rule {rule.name} on the latest schema")
        except SchemaError as exc:
            return (), str(exc)
        checks.append((rule.name, violation_sql(tree, root, now=f"`{INGESTED_AT}`")))
    return tuple(checks), ""


def writer_rule_reasons(writers: Mapping[int, str], reader: str, root: str) -> list[tuple[int, str, str]]:
    """For each writer schema id: (id, quarantine reason, SQL true exactly when a record gets that reason).

    One entry per rule (``onFailure`` ERROR) with the reason ``rule-violation: <rule>``; or, for a writer
    whose rules cannot all be checked against the latest schema, one entry whose SQL is always true and
    whose reason is :func:`unchecked_reason` (nothing is skipped).

    Args:
        writers: schema id -> writer schema text, as registered.
        reader: the latest schema's text, the shape of the decoded struct.
        root: the decoded struct's column name.

    Returns:
        In id order, then in the schema's rule order.
    """
    out: list[tuple[int, str, str]] = []
    for sid in sorted(writers):
        checks, problem = _checks(writers[sid], reader, root)
        if problem:
            reason = unchecked_reason(sid, problem)
            _log_unchecked(reason)
            out.append((sid, reason, _ALWAYS))
        out += [(sid, violation_reason(name), sql) for name, sql in checks]
    return out


@lru_cache(maxsize=256)
def _log_unchecked(reason: str) -> None:
    log.error("quarantining every record of a writer schema: %s", reason)

"""The data rules each writer schema carries, as Spark SQL conditions over the decoded record.

A record is held to the rules of the schema it was written with: the writer schema registered for
the id in its header (a rule added later applies from the version that added it on). The conditions
are SQL over the decoded struct, so Spark checks them in its generated code, without Python per
record (:mod:`core.cel_sql`).

The decoded struct has the shape of the subject's latest schema. A rule of an older version that
reads a field the latest schema no longer has cannot be checked here (the producer checked it); it
is left out with a warning, as are the rules of a writer schema that cannot be read.

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
from core.data_rules import enforced, rules_of
from core.errors import SchemaError
from streaming.decode import INGESTED_AT

__all__ = ["writer_rule_checks"]

log = logging.getLogger(__name__)


@lru_cache(maxsize=256)
def _checks(writer: str, reader: str, root: str) -> tuple[tuple[str, str], ...]:
    try:
        rules = enforced(rules_of(writer, what="writer schema"))
    except (SchemaError, ValueError) as exc:
        log.warning("not checking the rules of a writer schema: %s", exc)
        return ()
    checks = []
    for rule in rules:
        try:
            compile_rule(rule.expr, writer, what=f"rule {rule.name}")
            tree = compile_rule(rule.expr, reader, what=f"rule {rule.name} on the latest schema")
        except SchemaError as exc:
            log.warning("not checking %s at ingest: %s", rule.name, exc)
            continue
        checks.append((rule.name, violation_sql(tree, root, now=f"`{INGESTED_AT}`")))
    return tuple(checks)


def writer_rule_checks(writers: Mapping[int, str], reader: str, root: str) -> list[tuple[int, str, str]]:
    """For each writer schema id and each of its rules (``onFailure`` ERROR): (id, rule name, violation SQL).

    Args:
        writers: schema id -> writer schema text, as registered.
        reader: the latest schema's text, the shape of the decoded struct.
        root: the decoded struct's column name.

    Returns:
        In id order, then in the schema's rule order: the SQL is true exactly when the record breaks the rule.
    """
    return [(sid, name, sql) for sid in sorted(writers) for name, sql in _checks(writers[sid], reader, root)]

"""A data rule's typed CEL tree (:mod:`core.cel_subset`) as a Spark SQL condition over a struct column.

The streaming job checks rules with these conditions, inside the query's generated code: no Python
runs per record. SQL's NULL is CEL's error (SQL's three-valued ``AND``, ``OR`` and ``NOT`` treat it
as CEL treats an error: ``false && error`` is false, ``true || error`` true, ``!error`` an error), and
a field's NULL is also CEL's null where the subset lets a null be read (a field compared or looked up
in a list directly). Where CEL and Spark SQL differ, the translation follows the reference
(common-expression-language, see :mod:`core.cel_subset`), and tests/unit/test_rule_differential.py
holds it to it:

- a ternary whose condition is NULL (null or NaN ordered: an error) is NULL, not its else branch;
- a null field is in no list (``coalesce(x IN (...), FALSE)``), where Spark's ``NULL IN`` is NULL;
- ``-x`` of the smallest int64 is itself, as in the reference, where ANSI SQL fails the batch;
- a timestamp moved beyond the years 1 to 9999 is NULL (an error), as in CEL;
- an Avro ``int`` or ``float`` field is read as BIGINT or DOUBLE: CEL computes in int64 and double
  (``x + x`` of an int32 field near its limit is no overflow);
- NaN equals nothing (``!=`` is true when a side is NaN), where Spark's ``=`` has NaN equal to
  itself; and an ordering (``<``, ``>=``...) with NaN fails the rule however it is negated, as in
  common-expression-language, which raises there (the CEL spec, and cel-python, say false, so
  ``!(x > 0.0)`` passes NaN in Confluent's clients: write ranges positively); Spark would sort NaN
  above every number;
- ``x == null`` is ``IS NULL``, and ``==`` on an optional field is Spark's null-safe ``<=>`` (in
  CEL, null equals null and nothing else), kept NULL when its other side is an error; an ordering
  with a null field is an error in CEL (the record fails the rule) and NULL in Spark, which
  :func:`violation_sql` counts as a failure too;
- ``+`` and ``-`` overflow: an error in CEL, ``try_add``/``try_subtract`` give NULL in Spark
  (a failure again) instead of failing the whole batch as ANSI arithmetic would;
- ``size()`` is for bytes only (``length``): for a string, CEL engines disagree (code points in the
  spec and cel-python, UTF-8 bytes in common-expression-language), so the subset leaves it out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.cel_types import Node

__all__ = ["condition_sql", "violation_sql"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_INT64_MIN = -(2**63)
_WIDE = {"int": "BIGINT", "double": "DOUBLE"}
_TIME_RANGE_MICROS = (-62135596800000000, 253402300799999999)
_TIME_RANGE = tuple(f"timestamp_micros({m}L)" for m in _TIME_RANGE_MICROS)
_LOGIC = {"&&": "AND", "||": "OR"}
_COMPARE = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}
_NOW = "current_timestamp()"
_STRING_CALLS = {"startsWith": "startswith", "endsWith": "endswith", "contains": "contains"}


def _quote_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _literal(node: Node) -> str:
    value: Any = node.value
    if node.type == "null":
        return "NULL"
    if node.type == "bool":
        return "TRUE" if value else "FALSE"
    if node.type == "int":
        return f"{int(value)}L"
    if node.type == "double":
        return f"CAST({float(value)!r} AS DOUBLE)"
    if node.type == "string":
        return _string(str(value))
    if node.type == "bytes":
        return f"X'{bytes(value).hex().upper()}'"
    if node.type == "timestamp":
        micros = (value - _EPOCH) // dt.timedelta(microseconds=1)
        return f"timestamp_micros({micros}L)"
    if node.type == "duration":
        micros = value // dt.timedelta(microseconds=1)
        return f"make_dt_interval(0, 0, 0, {micros / 1_000_000:.6f})"
    msg = f"no Spark SQL literal for CEL type {node.type}"
    raise ValueError(msg)


def _nan(node: Node, sql: str) -> list[str]:
    return [f"coalesce(isnan({sql}), FALSE)"] if node.type == "double" and node.kind != "literal" else []


def _compare(node: Node, root: str, now: str) -> str:
    left, right = node.args
    op = str(node.value)
    if op == "in":
        value = _sql(left, root, now)
        items = ", ".join(_sql(i, root, now) for i in right.args)  # literals only (core.cel_subset)
        found = f"({value} IN ({items}))" if items else f"(CASE WHEN {value} IS NOT NULL THEN FALSE END)"
        # A null field is in no list (CEL); any other NULL is an error and stays NULL.
        return f"coalesce({found}, FALSE)" if left.kind == "field" else found
    if op in ("==", "!=") and "null" in (left.type, right.type):
        other = right if left.type == "null" else left
        return f"({_sql(other, root, now)} IS {'NOT ' if op == '!=' else ''}NULL)"
    a, b = _sql(left, root, now), _sql(right, root, now)
    nan = _nan(left, a) + _nan(right, b)
    if op in ("==", "!=") and (left.nullable or right.nullable):
        # CEL's null == null is true and null == 1.0 false: Spark's null-safe <=>, not = (which gives NULL).
        # The side that is not a field or a literal is NULL only for an error, which must stay NULL.
        equal = f"(({a} <=> {b}){''.join(f' AND NOT {n}' for n in nan)})"
        equal = equal if op == "==" else f"(NOT {equal})"
        errors = [f"{sql} IS NULL" for side, sql in ((left, a), (right, b)) if side.kind not in ("field", "literal")]
        return f"(CASE WHEN {' OR '.join(errors)} THEN NULL ELSE {equal} END)" if errors else equal
    if op == "!=" and nan:
        return f"(({a} <> {b}) OR {' OR '.join(nan)})"
    if op == "==" and nan:
        return f"(({a} = {b}){''.join(f' AND NOT {n}' for n in nan)})"
    if nan:  # an ordering with NaN: unknown, so the rule fails however it is negated (see the module docstring)
        return f"(CASE WHEN {' OR '.join(nan)} THEN NULL ELSE ({a} {_COMPARE[op]} {b}) END)"
    return f"({a} {_COMPARE[op]} {b})"


def _sql(node: Node, root: str, now: str) -> str:
    if node.kind == "field":
        column = ".".join([root, *(_quote_name(p) for p in node.value)])
        # CEL has one int (int64) and one double: an Avro int or float would overflow or round in its own type.
        return f"CAST({column} AS {_WIDE[node.type]})" if node.type in _WIDE else column
    if node.kind == "literal":
        return _literal(node)
    if node.kind == "now":
        return now
    if node.kind == "unary":
        operand = _sql(node.args[0], root, now)
        if node.value == "!":
            return f"(NOT {operand})"
        if node.type == "int":  # common-expression-language wraps -(-2^63) to itself; ANSI SQL would fail the batch
            return f"(CASE WHEN {operand} = {_INT64_MIN}L THEN {operand} ELSE (- {operand}) END)"
        return f"(- {operand})"
    if node.kind == "cond":
        # A NULL condition (CEL's error) is an error, not the else branch.
        test, then, other = (_sql(a, root, now) for a in node.args)
        return f"(CASE WHEN {test} THEN {then} WHEN NOT {test} THEN {other} END)"
    if node.kind == "call":
        args = [_sql(a, root, now) for a in node.args]
        if node.value == "size":
            return f"CAST(length({args[0]}) AS BIGINT)"
        return f"{_STRING_CALLS[str(node.value)]}({', '.join(args)})"
    if node.kind == "binary" and node.value in _LOGIC:
        left, right = (_sql(a, root, now) for a in node.args)
        return f"({left} {_LOGIC[str(node.value)]} {right})"
    if node.kind == "binary" and node.value in ("+", "-"):
        left, right = (_sql(a, root, now) for a in node.args)
        add = "try_add" if node.value == "+" else "try_subtract"
        moved = _moved_by_literal(node, left, right, add)
        if moved:
            return moved
        result = f"{add}({left}, {right})"
        if node.type == "timestamp":  # CEL's timestamps end at the years 1 and 9999; Spark's go further
            return f"(CASE WHEN {result} BETWEEN {_TIME_RANGE[0]} AND {_TIME_RANGE[1]} THEN {result} END)"
        return result
    if node.kind == "binary":
        return _compare(node, root, now)
    msg = f"no Spark SQL for a CEL {node.kind} node"
    raise ValueError(msg)


def _moved_by_literal(node: Node, left: str, right: str, add: str) -> str:
    """A timestamp moved by a literal duration, in microseconds; empty for any other sum.

    Spark adds an interval to a timestamp through a zoned date-time object, for every record; the data rule
    ``event_time <= now + duration('5m')`` runs for every record the job reads (docs/benchmarks.md). In
    microseconds it is one long addition, and the same instant: a CEL duration is a number of seconds.
    """
    if node.type != "timestamp":
        return ""
    a, b = node.args
    if b.kind == "literal" and b.type == "duration":
        moved = f"{add}(unix_micros({left}), {b.value // dt.timedelta(microseconds=1)}L)"
    elif a.kind == "literal" and a.type == "duration" and node.value == "+":
        moved = f"try_add({a.value // dt.timedelta(microseconds=1)}L, unix_micros({right}))"
    else:
        return ""
    low, high = _TIME_RANGE_MICROS
    return f"(CASE WHEN {moved} BETWEEN {low}L AND {high}L THEN timestamp_micros({moved}) END)"


def condition_sql(node: Node, root: str, now: str = _NOW) -> str:
    """The rule as a Spark SQL boolean over the struct column ``root`` (``_decoded``): true, false or NULL.

    ``now`` is the SQL for CEL's ``now``: by default the time the query is planned, which Spark
    writes into the query's generated code; the streaming job passes its batch's ``ingested_at``
    column instead (see :mod:`streaming.rule_sql`).
    """
    return _sql(node, _quote_name(root), now)


def violation_sql(node: Node, root: str, now: str = _NOW) -> str:
    """True exactly when a record breaks the rule: false, or NULL (a null field, an overflow), counts as broken."""
    return f"NOT coalesce({condition_sql(node, root, now)}, FALSE)"

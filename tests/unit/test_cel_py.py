"""The compiled Python predicate of the rules gives common-expression-language's verdict, or defers to it.

Every rule case of tests/rule_cases.py, then edge and random records (nulls, absent fields, boundaries
and the next double either side, NaN, infinities, ints beyond int64, bools and ints where doubles
belong, naive and offset datetimes, millis, broken Unicode) go through both: where the predicate
decides, its verdict equals CEL's; where every value has its field's type, it decides.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import cel
import pytest

from core.catalog import load_catalog
from core.cel_py import Predicate, Undecided, compile_predicate, predicate_source
from core.cel_subset import compile_rule
from core.cel_types import Node
from core.data_rules import rules_of
from core.errors import RuleViolationError
from producer.rule_check import RuleChecker
from tests.rule_cases import BREAKS, PASSES, PNG, Case, case_id, good_records

CATALOG = load_catalog()
NOW = datetime.now(UTC)
INT64 = (-(2**63), 2**63 - 1)
SEEN: dict[str, int] = {"decided": 0, "undecided": 0}


@cache
def checker(stream: str) -> RuleChecker:
    return RuleChecker(stream, CATALOG.get(stream).schema)


@cache
def rule_predicate(stream: str, expr: str, schema_key: str = "") -> tuple[Node, Predicate]:
    schema = SYNTHETIC if schema_key else CATALOG.get(stream).schema
    tree = compile_rule(expr, schema)
    return tree, compile_predicate([tree], millis=frozenset({"event_time", "t"}))


@cache
def one_rule(stream: str, expr: str, schema_key: str = "") -> RuleChecker:
    """A checker of the one rule: its CEL activation holds only the fields this rule reads."""
    schema = SYNTHETIC if schema_key else CATALOG.get(stream).schema
    return RuleChecker(stream, {**schema, "rules": [{"name": "r", "expr": expr, "doc": "d"}]})


@cache
def program(expr: str) -> Any:
    return cel.compile(expr)


def cel_verdict(expr: str, activation: dict[str, Any]) -> bool:
    """As the producer reads CEL: the rule holds when it evaluates to true; an error fails it."""
    try:
        return program(expr).execute(activation) is True
    except Exception:
        return False


def python_verdict(predicate: Predicate, record: dict[str, Any], now: datetime = NOW) -> bool | None:
    """The predicate's verdict; None when it defers to CEL."""
    try:
        verdict = predicate(record, now)
    except Exception:
        SEEN["undecided"] += 1
        return None
    SEEN["decided"] += 1
    return verdict


def well_typed(value: Any, node: Node) -> bool:
    """Whether the value has the exact Python type of the field's CEL type (the predicate must decide then)."""
    if value is None:
        return node.nullable
    if node.type == "timestamp" and type(value) is int:
        return node.value[0] in ("event_time", "t") and -62_135_596_800_000 < value < 253_402_300_800_000
    expected = {"double": float, "int": int, "string": str, "bytes": bytes, "timestamp": datetime}[node.type]
    if type(value) is not expected:
        return False
    if node.type == "int":
        return INT64[0] <= value <= INT64[1]
    if node.type == "string":
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    return node.type != "timestamp" or value.tzinfo is not None


def tame(value: Any) -> bool:
    """No NaN (undecided under a negation), no overflow in arithmetic: the synthetic rules must decide then."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int):
        return abs(value) < 2**62
    return not isinstance(value, datetime) or 1 < value.year < 9999


def fields_of(node: Node) -> Iterator[Node]:
    if node.kind == "field":
        yield node
    for arg in node.args:
        yield from fields_of(arg)


def read(record: dict[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    value: Any = record
    for i, name in enumerate(path):
        if i and (type(value) is not dict or name not in value):
            return False, None
        value = value.get(name) if i == 0 else value[name]
    return True, value


def compare(stream: str, expr: str, record: dict[str, Any], schema_key: str = "", now: datetime = NOW) -> bool:
    """Assert the rule's predicate agrees with CEL where it decides; return CEL's verdict."""
    tree, predicate = rule_predicate(stream, expr, schema_key)
    expected = cel_verdict(expr, one_rule(stream, expr, schema_key).activation(record, now))
    got = python_verdict(predicate, record, now)
    assert got in (None, expected), f"{expr} on {record}: Python says {got}, CEL {expected}"
    values = [read(record, f.value) for f in fields_of(tree)]
    typed = all(ok and well_typed(v, f) for (ok, v), f in zip(values, fields_of(tree), strict=True))
    if typed and (not schema_key or all(tame(v) for _, v in values)):  # the schemas' rules: NaN reads as false
        assert got is not None, f"{expr} on {record}: well-typed values, yet the predicate did not decide"
    return expected


# --- every rule case -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", BREAKS + PASSES, ids=case_id)
def test_each_rule_case_gets_cels_verdict_from_the_predicate(case: Case) -> None:
    now = datetime.now(UTC)  # the cases' times are taken from the clock when built, not when this module loaded
    record = case.record()
    for rule in rules_of(CATALOG.get(case.stream).schema):
        _, predicate = rule_predicate(case.stream, rule.expr)
        verdict = compare(case.stream, rule.expr, record, now=now)
        assert python_verdict(predicate, record, now) is verdict  # decided: every case's values are well-typed
        if rule.name == case.rule:
            assert verdict is (case in PASSES)


# --- edge and random records -------------------------------------------------------------------------------


def _boundaries(tree: Node) -> dict[tuple[str, ...], list[Any]]:
    """Each field's literal bounds in the rules, and the next value either side."""
    out: dict[tuple[str, ...], list[Any]] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        stack += node.args
        if node.kind == "binary" and len(node.args) == 2:
            field, other = sorted(node.args, key=lambda n: n.kind != "field")
            if field.kind == "field" and other.kind == "literal" and other.value is not None:
                v = other.value
                if isinstance(v, float):
                    near = [v, math.nextafter(v, math.inf), math.nextafter(v, -math.inf)]
                elif isinstance(v, bool):
                    near = [v]
                elif isinstance(v, int):
                    near = [v, v + 1, v - 1]
                elif isinstance(v, bytes):
                    near = [v, v[:-1], v + b"\x00", v[:-1] + bytes([(v[-1] + 1) % 256])]
                elif isinstance(v, str):
                    near = [v, v.lower(), v + " "]
                else:
                    near = [v, v + timedelta(microseconds=1), v - timedelta(microseconds=1)]
                out.setdefault(field.value, []).extend(near)
    return out


def pool(node: Node) -> list[Any]:
    """Values to try in a field of the node's type: well-typed edges and values of other types."""
    day = timedelta(hours=24)
    common = [None, True, "1", 1.0, 1]
    by_type: dict[str, list[Any]] = {
        "double": [0.0, -0.0, 1.5, -1.5, math.nan, -math.nan, math.inf, -math.inf, 1e308, 5e-324, 0, 2**63],
        "int": [0, 1, -1, 64, *INT64, INT64[1] + 1, INT64[0] - 1, False, 1.0],
        "string": ["", "UNKNOWN", "image/png", "é", "\ud800", "a\x00", b"image/png"],
        "bytes": [b"", PNG, PNG[:7], PNG + bytes(524_281), PNG + bytes(524_280), bytearray(PNG), PNG.decode("latin-1")],
        "timestamp": [
            NOW,
            NOW + day,
            NOW + day + timedelta(microseconds=1),
            NOW.astimezone(timezone(timedelta(hours=5))) + day,
            datetime(2020, 1, 1, tzinfo=UTC) - timedelta(microseconds=1),
            datetime(2019, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1))),
            datetime(2021, 1, 1),  # noqa: DTZ001 - a naive datetime, as a careless producer gives it
            datetime.max.replace(tzinfo=UTC),
            datetime.min.replace(tzinfo=UTC),
            0,
            1_577_836_800_000,
            1_577_836_799_999,
            10**20,
            -(10**20),
        ],
    }
    return by_type.get(node.type, []) + common


def variants(stream: str, trees: list[Node], rng: random.Random) -> Iterator[dict[str, Any]]:
    """One field changed at a time through its pool, then random mixtures, then broken nesting."""
    good = good_records()[stream] if stream in good_records() else SYNTHETIC_RECORD
    fields = {f.value: f for tree in trees for f in fields_of(tree)}
    bounds: dict[tuple[str, ...], list[Any]] = {}
    for tree in trees:
        for path, values in _boundaries(tree).items():
            bounds.setdefault(path, []).extend(values)
    choices = {path: pool(node) + bounds.get(path, []) for path, node in fields.items()}

    def with_values(values: dict[tuple[str, ...], Any]) -> dict[str, Any]:
        record = copy.deepcopy(good)
        for path, value in values.items():
            target = record
            for name in path[:-1]:
                target = target[name]
            target[path[-1]] = value
        return record

    for path, values in choices.items():
        for value in values:
            yield with_values({path: value})
    for _ in range(300):
        yield with_values({p: rng.choice(v) for p, v in choices.items() if rng.random() < 0.6})
    for parent in {p[0] for p in fields if len(p) > 1}:
        child = next(p[1] for p in fields if p[0] == parent and len(p) > 1)
        for broken in (None, {}, "x", {child: 1.0}):
            yield {**copy.deepcopy(good), parent: broken}
        yield {k: v for k, v in good.items() if k != parent}
    yield {}


@pytest.mark.parametrize("stream", CATALOG.names)
def test_edge_and_random_records_get_cels_verdict_rule_by_rule_and_from_the_producer(stream: str) -> None:
    rules = checker(stream).rules
    trees = [compile_rule(r.expr, CATALOG.get(stream).schema) for r in rules]
    for record in variants(stream, trees, random.Random(f"{stream}-16")):
        for rule in rules:
            compare(stream, rule.expr, record)
        # The producer's CEL reads every field of the stream's rules at once: a value it cannot convert fails all.
        activation = checker(stream).activation(record, NOW)
        verdicts = [cel_verdict(r.expr, activation) for r in rules]
        try:
            checker(stream).check(record, now=NOW)
            refused = None
        except RuleViolationError as exc:
            refused = exc.rule
        first_broken = next((r.name for r, ok in zip(rules, verdicts, strict=True) if not ok), None)
        assert refused == first_broken, f"{record}: the producer refused {refused}, CEL breaks {first_broken}"


SYNTHETIC: dict[str, Any] = {
    "type": "record",
    "name": "Edge",
    "fields": [
        {"name": "d", "type": "double"},
        {"name": "n", "type": ["null", "double"]},
        {"name": "i", "type": "long"},
        {"name": "s", "type": "string"},
        {"name": "b", "type": "bytes"},
        {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "r", "type": {"type": "record", "name": "R", "fields": [{"name": "x", "type": "double"}]}},
    ],
}
SYNTHETIC_RECORD: dict[str, Any] = {"d": 1.5, "n": None, "i": 3, "s": "ab", "b": PNG, "t": NOW, "r": {"x": 0.0}}
EXPRESSIONS = (
    "!(message.d > 1.0)",
    "!(message.d <= 1.0) || message.i == 0",
    "message.d > 1.0 ? message.i > 0 : message.i < 0",
    "(message.d > 1.0) == false",
    "message.d != 0.0 && !(message.d == 1.5)",
    "message.d in [0.0, 1.5] || message.i in [0, 64]",
    "!(message.d in [0.0, 1.5])",
    "message.s in ['ab', 'é']",
    "message.d + 1.0 > 2.0 && !(message.d - message.d >= 0.0)",
    "message.i + 1 > message.i && -message.i < 1",
    "!(message.i - 9223372036854775807 < 0)",
    "message.n == null || message.n > 0.0",
    "message.n != null && !(message.n > 0.0)",
    "!(message.n == 1.0) && message.n != message.d",
    "message.s.startsWith('a') && !message.s.endsWith('z') && !message.s.contains('é')",
    "size(message.b) < 9 || !(message.b >= b'\\x89PNG')",
    "message.t <= now + duration('24h') && message.t - duration('1h') >= timestamp('2020-01-01T00:00:00Z')",
    "!(message.t > now) || message.t == timestamp('2021-01-01T00:00:00Z')",
    "message.r.x >= -1.0 && !(message.r.x >= 1.0)",
    "-message.d < 0.0 ? -message.i <= 0 : message.r.x == -0.0",
    "'x' in ['x', 'y'] && message.s != 'x' && message.i in []",
)


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_negations_ternaries_lists_arithmetic_and_nulls_get_cels_verdict(expr: str) -> None:
    tree, _ = rule_predicate("edge", expr, "synthetic")
    seen = dict(SEEN)
    for record in variants("edge", [tree], random.Random(expr)):
        compare("edge", expr, record, "synthetic")
    assert SEEN["decided"] > seen["decided"] and SEEN["undecided"] > seen["undecided"]


def test_nan_under_a_negation_is_left_to_cel_and_fails_the_rule() -> None:
    _, predicate = rule_predicate("edge", "!(message.d > 1.0)", "synthetic")
    with pytest.raises(Undecided):
        predicate({**SYNTHETIC_RECORD, "d": math.nan}, NOW)
    assert not cel_verdict("!(message.d > 1.0)", {"message": {"d": math.nan}})


def test_the_predicate_source_uses_only_the_subset_and_repr_literals() -> None:
    schema = CATALOG.get("traffic").schema
    source, constants = predicate_source([compile_rule(r.expr, schema) for r in rules_of(schema)])
    assert "b'\\x89PNG\\r\\n\\x1a\\n'" in source
    assert "'image/png'" in source
    assert sorted(constants) == ["_k0", "_k1"]  # the duration and the timestamp
    assert "import" not in source and "__" not in source

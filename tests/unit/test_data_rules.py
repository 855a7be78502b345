"""Data rules: every rule passes and breaks where it should, in the producer's CEL, in Confluent's CEL and in Spark."""

from __future__ import annotations

import datetime as dt
import json
import pickle
from typing import Any

import celpy
import pytest
from celpy import celtypes

from core.catalog import load_catalog
from core.cel_subset import compile_rule
from core.data_rules import DataRule, confluent_rule_set, rule_changes, rules_of, stream_rules, violation_reason
from core.errors import RuleViolationError, SchemaError
from core.wire import frame
from producer.rule_check import RuleChecker
from producer.simulator import SimulationConfig, simulate
from streaming.decode import EntityPlan, entity_frame, with_header
from tests.rule_cases import BREAKS, PASSES, Case, case_id, good_records

CATALOG = load_catalog()
CHECKERS = {s.name: RuleChecker(s.subject, s.schema) for s in CATALOG.streams}


def test_every_rule_has_a_record_that_breaks_it_and_one_that_passes() -> None:
    declared = {(name, r.name) for name, rules in stream_rules(CATALOG).items() for r in rules}
    assert {(c.stream, c.rule) for c in BREAKS} == declared
    assert {(c.stream, c.rule) for c in PASSES} == declared


def test_the_simulator_meets_every_rule() -> None:
    config = SimulationConfig(vehicles=4, max_steps=300, emergency_probability=0.1)
    for event in simulate(config, CATALOG):
        CHECKERS[event.stream].check(event.value)


@pytest.mark.parametrize("case", PASSES, ids=case_id)
def test_a_boundary_record_passes_the_producer_check(case: Case) -> None:
    CHECKERS[case.stream].check(case.record())


@pytest.mark.parametrize("case", BREAKS, ids=case_id)
def test_the_producer_refuses_a_breaking_record_in_one_line_naming_rule_and_field(case: Case) -> None:
    with pytest.raises(RuleViolationError) as caught:
        CHECKERS[case.stream].check(case.record())
    assert caught.value.rule == case.rule
    assert case.path in caught.value.fields
    text = str(caught.value)
    assert "\n" not in text
    assert f"breaks rule {case.rule} at " in text
    assert f"{case.path}=" in text


def test_a_rule_violation_keeps_its_rule_across_processes() -> None:
    error = RuleViolationError("record breaks rule x", rule="x", fields=("a.b",))
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object, as a producer worker hands it over
    assert (str(copy), copy.rule, copy.fields) == ("record breaks rule x", "x", ("a.b",))


def test_a_timestamp_given_as_avro_millis_is_checked_as_a_time() -> None:
    record = dict(good_records()["vehicle"])
    record["event_time"] = 1_700_000_000  # seconds where milliseconds belong: January 1970
    with pytest.raises(RuleViolationError, match="event-time-after-2020"):
        CHECKERS["vehicle"].check(record)


# --- Confluent's CEL engine (cel-python) agrees on the rules it is sent -------------------------------------


def _to_cel(value: Any) -> Any:
    """As confluent-kafka's CEL executor converts a record (its ``_value_to_cel``)."""
    if isinstance(value, dict):
        return celtypes.MapType({celtypes.StringType(k): _to_cel(v) for k, v in value.items()})
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, dt.datetime):
        return celtypes.TimestampType(value)
    kinds = {bytes: celtypes.BytesType, str: celtypes.StringType, int: celtypes.IntType, float: celtypes.DoubleType}
    return kinds[type(value)](value) if value is not None else None


def _confluent_verdict(rule: DataRule, record: dict[str, Any]) -> bool:
    env = celpy.Environment()
    try:
        return bool(env.program(env.compile(rule.expr)).evaluate({"message": _to_cel(record)}))
    except celpy.CELEvalError:
        return False


@pytest.mark.parametrize("case", [c for c in BREAKS + PASSES if "event-time-not-future" not in c.rule], ids=case_id)
def test_confluent_cel_gives_the_same_verdict_on_portable_rules(case: Case) -> None:
    rule = next(r for r in stream_rules(CATALOG)[case.stream] if r.name == case.rule)
    assert rule.portable
    assert _confluent_verdict(rule, case.record()) is (case in PASSES)


def test_the_rule_set_sent_to_the_registry_holds_the_portable_rules_as_cel_conditions() -> None:
    rules = rules_of(CATALOG.get("traffic").schema)
    sent = confluent_rule_set(rules)
    assert sent is not None
    names = [r["name"] for r in sent["domainRules"]]
    assert names == [r.name for r in rules if r.name != "event-time-not-future"]
    assert {(r["kind"], r["mode"], r["type"], r["onFailure"]) for r in sent["domainRules"]} == {
        ("CONDITION", "WRITEREAD", "CEL", "ERROR,ERROR")
    }


# --- the rules property and its changes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"name": "x"}, "a rule must be an object|list of rules"),
        ([{"name": "Speed", "expr": "true", "doc": "d"}], "not kebab-case"),
        ([{"name": "a", "expr": "true", "doc": "d", "onFailure": "DLQ"}], "onFailure 'DLQ'"),
        ([{"name": "a", "expr": "true"}], "missing or empty doc"),
        ([{"name": "a", "expr": "true", "doc": "d", "when": "x"}], "unknown keys"),
        ([{"name": "a", "expr": "true", "doc": "d"}] * 2, "a appear more than once"),
    ],
)
def test_a_malformed_rules_property_is_refused(rules: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        rules_of({"type": "record", "name": "X", "fields": [], "rules": rules})


def test_rule_changes_name_what_was_added_changed_and_retired() -> None:
    before = (DataRule("a", "true", "d"), DataRule("b", "true", "d"))
    after = (DataRule("a", "false", "d"), DataRule("c", "true", "d"))
    assert rule_changes(before, after) == ["added c", "changed a (expr)", "retired b"]
    assert rule_changes(before, before) == []


def test_a_violation_reason_is_the_code_and_the_rule() -> None:
    assert violation_reason("speed-in-range") == "rule-violation: speed-in-range"


# --- Spark: the translated rules quarantine the same records ----------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Any:
    from streaming.session import get_spark
    from streaming.settings import StreamingSettings

    return get_spark(StreamingSettings.from_env(), app_name="telemetry-tests")


def _body(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    from producer.serializer import WireSerializer

    return WireSerializer("s", 1, schema).serialize(record)[5:]


@pytest.mark.slow
@pytest.mark.parametrize("stream", CATALOG.names)
def test_spark_quarantines_each_breaking_record_with_its_rule_and_only_for_writers_with_rules(
    spark: Any, stream: str
) -> None:
    schema = CATALOG.get(stream).schema
    bare = {k: v for k, v in schema.items() if k != "rules"}  # an earlier version, before the rules
    cases = [c for c in BREAKS + PASSES if c.stream == stream]
    values = [frame(1, _body(schema, c.record())) for c in cases]
    values.append(frame(2, _body(bare, cases[0].record())))
    rows = [("t", 0, n, dt.datetime.now(dt.UTC), b"k", v) for n, v in enumerate(values)]
    kafka = spark.createDataFrame(
        rows, "topic string, partition int, offset long, timestamp timestamp, key binary, value binary"
    )
    plan = EntityPlan(stream, "t", "t-value", json.dumps(schema), writers={1: json.dumps(schema), 2: json.dumps(bare)})
    got = {r["kafka_offset"]: r["reason"] for r in entity_frame(with_header(kafka), plan).collect()}
    expected = {n: violation_reason(c.rule) if c in BREAKS else None for n, c in enumerate(cases)}
    expected[len(cases)] = None  # written with the version that had no rules
    assert got == expected


def test_every_expression_names_fields_of_its_schema() -> None:
    for stream in CATALOG.streams:
        for rule in rules_of(stream.schema):
            compile_rule(rule.expr, stream.schema, what=rule.name)


# --- the catalog shows the rules ----------------------------------------------------------------------------


def test_glue_tables_show_each_rule_in_the_description_and_parameters() -> None:
    from glue.settings import GlueSettings
    from glue.tables import table_definitions, table_input

    settings = GlueSettings(lake="s3a://acme-lake/telemetry/lake")
    tables = {t.name: table_input(t) for t in table_definitions(CATALOG, settings)}
    for stream, rules in stream_rules(CATALOG).items():
        table = tables[stream]
        assert len(table["Description"]) <= 2048
        assert f"Data rules: {', '.join(r.name for r in rules)} " in table["Description"]
        assert f"{stream}_quarantine with reason rule-violation: <rule>" in table["Description"]
        assert table["Parameters"]["telemetry.rules"] == ", ".join(r.name for r in rules)
        for rule in rules:
            assert table["Parameters"][f"telemetry.rule.{rule.name}"] == (
                f"{rule.expr} | on failure: {rule.on_failure} | {rule.doc}"
            )
        assert "broke a data rule" in tables[f"{stream}_quarantine"]["Description"]


# --- the translation keeps CEL's meaning on the corners of the subset ---------------------------------------

_CORNERS_SCHEMA = {
    "type": "record",
    "name": "Corner",
    "fields": [
        {"name": "d", "type": "double"},
        {"name": "od", "type": ["null", "double"], "default": None},
        {"name": "i", "type": "long"},
        {"name": "oi", "type": ["null", "long"], "default": None},
        {"name": "s", "type": "string"},
        {"name": "os", "type": ["null", "string"], "default": None},
        {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "b", "type": "bytes"},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
    ],
}
_CORNER_EXPRESSIONS = [
    "message.d >= 0.0", "message.d != 1.5", "message.d == 1.5", "message.od == null", "message.od != null",
    "message.od == 2.0", "message.od != 2.0", "message.od >= 0.0", "message.od == message.d",
    "message.i + 1 > 5", "message.i - 10 < 0", "-message.i < 0", "message.oi == null || message.oi > 3",
    "message.s.startsWith('ab')", "message.s.endsWith('z')", "message.s.contains('b')",
    "message.s in ['abc', 'x']", "message.os == 'q'", "message.os != 'q'", "message.t <= now + duration('1h')",
    "message.t - duration('24h') >= timestamp('2020-01-01T00:00:00Z')", "size(message.b) <= 4",
    "message.b == b'\\x00\\x01'", "message.b >= b'\\x01' && message.b < b'\\x02'",
    "message.e != 'A' ? message.d > 0.0 : true", "!(message.d > 0.0)", "message.e in ['B']",
]  # fmt: skip
_NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
_CORNER_RECORDS = [
    {"d": 1.5, "od": None, "i": 7, "oi": None, "s": "abc", "os": None, "t": _NOW, "b": b"\x00\x01", "e": "A"},
    {"d": float("nan"), "od": float("nan"), "i": -3, "oi": 4, "s": "", "os": "q", "t": _NOW, "b": b"", "e": "B"},
    {"d": -0.0, "od": 2.0, "i": 4, "oi": 2, "s": "xbz", "os": "r", "b": b"\x01\xff\xff\xff\xff", "e": "B",
     "t": _NOW + dt.timedelta(hours=2)},
    {"d": 2.0, "od": 2.0, "i": 10, "oi": 3, "s": "ab€", "os": "", "t": dt.datetime(2020, 1, 1, 23, tzinfo=dt.UTC),
     "b": b"\x01", "e": "A"},
]  # fmt: skip


def _cel_verdict(expr: str, record: dict[str, Any]) -> bool:
    import cel

    try:
        return cel.compile(expr).execute({"message": record, "now": dt.datetime.now(dt.UTC)}) is True
    except Exception:
        return False


@pytest.mark.slow
def test_spark_sql_gives_the_verdict_of_cel_on_every_corner_of_the_subset(spark: Any) -> None:
    from pyspark.sql.avro.functions import from_avro

    from core.cel_sql import violation_sql

    schema = json.dumps(_CORNERS_SCHEMA)
    bodies = [(n, _body(_CORNERS_SCHEMA, r)) for n, r in enumerate(_CORNER_RECORDS)]
    frame_ = spark.createDataFrame(bodies, "n int, v binary").select("n", from_avro("v", schema).alias("_decoded"))
    trees = [compile_rule(e, _CORNERS_SCHEMA) for e in _CORNER_EXPRESSIONS]
    rows = frame_.selectExpr("n", *[f"{violation_sql(t, '_decoded')} AS r{k}" for k, t in enumerate(trees)]).collect()
    spark_says = {(row["n"], e): not row[f"r{k}"] for row in rows for k, e in enumerate(_CORNER_EXPRESSIONS)}
    cel_says = {(n, e): _cel_verdict(e, r) for n, r in enumerate(_CORNER_RECORDS) for e in _CORNER_EXPRESSIONS}
    assert spark_says == cel_says

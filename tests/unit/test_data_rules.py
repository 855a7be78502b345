"""Data rules: every rule passes and breaks where it should, in the producer's CEL, in Confluent's CEL and in Spark."""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

import celpy
import pytest
from celpy import celtypes

from core.catalog import load_catalog
from core.cel_subset import compile_rule
from core.data_rules import DataRule, confluent_rule_set, rule_changes, rules_of, stream_rules, violation_reason
from core.errors import RuleViolationError, SchemaError
from producer.rule_check import RuleChecker
from producer.simulator import SimulationConfig, simulate
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


@pytest.mark.parametrize(
    ("expr", "portable"),
    [
        ("message.event_time <= now + duration('24h')", False),
        ("message.media_type != 'now'", True),  # "now" in a string literal is no variable
        ("message.media_type != \"know now\" && message.event_time >= timestamp('2020-01-01T00:00:00Z')", True),
        ("(now - duration('1h')) < message.event_time", False),
        ("message.event_time >", False),  # no Confluent client can evaluate what does not parse
    ],
)
def test_portability_is_decided_on_the_parsed_rule_not_its_text(expr: str, portable: bool) -> None:
    rule = DataRule("r", expr, "d")
    assert rule.portable is portable
    assert (confluent_rule_set((rule,)) is not None) is portable


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

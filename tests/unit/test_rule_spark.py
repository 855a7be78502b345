"""Data rules in Spark: the translated rules quarantine what the producer's CEL refuses, per writer version."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any

import pytest

from core.catalog import load_catalog
from core.cel_subset import compile_rule
from core.data_rules import violation_reason
from core.wire import frame
from streaming.decode import EntityPlan, with_header
from streaming.rows import entity_frame
from streaming.rule_sql import writer_rule_reasons
from tests.rule_cases import BREAKS, PASSES

CATALOG = load_catalog()

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
    now = dt.datetime.now(dt.UTC)
    rows = [("t", 0, n, now, b"k", v, now) for n, v in enumerate(values)]
    kafka = spark.createDataFrame(
        rows,
        "topic string, partition int, offset long, timestamp timestamp, key binary, value binary, "
        "ingested_at timestamp",
    )
    plan = EntityPlan(stream, "t", "t-value", json.dumps(schema), writers={1: json.dumps(schema), 2: json.dumps(bare)})
    got = {r["kafka_offset"]: r["reason"] for r in entity_frame(with_header(kafka), plan).collect()}
    expected = {n: violation_reason(c.rule) if c in BREAKS else None for n, c in enumerate(cases)}
    expected[len(cases)] = None  # written with the version that had no rules
    # An event time the catalog could not show is the lake's reason first, before any data rule is checked.
    for n, case in enumerate(cases):
        when = case.record().get("event_time")
        if when is not None and when < dt.datetime(2024, 1, 1, tzinfo=dt.UTC):
            expected[n] = "event-time-before-start"
        elif when is not None and when > now + dt.timedelta(days=1):
            expected[n] = "event-time-future"
    assert {n: r.split(":")[0] if r and r.startswith("event-time-") else r for n, r in got.items()} == expected


@pytest.mark.slow
def test_a_rules_now_is_the_batchs_ingestion_time_so_a_replay_judges_the_same(spark: Any) -> None:
    """``event_time <= now + duration('5m')`` is judged against the batch's ``ingested_at``, not the clock.

    The same record, 30 minutes after one batch's time and 2 minutes after another's: it breaks the rule
    in the first and keeps it in the second, whenever the test runs. Spark also compiles the batch's
    code once: no time is written into it.
    """
    schema = CATALOG.get("vehicle").schema
    case = next(c for c in PASSES if c.stream == "vehicle")
    event_time = dt.datetime(2025, 6, 2, 6, tzinfo=dt.UTC)
    value = frame(1, _body(schema, {**case.record(), "event_time": event_time}))
    batch_times = [event_time - dt.timedelta(minutes=30), event_time - dt.timedelta(minutes=2)]
    rows = [("t", 0, n, at, b"k", value, at) for n, at in enumerate(batch_times)]
    kafka = spark.createDataFrame(
        rows,
        "topic string, partition int, offset long, timestamp timestamp, key binary, value binary, "
        "ingested_at timestamp",
    )
    plan = EntityPlan("vehicle", "t", "t-value", json.dumps(schema), writers={1: json.dumps(schema)})
    got = {r["kafka_offset"]: r["reason"] for r in entity_frame(with_header(kafka), plan).collect()}
    assert got == {0: violation_reason("event-time-not-future"), 1: None}


# --- fail closed: a rule the job cannot check quarantines its writer's records --------------------------------


def _with_dropped_field() -> dict[str, Any]:
    """An earlier vehicle version with a field the latest dropped, and a rule that reads it."""
    schema = copy.deepcopy(CATALOG.get("vehicle").schema)
    schema["fields"].append({"name": "fleet", "type": "string", "default": "", "doc": "d"})
    schema["rules"].append({"name": "fleet-named", "expr": "message.fleet != ''", "doc": "d", "onFailure": "ERROR"})
    return schema


def test_a_rule_the_latest_schema_cannot_check_is_never_skipped() -> None:
    latest = json.dumps(CATALOG.get("vehicle").schema)
    broken = {**CATALOG.get("vehicle").schema, "rules": [{"name": "Bad Name", "expr": "true", "doc": "d"}]}
    writers = {1: json.dumps(_with_dropped_field()), 2: latest, 3: json.dumps(broken)}
    got = writer_rule_reasons(writers, latest, "_decoded")
    unchecked = [(sid, reason, sql) for sid, reason, sql in got if reason.startswith("rule-unchecked:")]
    assert [(sid, sql) for sid, _, sql in unchecked] == [(1, "TRUE"), (3, "TRUE")]
    assert "writer schema id 1: rule fleet-named on the latest schema: message.fleet" in unchecked[0][1]
    assert "writer schema id 3: its rules cannot be read" in unchecked[1][1]
    assert {reason for sid, reason, _ in got if sid == 2} == {
        violation_reason(r["name"]) for r in CATALOG.get("vehicle").schema["rules"] if r["onFailure"] == "ERROR"
    }


@pytest.mark.slow
def test_the_job_quarantines_every_record_of_a_writer_whose_rule_it_cannot_check(spark: Any) -> None:
    latest = CATALOG.get("vehicle").schema
    older = _with_dropped_field()
    good = next(c for c in PASSES if c.stream == "vehicle").record()
    values = [frame(1, _body(older, {**good, "fleet": "north"})), frame(2, _body(latest, good))]
    now = dt.datetime.now(dt.UTC)
    rows = [("t", 0, n, now, b"k", v, now) for n, v in enumerate(values)]
    kafka = spark.createDataFrame(
        rows,
        "topic string, partition int, offset long, timestamp timestamp, key binary, value binary, "
        "ingested_at timestamp",
    )
    plan = EntityPlan(
        "vehicle", "t", "t-value", json.dumps(latest), writers={1: json.dumps(older), 2: json.dumps(latest)}
    )
    got = {r["kafka_offset"]: r["reason"] for r in entity_frame(with_header(kafka), plan).collect()}
    assert got[1] is None
    assert got[0].startswith("rule-unchecked: writer schema id 1: rule fleet-named on the latest schema")


_JIT_LIMIT = 8000
"""HotSpot compiles no method above this many bytes of bytecode (HugeMethodLimit): a bigger one runs interpreted."""


@pytest.mark.slow
@pytest.mark.parametrize("stream", CATALOG.names)
def test_every_generated_method_of_a_batch_is_small_enough_for_the_jit(spark: Any, stream: str) -> None:
    """The batch's plan, with three versions of the stream's schema and their rules, in methods the JIT compiles.

    With the rules in the same method as the decode, that method passed the limit and ran interpreted,
    several times slower per record; the session's hugeMethodLimit would then leave whole-stage code
    generation for the plan instead, also slower (docs/benchmarks.md, "Streaming: where the time goes").
    """
    from streaming.batch import observed_good_rows

    schema = json.dumps(CATALOG.get(stream).schema)
    now = dt.datetime.now(dt.UTC)
    kafka = spark.createDataFrame(
        [("t", 0, 0, now, b"k", frame(1, b""), now)],
        "topic string, partition int, offset long, timestamp timestamp, key binary, value binary, "
        "ingested_at timestamp",
    )
    plan = EntityPlan(stream, "t", "t-value", schema, writers=dict.fromkeys((1, 2, 3), schema))
    good, _, _ = observed_good_rows(with_header(kafka), plan)
    utils = spark._jvm.PythonSQLUtils
    code = utils.explainString(good._jdf.queryExecution(), "codegen")
    sizes = [int(size) for size in re.findall(r"maxMethodCodeSize:(\d+)", code)]
    assert len(sizes) == 3, code[:2000]  # decode, verdict, write: all in whole-stage generated code
    assert max(sizes) < _JIT_LIMIT


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

"""Data rules on the real stack: registered with each version, enforced by the producer and by the streaming job."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.catalog import Catalog, load_catalog, project_root
from core.data_rules import rules_of, violation_reason
from core.errors import RuleViolationError
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from core.wire import frame
from producer.producer import TelemetryProducer
from producer.simulator import Event
from streaming.job import run
from tests.integration.streaming_support import (
    avro_body,
    job_settings,
    lake_rows,
    prefixed,
    produce_raw,
    register,
    set_up_streams,
    shared_spark,
)
from tests.rule_cases import BREAKS, good_records

pytestmark = pytest.mark.integration

CATALOG = load_catalog()


def _governance(schemas: Path, connection: ConnectionSettings, *args: str) -> subprocess.CompletedProcess[str]:
    command, *rest = args
    return subprocess.run(
        [sys.executable, "-m", "governance", command, "--schemas-dir", str(schemas),
         "--registry-url", connection.registry_url, "--topic-prefix", connection.topic_prefix, *rest],
        capture_output=True, text=True, cwd=project_root(), check=False,
    )  # fmt: skip


def test_rules_read_back_from_the_registry_for_each_version_equal_the_repository_s(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path
) -> None:
    connection = prefixed(stack, topic_prefix)
    schemas = tmp_path / "schemas"
    shutil.copytree(CATALOG.root, schemas)
    first = json.loads((schemas / "vehicle.avsc").read_text(encoding="utf-8"))
    assert _governance(schemas, connection, "register", "vehicle").returncode == 0

    second = json.loads(json.dumps(first))
    second["rules"] = [r for r in second["rules"] if r["name"] != "heading-in-range"]
    next(r for r in second["rules"] if r["name"] == "speed-in-range")["expr"] = (
        "message.speed_kmh >= 0.0 && message.speed_kmh <= 250.0"
    )
    second["rules"].append(
        {"name": "year-plausible", "expr": "message.year >= 1886 && message.year <= 2100",
         "doc": "Model years from the first car on.", "onFailure": "ERROR"}
    )  # fmt: skip
    (schemas / "vehicle.avsc").write_text(json.dumps(second, indent=2), encoding="utf-8")

    status = _governance(schemas, connection, "status", "vehicle")
    assert status.returncode == 0, status.stderr
    assert "local change" in status.stdout
    assert "rules: added year-plausible, changed speed-in-range (expr), retired heading-in-range" in status.stdout
    check = _governance(schemas, connection, "check", "vehicle")
    assert check.returncode == 0, check.stderr
    assert "note: data rules differ from version 1: added year-plausible" in check.stdout
    done = _governance(schemas, connection, "register", "vehicle")
    assert done.returncode == 0, done.stderr
    assert "registered version 2" in done.stdout

    subject = connection.subject("vehicle_data-value")
    for version, written in ((1, first), (2, second)):
        registered = registry.version(subject, version)
        assert rules_of(registered.schema) == rules_of(written)
        assert rules_of(registry.schema_by_id(registered.schema_id)) == rules_of(written)  # what the job reads
    assert "in sync" in _governance(schemas, connection, "status", "vehicle").stdout


def test_the_producer_refuses_a_breaking_record_in_one_line_and_sends_the_good_ones(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str
) -> None:
    connection = prefixed(stack, topic_prefix)
    traffic = Catalog(CATALOG.root, (CATALOG.get("traffic"),))
    set_up_streams(registry, connection, traffic.streams)
    case = next(c for c in BREAKS if c.rule == "snapshot-is-png")
    good, bad = good_records()["traffic"], case.record()
    with TelemetryProducer(connection, traffic) as producer:
        producer.produce(Event("traffic", good["vehicle_id"], good))
        with pytest.raises(RuleViolationError) as caught:
            producer.produce(Event("traffic", bad["vehicle_id"], bad))
    assert producer.produced == 1 and producer.delivered == 1
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(
        f"record of {connection.subject('traffic_data-value')} breaks rule snapshot-is-png at snapshot="
    )


@pytest.mark.slow
def test_breaking_records_of_another_producer_are_quarantined_by_rule_and_the_good_ones_around_them_land(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path
) -> None:
    connection = prefixed(stack, topic_prefix)
    vehicle, traffic = CATALOG.get("vehicle"), CATALOG.get("traffic")
    before_rules = {k: v for k, v in vehicle.schema.items() if k != "rules"}
    old_id = register(registry, connection.subject(vehicle.subject), before_rules)  # version 1: no rules yet
    # Version 2: a field the latest version drops again, and a rule on it the job cannot check on the latest shape.
    with_fleet = copy.deepcopy(before_rules)
    with_fleet["fields"].append({"name": "fleet", "type": "string", "default": "", "doc": "The fleet."})
    with_fleet["rules"] = [{"name": "fleet-named", "expr": "message.fleet != ''", "doc": "d", "onFailure": "ERROR"}]
    fleet_id = register(registry, connection.subject(vehicle.subject), with_fleet)
    ids = set_up_streams(registry, connection, [vehicle, traffic])  # version 3 of vehicle: with the rules
    assert len({old_id, fleet_id, ids["vehicle"]}) == 3

    def framed(stream: str, record: dict[str, Any], schema_id: int | None = None) -> bytes:
        return frame(schema_id or ids[stream], avro_body(CATALOG.get(stream).schema, record))

    expected: dict[str, dict[bytes, str | None]] = {"vehicle": {}, "traffic": {}}
    for stream in expected:
        messages = []
        for n, case in enumerate(c for c in BREAKS if c.stream == stream):
            good = dict(good_records()[stream], id=f"00000000-0000-4000-8000-{n:012d}")
            bad = dict(case.record(), id=f"00000000-0000-4000-9000-{n:012d}")
            messages += [(b"k", framed(stream, good)), (b"k", framed(stream, bad))]
            expected[stream] |= {messages[-2][1]: None, messages[-1][1]: _reason(case.rule, bad)}
        produce_raw(connection, connection.topic(CATALOG.get(stream).topic), messages)
    written_before = next(c for c in BREAKS if c.rule == "speed-in-range").record()
    before = frame(old_id, avro_body(before_rules, written_before))
    unchecked = frame(fleet_id, avro_body(with_fleet, {**good_records()["vehicle"], "fleet": "north"}))
    produce_raw(connection, connection.topic(vehicle.topic), [(b"k", before), (b"k", unchecked)])
    expected["vehicle"][unchecked] = "rule-unchecked"  # never skipped: quarantined with a reason of its own

    settings = job_settings(connection, tmp_path, available_now=True, entities="vehicle,traffic")
    run(settings, spark=shared_spark(), catalog=CATALOG)

    for stream, values in expected.items():
        quarantined = {bytes(r["raw_value"]): _code(r["reason"]) for r in lake_rows(settings, f"{stream}_quarantine")}
        assert quarantined == {v: reason for v, reason in values.items() if reason is not None}
        landed = sorted(r["id"] for r in lake_rows(settings, stream))
        goods = [v for v, reason in values.items() if reason is None]
        assert len(landed) == len(goods) + (1 if stream == "vehicle" else 0)
        assert all(i.startswith("00000000-0000-4000-8000-") for i in landed if i != written_before["id"])
    # Written with the version before the rules: held to that version's (no) rules, so it lands.
    assert written_before["id"] in {r["id"] for r in lake_rows(settings, "vehicle")}


def _reason(rule: str, record: dict[str, Any]) -> str:
    """The reason the job gives: an event time the catalog could not show is the lake's reason, before any rule."""
    when = record.get("event_time")
    if isinstance(when, datetime) and when < datetime(2024, 1, 1, tzinfo=UTC):
        return "event-time-before-start"
    if isinstance(when, datetime) and when > datetime.now(UTC) + timedelta(days=1):
        return "event-time-future"
    return violation_reason(rule)


def _code(reason: str) -> str:
    return reason.split(":")[0] if reason.startswith(("event-time-", "rule-unchecked")) else reason


def test_the_producer_cli_refuses_a_journey_in_the_future_in_one_line_before_sending_anything(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str
) -> None:
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    done = subprocess.run(
        [sys.executable, "-m", "producer", "--progress", "none", "--vehicles", "1", "--count", "20",
         "--start", "2099-01-06T08:00:00Z", "--topic-prefix", topic_prefix,
         "--bootstrap-servers", stack.bootstrap_servers, "--registry-url", stack.registry_url],
        capture_output=True, text=True, cwd=project_root(), check=False,
    )  # fmt: skip
    assert done.returncode == 1
    error = done.stderr.strip()
    assert "\n" not in error and "Traceback" not in error
    assert "breaks rule event-time-not-future at event_time=datetime.datetime(2099, 1, 6, 8, 0" in error
    admin_topics = [connection.topic(s.topic) for s in CATALOG.streams]
    assert _records(connection, admin_topics) == 0


def _records(connection: ConnectionSettings, topics: list[str]) -> int:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**connection.kafka_config(), "group.id": "rules-test", "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(timeout=10)
        return sum(
            consumer.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1]
            for t in topics
            for p in metadata.topics[t].partitions
        )
    finally:
        consumer.close()

"""Data rules benchmark: the producer and the streaming job with the rules on, against off, on the same events.

Run with the local stack up: ``.venv/bin/python bench/rules_bench.py``. Two sets of topics and subjects
get unique prefixes: "on" registers the schemas as they are (with their rules), "off" the same schemas
without the ``rules`` property, which is what a subject registered before the rules looks like. The
producer writes the same simulated events to both, alternating (rules checked for "on" only; best of
``--repeat``); then the streaming job drains each set into a fresh lake with an available-now trigger,
after one untimed pass of each (the JVM compiles its hot code during the first). Everything made is
deleted afterwards. The table goes to stdout and to the "## Data rules" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from produce_bench import write_section  # bench/ is the script's folder: on sys.path

from core.catalog import load_catalog, project_root
from core.data_rules import RULES_PROPERTY, stream_rules
from core.errors import RegistryError
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from core.topics import ensure_topics
from producer.producer import TelemetryProducer
from producer.rule_check import RuleChecker
from producer.simulator import Event, SimulationConfig, simulate
from streaming.job import run
from streaming.session import get_spark
from streaming.settings import StreamingSettings

CATALOG = load_catalog()


def set_up(connection: ConnectionSettings, with_rules: bool) -> None:
    registry = RegistryClient(connection.registry_url, auth=connection.registry_auth())
    for stream in CATALOG.streams:
        schema = stream.schema if with_rules else {k: v for k, v in stream.schema.items() if k != RULES_PROPERTY}
        registry.register(connection.subject(stream.subject), json.dumps(schema, separators=(",", ":")))
    brokers = len(AdminClient(connection.kafka_config()).list_topics(timeout=30).brokers)
    replicas = min(3, brokers)
    ensure_topics(connection, CATALOG.streams, replication_factor=replicas, min_insync_replicas=min(2, replicas))


def tear_down(connection: ConnectionSettings) -> None:
    admin = AdminClient(connection.kafka_config())
    topics = [connection.topic(s.topic) for s in CATALOG.streams]
    for future in admin.delete_topics(topics).values():
        with contextlib.suppress(KafkaException):  # a set-up that failed half way made fewer
            future.result()
    registry = RegistryClient(connection.registry_url, auth=connection.registry_auth())
    for stream in CATALOG.streams:
        with contextlib.suppress(RegistryError):
            registry.delete_subject(connection.subject(stream.subject), permanent=True)


def produce(connection: ConnectionSettings, events: list[Event], rules: bool) -> float:
    """Events per second of one end-to-end run (acks=all, every delivery checked)."""
    with TelemetryProducer(connection, CATALOG, rules=rules) as producer:
        for event in events:
            producer.produce(event)
    summary = producer.summary()
    if summary.delivered != len(events):
        msg = f"delivered {summary.delivered} of {len(events)}: the figures would be wrong"
        raise RuntimeError(msg)
    return len(events) / summary.elapsed_s


def check_alone(events: list[Event]) -> float:
    """Events per second of the rule check by itself (no serialization, no Kafka)."""
    checkers = {s.name: RuleChecker(s.subject, s.schema) for s in CATALOG.streams}
    started = time.perf_counter()
    for event in events:
        checkers[event.stream].check(event.value)
    return len(events) / (time.perf_counter() - started)


def drain(spark: object, base: StreamingSettings, work: Path, name: str) -> tuple[float, int, int]:
    """(seconds, rows landed, rows quarantined) of the job draining one set into a fresh lake."""
    settings = replace(base, lake=(work / name / "lake").as_uri(), checkpoints=(work / name / "cp").as_uri())
    started = time.perf_counter()
    summary = run(settings, spark=spark, catalog=CATALOG)
    seconds = time.perf_counter() - started
    bad = sum(n for table, n in summary.rows.items() if table.startswith("_quarantine"))
    return seconds, sum(summary.rows.values()) - bad, bad


def render(rows: list[tuple[str, str, float, str]], events: int, total: int, repeat: int) -> str:
    rules = sum(len(r) for r in stream_rules(CATALOG).values())
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "## Data rules",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `.venv/bin/python bench/rules_bench.py`: "
        f"{events:,} simulated events per producer run (best of {repeat} alternating runs), and the job "
        f"draining the {total:,} events of those runs per set (available-now, local[2], after an untimed "
        f"pass of each set). {rules} rules over the five streams; 'off' is the same schemas registered "
        "without them. Machine: 2 CPUs, shared with the three brokers, the registry and other work "
        f"(load average {load} at the end).",
        "",
        "| stage | rules | events/s | note |",
        "|---|---|---:|---|",
    ]
    lines += [f"| {stage} | {mode} | {rate:,.0f} | {note} |" for stage, mode, rate, note in rows]
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=40)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    sets = {mode: ConnectionSettings.from_env(topic_prefix=f"rb{tag}{mode}_") for mode in ("on", "off")}
    events = list(simulate(SimulationConfig(vehicles=args.vehicles, max_steps=args.steps), CATALOG))
    rows: list[tuple[str, str, float, str]] = []
    work = Path(tempfile.mkdtemp(prefix="rules-bench-"))
    try:
        for mode, connection in sets.items():
            set_up(connection, with_rules=mode == "on")
        best = {"on": 0.0, "off": 0.0}
        for _ in range(args.repeat):
            for mode in ("off", "on"):
                best[mode] = max(best[mode], produce(sets[mode], events, rules=mode == "on"))
        rows.append(("rule check alone (CEL), no Kafka", "on", check_alone(events), "common-expression-language"))
        rows += [("producer, end to end", m, best[m], "acks=all, idempotent, lz4") for m in ("off", "on")]
        print("\n".join(f"{stage}, rules {mode}: {rate:,.0f} events/s" for stage, mode, rate, _ in rows), flush=True)
        base = StreamingSettings.from_env(available_now=True)
        spark = get_spark(base, app_name="rules-bench")
        for mode in ("off", "on"):
            drain(spark, replace(base, connection=sets[mode]), work, f"warm-{mode}")
        fastest = {"off": float("inf"), "on": float("inf")}
        for n in range(2):  # alternating, so that both see the same swings of a shared machine's load
            for mode in ("off", "on"):
                seconds, landed, bad = drain(spark, replace(base, connection=sets[mode]), work, f"{mode}-{n}")
                if bad or landed != len(events) * args.repeat:
                    msg = f"the job landed {landed} and quarantined {bad} of {len(events) * args.repeat} good events"
                    raise RuntimeError(msg)
                fastest[mode] = min(fastest[mode], seconds)
        for mode, seconds in fastest.items():
            checked = "every record checked against its writer schema's rules" if mode == "on" else "no rules"
            rate = len(events) * args.repeat / seconds
            rows.append(("streaming job, drain (best of 2)", mode, rate, f"{seconds:.1f} s, {checked}"))
    finally:
        for connection in sets.values():
            tear_down(connection)
        shutil.rmtree(work, ignore_errors=True)
    section = render(rows, len(events), len(events) * args.repeat, args.repeat)
    print(section)
    if not args.no_write:
        write_section(section, project_root() / "docs" / "benchmarks.md")
        print("written to docs/benchmarks.md")


if __name__ == "__main__":
    main()

"""Producer benchmark: where the time goes between the simulator and acknowledged records in Kafka.

Run with the local stack up: ``.venv/bin/python bench/produce_bench.py``. It measures, on the same
events: the simulator alone; fastavro (parsed schema) into Confluent wire format alone; the stock
path (SerializingProducer + AvroSerializer); the original tutorial's style (JSON, flush after every
message, on a small sample); this producer end to end (acks=all, 3 brokers) with its data rules
checked, as they are by default, and without them; and the whole pipeline (simulate + produce, rules
on) with 1 and 2 worker processes. The stock path and this producer alternate, so that both see the
same swings of a shared machine's load. Topics and subjects get a unique prefix and are
deleted afterwards. The table goes to stdout and to the "## Producer" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import confluent_kafka
import fastavro
from confluent_kafka import Producer, SerializingProducer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.serialization import SerializationContext, StringSerializer
from provenance import measured_commit, write_section  # bench/ is the script's folder: on sys.path

from core.catalog import Catalog, load_catalog, project_root
from core.procs import read_pid
from core.registry import RegistryClient
from core.settings import ConnectionSettings, local_dir
from core.topics import ensure_topics
from producer.producer import TelemetryProducer
from producer.run import RunOptions, run
from producer.simulator import Event, SimulationConfig, simulate
from producer.tuning import ProducerTuning
from producer.writers import lookup_writers


@dataclass(frozen=True)
class Row:
    name: str
    events: int
    seconds: float
    value_bytes: int
    note: str = ""
    cpu_client: float | None = None  # CPU seconds of this process and its children (all threads)
    cpu_brokers: float | None = None  # CPU seconds of the three Kafka brokers
    cpu_span_s: float | None = None  # wall seconds over which the CPU was measured (set-up included)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def mb_s(self) -> float:
        return self.value_bytes / 1e6 / self.seconds


def check(delivered: int, produced: int, path: str) -> None:
    if delivered != produced:
        msg = f"{path} delivered {delivered} of {produced} records: the figures would be wrong"
        raise RuntimeError(msg)


def best(rows: list[Row]) -> Row:
    return max(rows, key=lambda r: r.rate)


@contextmanager
def bench_topics(settings: ConnectionSettings, catalog: Catalog) -> Iterator[None]:
    registry = RegistryClient(settings.registry_url)
    admin = AdminClient(settings.kafka_config())
    brokers = len(admin.list_topics(timeout=30).brokers)
    replicas, min_insync = (3, 2) if brokers >= 3 else (1, 1)
    for stream in catalog.streams:
        registry.register(settings.subject(stream.subject), stream.schema_str)
    ensure_topics(settings, catalog.streams, replication_factor=replicas, min_insync_replicas=min_insync)
    tutorial = settings.topic("tutorial_json")
    admin.create_topics([NewTopic(tutorial, 3, replicas, config={"min.insync.replicas": str(min_insync)})])[
        tutorial
    ].result()
    try:
        yield
    finally:
        topics = [settings.topic(s.topic) for s in catalog.streams] + [tutorial]
        for future in admin.delete_topics(topics).values():
            future.result()
        for stream in catalog.streams:
            registry.delete_subject(settings.subject(stream.subject), permanent=True)


def broker_cpu() -> float:
    """CPU seconds used so far by the local stack's Kafka brokers (0 when they are not ours)."""
    total = 0
    for pid_file in (local_dir() / "run").glob("kafka-*.pid"):
        pid = read_pid(pid_file)
        if pid is not None:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def client_cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@contextmanager
def cpu_meter() -> Iterator[list[float]]:
    """Yields a list that holds (client CPU s, broker CPU s, wall s) of the block once it is done."""
    spent: list[float] = []
    client, brokers, began = client_cpu(), broker_cpu(), time.perf_counter()
    yield spent
    spent += [client_cpu() - client, broker_cpu() - brokers, time.perf_counter() - began]


def timed(name: str, work: Callable[[], tuple[int, int]], note: str = "") -> Row:
    with cpu_meter() as cpu:
        began = time.perf_counter()
        events, size = work()
        seconds = time.perf_counter() - began
    return Row(name, events, seconds, size, note, *cpu)


def bench_simulator(config: SimulationConfig, catalog: Catalog, size: int) -> Row:
    return timed("simulator alone", lambda: (sum(1 for _ in simulate(config, catalog)), size), "no I/O")


def bench_serialization(settings: ConnectionSettings, catalog: Catalog, events: list[Event]) -> Row:
    writers = {name: serializer for name, (_, serializer) in lookup_writers(settings, catalog).items()}

    def work() -> tuple[int, int]:
        return len(events), sum(len(writers[e.stream].serialize(e.value)) for e in events)

    return timed("fastavro (parsed) into wire format", work, "no Kafka")


def bench_stock(settings: ConnectionSettings, catalog: Catalog, events: list[Event]) -> Row:
    """SerializingProducer + AvroSerializer as Confluent's example uses them, with our Kafka tuning."""
    with warnings.catch_warnings():  # authlib, imported by the registry client, warns about httpx
        warnings.simplefilter("ignore")
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroSerializer

    client = SchemaRegistryClient({"url": settings.registry_url})
    conf = {"auto.register.schemas": False, "use.latest.version": True}
    by_topic = {settings.topic(s.topic): AvroSerializer(client, s.schema_str, conf=conf) for s in catalog.streams}

    def value_serializer(value: dict[str, Any], ctx: SerializationContext) -> bytes | None:
        return by_topic[ctx.topic](value, ctx)

    topics = {s.name: settings.topic(s.topic) for s in catalog.streams}
    producer = SerializingProducer(
        {
            **settings.kafka_config(),
            **ProducerTuning().kafka_config(),
            "key.serializer": StringSerializer("utf_8"),
            "value.serializer": value_serializer,
        }
    )
    delivered = [0]

    def report(error: Any, message: Any) -> None:
        if error is None:
            delivered[0] += 1
            delivered.append(len(message.value()))

    def work() -> tuple[int, int]:
        for e in events:
            producer.poll(0)
            producer.produce(topics[e.stream], key=e.key, value=e.value, on_delivery=report)
        producer.flush()
        check(delivered[0], len(events), "stock path")
        return len(events), sum(delivered[1:])

    return timed("stock: SerializingProducer + AvroSerializer", work, "acks=all, same tuning")


def bench_tutorial(settings: ConnectionSettings, events: list[Event]) -> Row:
    producer = Producer(settings.kafka_config())
    topic = settings.topic("tutorial_json")

    def work() -> tuple[int, int]:
        size = 0
        for e in events:
            value = json.dumps(e.value, default=str).encode()
            size += len(value)
            producer.produce(topic, key=e.key, value=value)
            producer.flush()
        return len(events), size

    return timed("tutorial: JSON, flush per message", work, f"{len(events)} events")


def bench_ours(settings: ConnectionSettings, catalog: Catalog, events: list[Event], *, rules: bool = True) -> Row:
    """This producer end to end; ``rules`` is its default (every record checked against its schema's data rules)."""
    producer = TelemetryProducer(settings, catalog, rules=rules).start()
    with cpu_meter() as cpu, producer:
        for e in events:
            producer.produce(e)
    s = producer.summary()
    check(s.delivered, len(events), "this producer")
    note = f"acks=all, idempotent, lz4, data rules {'checked' if rules else 'off'}"
    name = f"this producer, end to end, rules {'on (default)' if rules else 'off'}"
    return Row(name, s.produced, s.elapsed_s, s.value_bytes, note, *cpu)


def bench_workers(settings: ConnectionSettings, catalog: Catalog, config: SimulationConfig, workers: int) -> Row:
    with cpu_meter() as cpu:
        result = run(settings, catalog, RunOptions(simulation=config, workers=workers))
    s = result.summary
    check(s.delivered, s.produced, f"{workers} worker(s)")
    name = f"simulate + produce, --workers {workers}"
    return Row(name, s.produced, s.elapsed_s, s.value_bytes, "whole pipeline", *cpu)


def machine() -> str:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    pom = (project_root() / "jvm" / "pom.xml").read_text()
    kafka = re.search(r"<kafka.version>(.+?)<", pom)
    return (
        f"- machine: {os.cpu_count()} CPUs ({model.group(1) if model else platform.processor()}), "
        f"{f'{int(mem.group(1)) / 2**20:.1f} GiB' if mem else 'unknown'} memory, load average {load} at start "
        "(shared with the brokers "
        "and other work)\n"
        f"- versions: Python {platform.python_version()}, confluent-kafka {metadata.version('confluent-kafka')}, "
        f"librdkafka {confluent_kafka.libversion()[0]}, fastavro {fastavro.__version__}, "
        f"Kafka {kafka.group(1) if kafka else '?'} (3 KRaft brokers on 127.0.0.1)"
    )


def render(rows: dict[str, Row], config: SimulationConfig, repeat: int) -> str:
    ours, off, ser, stock = rows["ours"], rows["off"], rows["ser"], rows["stock"]
    w1, w2, tut = rows["w1"], rows["w2"], rows["tutorial"]
    lines = [
        "## Producer",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {measured_commit()} by "
        "`.venv/bin/python bench/produce_bench.py` "
        f"(best of {repeat}): {ours.events:,} events of a {config.vehicles}-vehicle journey "
        f"({config.max_steps} steps; vehicle, GPS, weather, traffic with ~2.5 kB PNGs, emergencies), "
        "the same events in every row. MB/s counts serialized values (Avro wire format; JSON for the tutorial).",
        "",
        machine(),
        "",
        "| path | events | seconds | events/s | MB/s | CPU s: client / brokers | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows.values():
        cpu = f"{r.cpu_client:.2f} / {r.cpu_brokers:.2f}" if r.cpu_client is not None else ""
        lines.append(f"| {r.name} | {r.events:,} | {r.seconds:.2f} | {r.rate:,.0f} | {r.mb_s:.2f} | {cpu} | {r.note} |")
    lines += [
        "",
        f"- end to end with the data rules on (the default) / stock path: **{ours.rate / stock.rate:.2f}x** "
        "(target 1.5x; the stock path checks no rules)",
        f"- rules on / rules off: {ours.rate / off.rate:.2f}x the events per second",
        f"- end to end / serialization alone: **{ours.rate / ser.rate:.2f}x** (target 0.5x)",
        f"- 2 workers / 1 worker (simulate + produce, rules on): **{w2.rate / w1.rate:.2f}x** (target 1.7x)",
        f"- end to end / tutorial style: {ours.rate / tut.rate:,.0f}x",
    ]
    if w1.cpu_client is not None and w1.cpu_brokers is not None and w1.cpu_span_s:
        cores = (w1.cpu_client + w1.cpu_brokers) / w1.cpu_span_s
        lines.append(
            f"- one worker keeps {cores:.2f} cores busy (its process {w1.cpu_client:.2f} CPU-s, the brokers "
            f"{w1.cpu_brokers:.2f} CPU-s, in {w1.cpu_span_s:.2f} s with set-up), so {os.cpu_count()} cores shared "
            "with the brokers "
            f"allow at most {(os.cpu_count() or 1) / cores:.2f}x for two workers, less when other work runs"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=40)
    parser.add_argument("--steps", type=int, default=1000, help="simulation steps (events ~ 3 x vehicles x steps)")
    parser.add_argument("--tutorial-events", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2, help="runs per path; the best is kept")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    # authlib, loaded by the stock path's registry client, warns about httpx on first use.
    warnings.filterwarnings("ignore", message=".*httpx.*")
    catalog = load_catalog()
    settings = ConnectionSettings.from_env(topic_prefix=f"bench{uuid.uuid4().hex[:8]}_")
    config = SimulationConfig(vehicles=args.vehicles, max_steps=args.steps)
    events = list(simulate(config, catalog))
    rows: dict[str, Row] = {}
    with bench_topics(settings, catalog):
        ser = best([bench_serialization(settings, catalog, events) for _ in range(args.repeat)])
        rows["sim"] = best([bench_simulator(config, catalog, ser.value_bytes) for _ in range(args.repeat)])
        rows["ser"] = ser
        paths: dict[str, list[Row]] = {"stock": [], "ours": [], "off": []}
        for _ in range(args.repeat):  # alternating, so that all three see the same swings of the machine's load
            paths["stock"].append(bench_stock(settings, catalog, events))
            paths["ours"].append(bench_ours(settings, catalog, events))
            paths["off"].append(bench_ours(settings, catalog, events, rules=False))
        rows["stock"] = best(paths["stock"])
        rows["tutorial"] = bench_tutorial(settings, events[: args.tutorial_events])
        rows["ours"], rows["off"] = best(paths["ours"]), best(paths["off"])
        # Alternate 1 and 2 workers so that both see the same swings of a shared machine's load.
        runs: dict[int, list[Row]] = {1: [], 2: []}
        for _ in range(args.repeat):
            for w in (1, 2):
                runs[w].append(bench_workers(settings, catalog, config, w))
        rows["w1"], rows["w2"] = best(runs[1]), best(runs[2])
    section = render(rows, config, args.repeat)
    print(section)
    if not args.no_write:
        write_section(section, project_root() / "docs" / "benchmarks.md")
        print("written to docs/benchmarks.md")


if __name__ == "__main__":
    main()

"""Streaming benchmark: rows/s of the job (Kafka -> lake) against a no-decode ceiling and the 5-byte shortcut.

One fixed data set of at least 1,000,000 events across the five topics, produced once into
``bench_``-prefixed topics (reused when already there). Each path drains all of it with an
available-now trigger, from a fresh checkpoint into a fresh lake folder (so a fresh Iceberg catalog,
``<lake>/_catalog/iceberg.db``), in the same local Spark:

* ceiling: the same Kafka source, appending the raw Kafka value bytes (and metadata) to an Iceberg table of
  the job's catalog as the job appends to its tables (:func:`write_like_the_job`), no decoding;
* shortcut: strip five bytes and ``from_avro`` with the latest schema, per topic (wrong under evolution),
  appended the same way to a table per topic;
* this job: header parsing, writer-schema decoding, data rules and quarantine check, idempotent batch commit;
* this job with the data rules left out (:func:`rules_left_out`), for what the rules cost.

Figures go to the "## Streaming" section of docs/benchmarks.md, with the commit they measured. Usage:
``.venv/bin/python bench/stream_bench.py [--events 1000000] [--max-offsets 250000,1000000] [--no-record]``
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from provenance import measured_commit, write_section  # bench/ is the script's folder: on sys.path
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro
from pyspark.sql.functions import partitioning

import streaming.reasons
from core.catalog import load_catalog, project_root
from core.iceberg_tables import TABLE_PROPERTIES, open_catalog
from core.registry import RegistryClient
from core.settings import ConnectionSettings, local_dir
from core.topics import ensure_topics
from producer.producer import TelemetryProducer
from producer.simulator import SimulationConfig, simulate
from streaming.commit import TableCommitter
from streaming.job import run
from streaming.session import configure, get_spark
from streaming.settings import StreamingSettings
from streaming.source import kafka_source_options

PREFIX = "bench_"
CATALOG = load_catalog()


def topic_sizes(connection: ConnectionSettings) -> dict[str, int]:
    """Records per bench topic (end minus beginning offsets)."""
    consumer = Consumer({**connection.kafka_config(), "group.id": "stream-bench", "enable.auto.commit": False})
    sizes = {}
    try:
        metadata = consumer.list_topics(timeout=10)
        for stream in CATALOG.streams:
            topic = connection.topic(stream.topic)
            if topic not in metadata.topics:
                sizes[topic] = 0
                continue
            total = 0
            for partition in metadata.topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                total += high - low
            sizes[topic] = total
    finally:
        consumer.close()
    return sizes


def ensure_data(connection: ConnectionSettings, events: int) -> dict[str, int]:
    """Produce the data set unless the bench topics already hold at least ``events`` records."""
    sizes = topic_sizes(connection)
    if sum(sizes.values()) >= events:
        print(f"reusing the data set in {PREFIX}* topics: {sum(sizes.values()):,} events")
        return sizes
    registry = RegistryClient(connection.registry_url, auth=connection.registry_auth())
    for stream in CATALOG.streams:
        subject = connection.subject(stream.subject)
        registry.set_compatibility(subject, "BACKWARD_TRANSITIVE")
        registry.register(subject, stream.schema_str)
    ensure_topics(connection, CATALOG.streams, replication_factor=3, min_insync_replicas=2)
    missing = events - sum(sizes.values())
    config = SimulationConfig(vehicles=400, max_steps=2000, seed=7)
    print(f"producing {missing:,} events into {PREFIX}* topics...")
    started = time.perf_counter()
    with TelemetryProducer(connection, CATALOG) as producer:
        for event in itertools.islice(simulate(config, CATALOG), missing):
            producer.produce(event)
    print(f"  produced in {time.perf_counter() - started:.1f} s")
    return topic_sizes(connection)


def _drain(spark: Any, settings: StreamingSettings, name: str, batch_function: Any) -> float:
    """Run a one-off available-now query with ``batch_function``; returns its wall time."""
    topics = [settings.connection.topic(s.topic) for s in CATALOG.streams]
    source = spark.readStream.format("kafka").options(**kafka_source_options(settings, topics)).load()
    started = time.perf_counter()
    query = (
        source.writeStream.queryName(name)
        .option("checkpointLocation", settings.checkpoint_location(name))
        .foreachBatch(batch_function)
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    return time.perf_counter() - started


def write_like_the_job(frame: DataFrame, settings: StreamingSettings, table: str, day: str, batch_id: int) -> None:
    """Append ``frame`` to the Iceberg table ``table`` of the job's catalog as the job appends a batch.

    The one place the other paths' format is chosen: a table in the same catalog as the job's lake, with the
    job's table properties, partitioned by the day of ``day`` as the job's tables are, created by the first
    batch (the job creates its tables inside its timed run too); the append is the job's own
    (:class:`streaming.commit.TableCommitter`: one commit recording the query and batch).
    """
    iceberg = settings.iceberg()
    name = iceberg.spark_table(table)
    # pyiceberg first: it makes a new lake's catalog file and its tables, which Spark's JDBC catalog expects.
    committer = TableCommitter(open_catalog(iceberg), {iceberg.table_id(table): name}, query_id=table)
    if not frame.sparkSession.catalog.tableExists(name):
        create = frame.limit(0).writeTo(name).using("iceberg").partitionedBy(partitioning.days(day))
        for key, value in {"format-version": "2", **TABLE_PROPERTIES}.items():
            create = create.tableProperty(key, value)
        create.create()
    committer.append(frame, iceberg.table_id(table), batch_id)


def ceiling(spark: Any, settings: StreamingSettings) -> float:
    """The same source writing the raw value bytes and Kafka metadata as the job writes: no decoding at all."""
    configure(spark, settings)  # the catalog of this run's lake

    def write(batch: DataFrame, batch_id: int) -> None:
        raw = batch.select("topic", "partition", "offset", "timestamp", "key", "value")
        write_like_the_job(raw, settings, "bench_ceiling", "timestamp", batch_id)

    return _drain(spark, settings, "ceiling", write)


@contextlib.contextmanager
def rules_left_out() -> Iterator[None]:
    """The job as it is, except that its plans check no data rule: what the rules cost is the difference.

    The rules come from the writer schemas in the registry; registering the schemas again without them
    would give the records other ids, so a second data set. Here the job's one source of rule checks
    gives none while the block runs, and the plan columns built from it are forgotten on both sides.
    """
    reasons = streaming.reasons
    saved = reasons.writer_rule_reasons

    def forget() -> None:
        for name in ("_checks", "verdict_column", "reason_column"):
            getattr(reasons, name).cache_clear()

    # No entry for any writer: no ``rule-violation`` check, and no ``rule-unchecked`` one either (the
    # bench's schemas have only rules the job checks, so that case never applies to its data anyway).
    reasons.writer_rule_reasons = lambda writers, reader, root: []
    forget()
    try:
        yield
    finally:
        reasons.writer_rule_reasons = saved
        forget()


def shortcut(spark: Any, settings: StreamingSettings) -> float:
    """Strip five bytes, decode every record with the latest schema (misreads other versions).

    Each topic's rows go to a table of their own (``bench_shortcut_<entity>``) in the job's catalog,
    partitioned by the day of their event time, as the job's are.
    """
    registry = RegistryClient(settings.connection.registry_url)
    configure(spark, settings)

    def write(batch: DataFrame, batch_id: int) -> None:
        cached = batch.persist(StorageLevel.MEMORY_AND_DISK)
        for stream in CATALOG.streams:
            latest = registry.latest(settings.connection.subject(stream.subject)).schema
            rows = cached.filter(F.col("topic") == settings.connection.topic(stream.topic))
            decoded = rows.select(from_avro(F.substr("value", F.lit(6)), latest).alias("r")).select("r.*")
            write_like_the_job(decoded, settings, f"bench_shortcut_{stream.name}", "event_time", batch_id)
        cached.unpersist()

    return _drain(spark, settings, "shortcut", write)


def per_topic_cap(cap: int, sizes: dict[str, int]) -> int:
    """The job's cap per topic (it runs a query per topic) that gives its biggest topic as many batches
    as a query over every topic with ``cap`` records per batch, which splits the cap by backlog."""
    total = sum(sizes.values())
    return max(1, -(-cap * max(sizes.values()) // total)) if total else cap


def measure(
    spark: Any, base: StreamingSettings, cap: int, sizes: dict[str, int], name: str = ""
) -> tuple[dict[str, float], int]:
    """Seconds of each path draining the data set with ``cap`` records per micro-batch; and rows the job landed."""
    name = name or str(cap)
    settings = dataclasses.replace(base, max_offsets_per_trigger=cap, checkpoints=f"{base.checkpoints}/{name}")
    settings = dataclasses.replace(settings, lake=f"{base.lake}/{name}")
    seconds = {"ceiling": ceiling(spark, settings)}
    job = dataclasses.replace(settings, max_offsets_per_trigger=per_topic_cap(cap, sizes))
    started = time.perf_counter()
    summary = run(job, spark=spark, catalog=CATALOG)
    seconds["job"] = time.perf_counter() - started
    seconds["shortcut"] = shortcut(spark, settings)
    off = dataclasses.replace(job, lake=f"{job.lake}-rules-off", checkpoints=f"{job.checkpoints}-rules-off")
    with rules_left_out():
        started = time.perf_counter()
        landed = sum(run(off, spark=spark, catalog=CATALOG).rows.values())
        seconds["rules off"] = time.perf_counter() - started
    return seconds, min(sum(summary.rows.values()), landed)


def main() -> int:
    """Run the four paths at each batch size and record the figures."""
    global PREFIX
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="size of the data set (default 1,000,000)")
    parser.add_argument(
        "--max-offsets", default="250000,1000000", help="records per micro-batch, comma-separated (all paths)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed passes of every path per batch size (median)")
    parser.add_argument("--no-record", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--prefix", default=PREFIX, help="topic and folder prefix: a data set of one's own")
    args = parser.parse_args()
    PREFIX = args.prefix
    caps = [int(c) for c in args.max_offsets.split(",")]
    connection = ConnectionSettings.from_env(topic_prefix=PREFIX)
    sizes = ensure_data(connection, args.events)
    total = sum(sizes.values())
    work = local_dir() / "bench" / f"{PREFIX}stream"
    shutil.rmtree(work, ignore_errors=True)
    base = StreamingSettings.from_env(
        topic_prefix=PREFIX, lake=str(work / "lake"), checkpoints=str(work / "checkpoints"), available_now=True
    )
    load = os.getloadavg()
    spark = get_spark(base, app_name="stream-bench")
    # One untimed pass of every path first: the JVM compiles each path's hot code (decoding above all)
    # during its first pass, which a streaming job that runs for hours pays once.
    warm, _ = measure(spark, base, max(caps), sizes, name="warm-up")
    print("warm-up (untimed): " + ", ".join(f"{k} {total / v:,.0f} rows/s" for k, v in warm.items()))
    table = []
    for cap in caps:
        runs: dict[str, list[float]] = {}
        for round_ in range(args.rounds):  # the rounds of a size one after the other: a load change hits all paths
            once, landed = measure(spark, base, cap, sizes, name=f"{cap}-{round_}")
            if landed != total:
                print(f"the job landed {landed:,} rows of {total:,}", file=sys.stderr)
                return 1
            print(", ".join(f"{k} {total / v:,.0f} rows/s" for k, v in once.items()) + f" (cap {cap:,})")
            for key, value in once.items():
                runs.setdefault(key, []).append(value)
        seconds = {k: statistics.median(v) for k, v in runs.items()}
        table.append((cap, seconds, {k: total / v for k, v in seconds.items()}, runs))
    import pyspark

    per_topic = ", ".join(f"{t.removeprefix(PREFIX)} {n:,}" for t, n in sizes.items())
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {measured_commit()} by "
        f"`{' '.join(['.venv/bin/python bench/stream_bench.py', *sys.argv[1:]])}`: "
        f"{total:,} events already in Kafka ({per_topic}), drained with an available-now trigger "
        "from a fresh checkpoint into a fresh local folder, in one local Spark (`local[2]`, 2 GB driver, "
        "warmed up by one untimed pass of each path); at each batch size the four paths ran one after the "
        f"other, {args.rounds} time(s), and the median counts. The job runs a query per topic, so its cap is per "
        "topic: the batch size times the biggest "
        f"topic's share ({per_topic_cap(caps[0], sizes):,} for {caps[0]:,}), which gives its biggest topic as "
        "many batches as the other paths' single query, whose cap Spark splits across the topics by backlog.",
        "",
        f"- machine: {os.cpu_count()} CPUs, load average {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} at start "
        "(shared with the three brokers, the registry and other work)",
        f"- versions: Python {platform.python_version()}, pyspark {pyspark.__version__}, Java 17",
        "",
        "| records per batch | path | seconds, each round | median seconds | rows/s (median) | vs ceiling |",
        "|---:|---|---|---:|---:|---:|",
    ]
    names = {
        "ceiling": "ceiling: raw value bytes to an Iceberg table, no decoding",
        "job": "this job: writer-schema decode, data rules, quarantine check, idempotent commit",
        "shortcut": "shortcut: strip 5 bytes, latest schema only (wrong under evolution), no rules",
        "rules off": "this job with the data rules left out",
    }
    for cap, seconds, rate, runs in table:
        for key, label in names.items():
            share = rate[key] / rate["ceiling"]
            each = ", ".join(f"{s:.1f}" for s in runs[key])
            lines.append(f"| {cap:,} | {label} | {each} | {seconds[key]:.1f} | {rate[key]:,.0f} | {share:.0%} |")
    lines.append("")
    for cap, _, rate, _ in table:
        lines.append(
            f"- {cap:,} records per batch: this job / ceiling **{rate['job'] / rate['ceiling']:.2f}x** (target "
            f"0.75x), this job / shortcut **{rate['job'] / rate['shortcut']:.2f}x** (target 1.0x), rules on / "
            f"rules off **{rate['job'] / rate['rules off']:.2f}x** (target 0.9x)"
        )
    print("\n".join(lines))
    if not args.no_record:
        write_section("\n".join(["## Streaming", "", *lines]), project_root() / "docs" / "benchmarks.md")
        print("recorded in docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

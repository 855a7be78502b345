"""The streaming job: Kafka topics -> per-batch decode by writer schema -> Iceberg tables and quarantine.

One Spark application runs one Structured Streaming query per entity: it subscribes to the entity's
topic and has its own checkpoint (``<checkpoints>/<prefix><entity>``). Each micro-batch goes through
:class:`~streaming.batch.BatchWriter` (``foreachBatch``): it parses the Confluent headers, decodes
the records with the writer schemas of the subject's versions and the subject's latest schema (see
:mod:`streaming.resolver`) into the entity's Iceberg table and sends the rest to its quarantine table,
each in a commit that records the batch (see :mod:`streaming.commit`), which is what makes the job
exactly once across crashes.

Before any query starts, the job creates or evolves its tables to the subjects' latest schemas
(:func:`core.iceberg_tables.ensure_tables`), refuses a lake of the earlier Parquet layout that was not
imported (:mod:`streaming.legacy`), and makes sure each table is written by this checkpoint alone
(:mod:`streaming.owner`). A continuous run also maintains its tables on a schedule
(:class:`streaming.maintain.MaintenanceSchedule`).

Why a query per entity rather than one over every topic: a batch of one topic is decoded and
written in one Spark job straight from Kafka. A batch of every topic would be read once per entity,
or cached and filtered five times, which costs more than the decoding itself (docs/benchmarks.md).
The queries share the driver, the executors and the registry cache; a query's batch size cap
(``--max-offsets-per-trigger``) is per topic.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from types import FrameType
from typing import Any

from pyspark.errors import StreamingQueryException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from core.catalog import Catalog, Stream, load_catalog
from core.errors import TelemetryError
from core.iceberg import IcebergCatalog
from core.iceberg_tables import ensure_tables, open_catalog
from core.registry import RegistryClient
from core.tables import entity_lake_table, quarantine_lake_table
from streaming.batch import BatchWriter, RunSummary, StopGate, Target
from streaming.checkpoint import HadoopFs, check_layout, checkpoint_id, write_checkpoint_id
from streaming.commit import TableCommitter
from streaming.decode import EVENT_TIME_FIELD, INGESTED_AT
from streaming.legacy import refuse_unimported
from streaming.listener import ProgressWatcher
from streaming.maintain import MaintenanceSchedule, MaintenanceSettings
from streaming.monitor import OffsetsMonitor
from streaming.owner import claim_tables
from streaming.resolver import SchemaResolver
from streaming.session import configure, get_spark
from streaming.settings import StreamingSettings
from streaming.source import check_topics, kafka_source_options

__all__ = ["BatchWriter", "RunSummary", "Target", "run"]

log = logging.getLogger(__name__)


class _StopRequest:
    """Ctrl-C and SIGTERM ask the loop to stop instead of raising inside a py4j call (which breaks py4j)."""

    def __init__(self) -> None:
        self.requested = ""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = signal.Signals(signum).name

    @contextmanager
    def on_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals are only delivered to the main thread
            return
        previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _quietly(call: Callable[[], object]) -> None:
    """Best effort on the way out: the JVM may already be going down (spark-submit gets Ctrl-C too)."""
    try:
        call()
    except Exception as exc:  # py4j and Spark raise several types for "the JVM is gone"
        log.debug("ignored on shutdown: %s", exc)


def _targets(settings: StreamingSettings, catalog: Catalog, iceberg: IcebergCatalog) -> dict[str, Target]:
    connection = settings.connection
    targets = {}
    for stream in settings.streams(catalog):
        if EVENT_TIME_FIELD not in stream.field_names:
            msg = f"{stream.schema_path.name} has no {EVENT_TIME_FIELD!r} field to partition the {stream.name} table by"
            raise TelemetryError(msg)
        topic = connection.topic(stream.topic)
        entity, quarantine = entity_lake_table(stream), quarantine_lake_table(stream)
        targets[topic] = Target(
            stream.name, topic, connection.subject(stream.subject), iceberg.table_id(entity.name),
            iceberg.table_id(quarantine.name),
        )  # fmt: skip
    return targets


def _evolver(iceberg: IcebergCatalog, stream: Stream) -> Callable[[str], None]:
    """Brings the stream's tables to a latest schema (JSON text), as registered: added columns, promotions."""

    def evolve(reader_schema: str) -> None:
        registered = dataclasses.replace(stream, schema=json.loads(reader_schema))
        for line in ensure_tables(iceberg, [entity_lake_table(registered), quarantine_lake_table(registered)]):
            log.info("%s (schema of the subject's latest version)", line)

    return evolve


_BATCH_GRACE_S = 120
"""How long a stop waits for the batches in flight to finish (a batch stopped midway runs again anyway)."""


def _quiet_interrupted_batches(spark: SparkSession) -> None:
    """Leave the report of a failed batch to the job (one line), not to py4j and Spark's stack traces.

    The batch's own exception is kept by its writer and raised by :func:`run`; with
    ``TELEMETRY_LOG_LEVEL=DEBUG`` the traces are shown as well.
    """
    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        return
    logging.getLogger("py4j.clientserver").setLevel(logging.CRITICAL)
    jvm: Any = spark.sparkContext._jvm  # noqa: SLF001 - log4j has no Python API
    _quietly(lambda: jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        "org.apache.spark.sql.execution.streaming.runtime.MicroBatchExecution", jvm.org.apache.logging.log4j.Level.FATAL
    ))  # fmt: skip


def _wait(queries: dict[str, StreamingQuery], stop: _StopRequest, watcher: ProgressWatcher) -> str | None:
    """Wait until every query has stopped, one has failed (its name) or a stop is requested; log progress."""
    while not stop.requested:
        for name, query in queries.items():
            if query.exception() is not None:
                return name
        if not any(query.isActive for query in queries.values()):
            return None
        watcher.poll(queries)
        time.sleep(0.2)
    return None


def run(
    settings: StreamingSettings, *, spark: SparkSession | None = None, catalog: Catalog | None = None
) -> RunSummary:
    """Run the entities' queries until they drain (``available_now``), one fails, or Ctrl-C/SIGTERM stops them.

    A session passed in (tests share one) is left running; one created here is stopped at the end.

    Checks first that the registry has a version of every subject and that Kafka has every topic,
    so a misconfigured start fails in one clear line instead of inside Spark.

    Raises:
        TelemetryError: a start-up check or a batch failed (the batch is replayed on the next run).
    """
    catalog = catalog or load_catalog()
    iceberg = settings.iceberg()
    maintenance = MaintenanceSettings.from_env(iceberg)
    targets = _targets(settings, catalog, iceberg)
    streams = {stream.name: stream for stream in settings.streams(catalog)}
    connection = settings.connection
    client = RegistryClient(connection.registry_url, auth=connection.registry_auth(), retries=0)  # the resolver retries
    resolver = SchemaResolver(client, first_day=settings.projection_start, refresh=settings.registry_refresh)
    latest = {topic: resolver.latest(target.subject).schema for topic, target in targets.items()}
    check_topics(connection, list(targets))
    owned = spark is None
    if spark is None:
        spark = get_spark(settings)
    else:
        configure(spark, settings)
    fs = HadoopFs(spark)
    check_layout(fs, settings.checkpoint_location("lake"))
    refuse_unimported(fs, settings.lake, list(streams))
    evolvers = {topic: _evolver(iceberg, streams[target.entity]) for topic, target in targets.items()}
    for topic, evolve in evolvers.items():
        resolver.check_latest(targets[topic].subject)  # a table never takes a lake-unsafe latest schema
        evolve(latest[topic])
    tables = open_catalog(iceberg)
    checkpoints = {topic: checkpoint_id(fs, settings.checkpoint_location(t.entity)) for topic, t in targets.items()}
    for topic, target in targets.items():  # before any query reads or writes anything
        claim_tables(tables, [target.table, target.quarantine], checkpoints[topic], topic, settings.lake)
    for made in checkpoints.values():
        write_checkpoint_id(fs, made)
    names = {topic: f"{connection.topic_prefix}{target.entity}" for topic, target in targets.items()}
    writers: dict[str, BatchWriter] = {}
    queries: dict[str, StreamingQuery] = {}
    monitor = OffsetsMonitor(connection)
    watcher = ProgressWatcher(monitor)
    stop = _StopRequest()
    gate = StopGate()
    _quiet_interrupted_batches(spark)
    failed: str | None = None
    schedule: MaintenanceSchedule | None = None
    try:
        for topic, target in targets.items():
            name = names[topic]
            checkpoint = settings.checkpoint_location(target.entity)
            spark_names = {t: iceberg.spark_table(t.rpartition(".")[2]) for t in (target.table, target.quarantine)}
            committer = TableCommitter(tables, spark_names, checkpoints[topic].query_id)
            writers[name] = BatchWriter(target, resolver, committer, evolvers[topic], gate)
            source = spark.readStream.format("kafka").options(**kafka_source_options(settings, [topic])).load()
            # The batch's timestamp, which Spark keeps in the checkpoint: a replayed batch gets the same
            # ingestion time, and the generated code stays the same from batch to batch (a literal
            # time would be compiled into it, and Spark would compile every batch's code again).
            source = source.withColumn(INGESTED_AT, F.current_timestamp())
            stream = source.writeStream.queryName(name).option("checkpointLocation", checkpoint)
            stream = stream.foreachBatch(writers[name])
            stream = (
                stream.trigger(availableNow=True)
                if settings.available_now
                else stream.trigger(processingTime=settings.trigger_interval)
            )
            queries[name] = stream.start()
            log.info("query %s started (id %s, run %s)", name, queries[name].id, queries[name].runId)
        log.info(
            "streaming %s into the Iceberg tables of %s (one query each, checkpoints in %s)", ", ".join(targets),
            settings.lake, settings.checkpoints,
        )  # fmt: skip
        if not settings.available_now:
            schedule = MaintenanceSchedule(
                spark, maintenance, [t for x in targets.values() for t in (x.table, x.quarantine)]
            )
            schedule.start()
        with stop.on_signals():
            failed = _wait(queries, stop, watcher)
        if failed is not None:
            queries[failed].awaitTermination()  # raises the query's StreamingQueryException
        if stop.requested:
            log.info("stopping the queries (%s); an unfinished batch is replayed on the next run", stop.requested)
    except StreamingQueryException as exc:
        failure = writers[failed].failure if failed is not None else None
        if isinstance(failure, TelemetryError):
            raise failure from exc
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"the streaming query failed: {first}; it resumes from its checkpoint on the next run"
        raise TelemetryError(msg) from exc
    finally:
        if schedule is not None:
            schedule.stop()
        if not gate.close(_BATCH_GRACE_S):
            log.warning("batches still running after %d s; stopping them (they run again on the next start)",
                        _BATCH_GRACE_S)  # fmt: skip
        for query in queries.values():
            _quietly(query.stop)
        _quietly(partial(watcher.poll, queries))  # the last batches' lines, and their end offsets
        monitor.close()
        if owned:
            _quietly(spark.stop)
    summary = RunSummary(stopped_by_user=bool(stop.requested))
    for writer in writers.values():
        summary.batches += writer.summary.batches
        summary.rows.update(writer.summary.rows)
    return summary

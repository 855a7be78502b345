"""The streaming job: Kafka topics -> per-batch decode by writer schema -> Parquet tables and quarantine.

One Structured Streaming query subscribes to every selected topic, with one checkpoint. Each
micro-batch goes through :class:`~streaming.batch.BatchWriter` (``foreachBatch``): it parses the
Confluent headers, decodes each topic's records with the writer schemas of its subject's versions
and the subject's latest schema (see :mod:`streaming.resolver`) into its entity table and sends the
rest to the quarantine, and commits the batch's files idempotently (see :mod:`streaming.sink`),
which is what makes the job exactly once across crashes.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from pyspark.errors import StreamingQueryException
from pyspark.sql import SparkSession

from core.catalog import Catalog, load_catalog
from core.errors import TelemetryError
from core.registry import RegistryClient
from streaming.batch import BatchWriter, RunSummary, Target
from streaming.decode import EVENT_TIME_FIELD
from streaming.listener import ProgressListener
from streaming.resolver import SchemaResolver
from streaming.session import configure, get_spark
from streaming.settings import StreamingSettings
from streaming.sink import BatchCommitter, HadoopFs
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


def _targets(settings: StreamingSettings, catalog: Catalog) -> dict[str, Target]:
    connection = settings.connection
    targets = {}
    for stream in settings.streams(catalog):
        if EVENT_TIME_FIELD not in stream.field_names:
            msg = f"{stream.schema_path.name} has no {EVENT_TIME_FIELD!r} field to partition the {stream.name} table by"
            raise TelemetryError(msg)
        topic = connection.topic(stream.topic)
        targets[topic] = Target(stream.name, topic, connection.subject(stream.subject))
    return targets


def run(
    settings: StreamingSettings, *, spark: SparkSession | None = None, catalog: Catalog | None = None
) -> RunSummary:
    """Run the streaming query until it drains (``available_now``), fails, or is stopped (Ctrl-C, SIGTERM).

    A session passed in (tests share one) is left running; one created here is stopped at the end.

    Checks first that the registry has a version of every subject and that Kafka has every topic,
    so a misconfigured start fails in one clear line instead of inside Spark.

    Raises:
        TelemetryError: a start-up check or a batch failed (the batch is replayed on the next run).
    """
    targets = _targets(settings, catalog or load_catalog())
    connection = settings.connection
    resolver = SchemaResolver(RegistryClient(connection.registry_url, auth=connection.registry_auth()))
    for target in targets.values():
        resolver.latest(target.subject)
    check_topics(connection, list(targets))
    owned = spark is None
    if spark is None:
        spark = get_spark(settings)
    else:
        configure(spark, settings)
    tables = [t for target in targets.values() for t in (target.entity, target.quarantine)]
    committer = BatchCommitter(HadoopFs(spark), settings.lake, tables, owner=settings.checkpoint_location())
    writer = BatchWriter(targets, resolver, committer)
    name = f"{connection.topic_prefix}lake"
    listener = ProgressListener(name)
    spark.streams.addListener(listener)
    source = spark.readStream.format("kafka").options(**kafka_source_options(settings, list(targets))).load()
    stream = (
        source.writeStream.queryName(name)
        .option("checkpointLocation", settings.checkpoint_location())
        .foreachBatch(writer)
    )
    stream = (
        stream.trigger(availableNow=True)
        if settings.available_now
        else stream.trigger(processingTime=settings.trigger_interval)
    )
    log.info("streaming %s into %s (checkpoint %s)", ", ".join(targets), settings.lake, settings.checkpoint_location())
    query = stream.start()
    stop = _StopRequest()
    try:
        with stop.on_signals():
            while not stop.requested and not query.awaitTermination(1):
                pass
        if stop.requested:
            log.info("stopping the query (%s); an unfinished batch is replayed on the next run", stop.requested)
            _quietly(query.stop)
            writer.summary.stopped_by_user = True
    except StreamingQueryException as exc:
        if isinstance(writer.failure, TelemetryError):
            raise writer.failure from exc
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"the streaming query failed: {first}; it resumes from its checkpoint on the next run"
        raise TelemetryError(msg) from exc
    finally:
        _quietly(lambda: spark.streams.removeListener(listener))
        if owned:
            _quietly(spark.stop)  # also delivers the last progress events while Python still listens
    return writer.summary

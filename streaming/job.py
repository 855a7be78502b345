"""The streaming job: Kafka topics -> per-batch decode by writer schema -> Parquet tables and quarantine.

One Structured Streaming query subscribes to every selected topic, with one checkpoint. Each
micro-batch goes through :class:`BatchWriter` (``foreachBatch``): it parses the Confluent headers,
asks the registry about the batch's schema ids and the subjects' latest schemas (see
:mod:`streaming.resolver`), decodes each topic's records into its entity table and sends the rest
to the quarantine, and commits the batch's files idempotently (see :mod:`streaming.sink`), which is
what makes the job exactly once across crashes.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from pyspark import StorageLevel
from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from core.catalog import Catalog, load_catalog
from core.errors import TelemetryError
from core.lake import PARTITION_COLUMN, QUARANTINE_DIR
from core.registry import RegistryClient
from streaming.decode import EVENT_TIME_FIELD, entity_frame, good_rows, quarantine_rows, with_header
from streaming.listener import ProgressListener
from streaming.resolver import SchemaResolver
from streaming.session import configure, get_spark
from streaming.settings import StreamingSettings
from streaming.sink import BatchCommitter, HadoopFs
from streaming.source import check_topics, kafka_source_options

__all__ = ["BatchWriter", "RunSummary", "Target", "run"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """One entity the job streams: its table, physical topic and physical registry subject."""

    entity: str
    topic: str
    subject: str

    @property
    def quarantine(self) -> str:
        """The entity's quarantine table, relative to the lake."""
        return f"{QUARANTINE_DIR}/{self.entity}"


@dataclass
class RunSummary:
    """What a run did: batches, and rows written per table (entity or ``_quarantine/<entity>``)."""

    batches: int = 0
    replays: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    stopped_by_user: bool = False


class BatchWriter:
    """The ``foreachBatch`` function: decode, quarantine and commit one micro-batch.

    Args:
        targets: the entities, keyed by physical topic.
        resolver: registry look-ups (cached).
        committer: stages and commits files idempotently.
    """

    def __init__(self, targets: dict[str, Target], resolver: SchemaResolver, committer: BatchCommitter) -> None:
        self._targets = targets
        self._resolver = resolver
        self._committer = committer
        self.summary = RunSummary()
        self.failure: BaseException | None = None

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        """Process batch ``batch_id``; keep the failure so the CLI can report it in one line."""
        try:
            self._process(batch, int(batch_id))
        except BaseException as exc:
            self.failure = exc
            raise

    def _process(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        now = datetime.now(UTC)
        ingested_at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # a timestamp-millis column
        if self._committer.begin(batch_id):
            self.summary.replays += 1
        # Cache the Kafka rows once: the id survey and each entity's write read them (the header columns
        # are derived again on each read, which is cheaper than caching a second copy of every body).
        cached = batch.select("topic", "partition", "offset", "timestamp", "key", "value").persist(
            StorageLevel.MEMORY_AND_DISK
        )
        header = with_header(cached)
        written: Counter[str] = Counter()
        timings: dict[str, float] = {}
        try:
            ids: dict[str, set[int]] = defaultdict(set)
            counts: Counter[str] = Counter()
            for row in header.groupBy("kafka_topic", "_schema_id").count().collect():
                counts[row["kafka_topic"]] += int(row["count"])
                if row["_schema_id"] is not None:
                    ids[row["kafka_topic"]].add(int(row["_schema_id"]))
            timings["survey"] = time.monotonic() - started

            for topic, rows in sorted(counts.items()):
                target = self._targets[topic]
                mark = time.monotonic()
                good, bad = self._write_entity(header, target, ids[topic], rows, batch_id, ingested_at)
                timings[target.entity] = time.monotonic() - mark
                written[target.entity] += good
                written[target.quarantine] += bad
        finally:
            cached.unpersist()
        self.summary.batches += 1
        self.summary.rows.update(written)
        parts = ", ".join(f"{t} {n}" for t, n in sorted(written.items()) if n) or "no rows"
        spent = ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
        log.info("batch %d committed in %.1f s (%s): %s", batch_id, time.monotonic() - started, spent, parts)

    def _write_entity(
        self, header: DataFrame, target: Target, ids: set[int], rows: int, batch_id: int, ingested_at: datetime
    ) -> tuple[int, int]:
        """Write one topic's rows of the batch; returns (rows to the table, rows to the quarantine)."""
        plan = self._resolver.plan(target.entity, target.topic, target.subject, ids)
        frame = entity_frame(header, plan)
        bad = rows
        if plan.writers:
            # The observation counts quarantine cases while the good rows are written (one decode pass);
            # only a batch that has some decodes again to write them.
            observation = Observation()
            observed = frame.observe(observation, F.count_if(F.col("reason").isNotNull()).alias("bad"))
            good = good_rows(observed, plan, ingested_at)
            self._stage(good, self._committer.staging(batch_id, target.entity))
            bad = int(observation.get["bad"])
            self._committer.commit(batch_id, target.entity)
        if bad:
            self._stage(quarantine_rows(frame, ingested_at), self._committer.staging(batch_id, target.quarantine))
            self._committer.commit(batch_id, target.quarantine)
            log.warning("batch %d: %d record(s) of %s quarantined", batch_id, bad, target.topic)
        return rows - bad, bad

    @staticmethod
    def _stage(frame: DataFrame, path: str) -> None:
        frame.write.mode("overwrite").partitionBy(PARTITION_COLUMN).parquet(path)


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

"""One micro-batch of the job (the ``foreachBatch`` function): decode, quarantine, commit idempotently.

The batch's Kafka rows are cached, and each entity is written from them by its own Spark job. Those
jobs are submitted together from a few driver threads, so their fixed costs (planning, scheduling,
the write's commit; 0.3-0.5 s per job on two cores even for a handful of rows) overlap instead of
adding up; in Spark's FIFO order the first job reads the batch from Kafka into the cache and the
others read the cache.

There is no survey of the batch's schema ids: each entity decodes with the ids of its subject's
registered versions (:meth:`SchemaResolver.plan`). While the good rows are written, an observation
counts the entity's rows and quarantine cases and collects the ids the plan did not cover; only
those ids are then looked up (unknown, or another subject's), and only an entity with quarantine
cases runs a second job to write them. An uncovered id that turns out to be a version of the subject
after all (registered a moment after the plan was made) is decoded: the entity's rows are staged again.

Files move into the tables only after every write of the batch has finished (see
:mod:`streaming.sink`), which is what makes a replayed batch replace itself.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from core.lake import PARTITION_COLUMN, QUARANTINE_DIR
from streaming.decode import EntityPlan, entity_frame, good_rows, quarantine_rows, unresolved_id, with_header
from streaming.resolver import SchemaResolver
from streaming.sink import BatchCommitter

__all__ = ["BatchWriter", "RunSummary", "Target"]

log = logging.getLogger("streaming.job")

_MAX_THREADS = 8
"""Entity writes submitted at once; more would only queue in Spark's scheduler."""


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


@dataclass(frozen=True)
class _Staged:
    """One entity's part of a batch, staged: its row counts and the tables to commit."""

    target: Target
    rows: int
    bad: int
    seconds: float

    @property
    def tables(self) -> list[str]:
        return [t for t, n in ((self.target.entity, self.rows - self.bad), (self.target.quarantine, self.bad)) if n]


def _metrics(plan: EntityPlan) -> list[Column]:
    """Rows, quarantine cases and uncovered schema ids of an entity frame, in one aggregation."""
    return [
        F.count(F.lit(1)).alias("rows"),
        F.count_if(F.col("reason").isNotNull()).alias("bad"),
        F.collect_set(unresolved_id(plan)).alias("unresolved"),
    ]


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
        # Cached once: every entity's write reads the batch (the header columns are derived again on
        # each read, which is cheaper than caching a second copy of every body). The batch's time is a
        # column of it so that the writes' generated code is the same from batch to batch.
        kafka = batch.select("topic", "partition", "offset", "timestamp", "key", "value")
        # One cached partition per core instead of one per Kafka partition (a no-op when there are
        # more cores): each entity's write then runs that many tasks, not one per partition of every topic.
        kafka = kafka.coalesce(batch.sparkSession.sparkContext.defaultParallelism)
        cached = kafka.withColumn("ingested_at", F.lit(ingested_at)).persist(StorageLevel.MEMORY_AND_DISK)
        header = with_header(cached)
        try:
            plans = [(t, self._resolver.plan(t.entity, t.topic, t.subject)) for t in self._targets.values()]
            threads = min(len(plans), _MAX_THREADS) or 1
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"batch-{batch_id}") as pool:
                futures = [pool.submit(self._stage_entity, header, t, p, batch_id, ingested_at) for t, p in plans]
                staged = [f.result() for f in futures]  # leaving the pool waits for every write, even on failure
        finally:
            cached.unpersist()
        mark = time.monotonic()
        written: Counter[str] = Counter()
        for part in staged:
            for table in part.tables:
                self._committer.commit(batch_id, table)
            written[part.target.entity] += part.rows - part.bad
            written[part.target.quarantine] += part.bad
        self.summary.batches += 1
        self.summary.rows.update(written)
        parts = ", ".join(f"{t} {n}" for t, n in sorted(written.items()) if n) or "no rows"
        spent = ", ".join(f"{p.target.entity} {p.seconds:.1f}" for p in staged)
        log.info(
            "batch %d committed in %.1f s (writes in parallel: %s; commit %.1f): %s",
            batch_id,
            time.monotonic() - started,
            spent,
            time.monotonic() - mark,
            parts,
        )

    def _stage_entity(
        self, header: DataFrame, target: Target, plan: EntityPlan, batch_id: int, ingested_at: datetime
    ) -> _Staged:
        """Stage one topic's rows of the batch: good rows to the entity, the others to its quarantine."""
        started = time.monotonic()
        while True:
            if plan.writers:
                rows, bad, unresolved = self._stage_good(header, plan, batch_id, ingested_at)
            else:  # no usable writer schema at all: every row is a quarantine case; count them first
                frame = entity_frame(header, plan)
                row = frame.agg(*_metrics(plan)).collect()[0]
                rows, bad, unresolved = int(row["rows"]), int(row["bad"]), {int(i) for i in row["unresolved"]}
            if not unresolved:
                break
            looked_up = self._resolver.plan(target.entity, target.topic, target.subject, unresolved)
            fresh = looked_up.writers.keys() - plan.writers.keys()
            plan = looked_up
            if not fresh:
                break
            log.info("batch %d: %s has new writer id(s) %s; staging it again", batch_id, target.topic, sorted(fresh))
        if bad:
            bad_rows = quarantine_rows(entity_frame(header, plan), ingested_at)
            self._write(bad_rows, self._committer.staging(batch_id, target.quarantine))
            log.warning("batch %d: %d record(s) of %s quarantined", batch_id, bad, target.topic)
        return _Staged(target, rows, bad, time.monotonic() - started)

    def _stage_good(
        self, header: DataFrame, plan: EntityPlan, batch_id: int, ingested_at: datetime
    ) -> tuple[int, int, set[int]]:
        """Write the plan's decodable rows to the staging area; (rows, quarantine cases, uncovered ids)."""
        # The observation is what keeps decoding to one pass, besides counting: without it Spark pushes
        # the quarantine filter below the projection and runs from_avro twice per record.
        observation = Observation()
        observed = entity_frame(header, plan).observe(observation, *_metrics(plan))
        self._write(good_rows(observed, plan, ingested_at), self._committer.staging(batch_id, plan.entity))
        metrics = observation.get
        return int(metrics["rows"]), int(metrics["bad"]), {int(i) for i in metrics["unresolved"]}

    @staticmethod
    def _write(frame: DataFrame, path: str) -> None:
        frame.write.mode("overwrite").partitionBy(PARTITION_COLUMN).parquet(path)

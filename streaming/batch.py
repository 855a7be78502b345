"""One micro-batch of one entity's query (the ``foreachBatch`` function): decode, quarantine, commit.

The job runs one query per entity (see :mod:`streaming.job`), so a batch holds one topic's records,
and its rows are decoded and written in one Spark job straight from Kafka: no cache, and no filter
by topic over the other topics' records.

There is no survey of the batch's schema ids: the batch decodes with the ids of its subject's
registered versions (:meth:`SchemaResolver.plan`). While the good rows are written, an observation
counts the rows and quarantine cases and collects the ids the plan did not cover; only those ids
are then looked up (unknown, or another subject's), and only a batch with quarantine cases runs a
second job to write them. An uncovered id that turns out to be a version of the subject after all
(registered a moment after the plan was made) is decoded: the batch's rows are staged again.

Files move into the tables only after every write of the batch has finished (see
:mod:`streaming.sink`), which is what makes a replayed batch replace itself.

A batch that follows a small one (under :data:`ONE_TASK_BELOW` rows) is read and written by one
task instead of one per Kafka partition: at a short trigger a batch's cost is its tasks' fixed
costs (a Kafka fetch, a Parquet file, a commit each), not its rows (docs/benchmarks.md, "Latency").
The first batch of a run, and any batch after a large one, keeps a task per partition, so a backlog
is still read in parallel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from core.errors import TelemetryError
from core.lake import PARTITION_COLUMN, QUARANTINE_DIR
from streaming.decode import _VERDICT, INGESTED_AT, EntityPlan, unresolved_id, with_header
from streaming.failpoints import failpoint
from streaming.resolver import SchemaResolver
from streaming.rows import checked_frame, decoded_frame, entity_frame, good_rows, quarantine_rows, with_verdict
from streaming.sink import BatchCommitter

__all__ = ["BatchWriter", "RunSummary", "StopGate", "Target", "observed_good_rows"]

log = logging.getLogger("streaming.job")

ONE_TASK_BELOW = 10_000
"""A batch whose previous batch had fewer rows than this is read and written by one task."""


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
    rows: Counter[str] = field(default_factory=Counter)
    stopped_by_user: bool = False


class StopGate:
    """Lets the job stop its queries between batches, never in the middle of one.

    Why: stopping a query interrupts the batch it is running, and Spark then matches a regular
    expression over the interrupted batch's error text (a long Python traceback), which overflows
    the stack of the query's thread. Once the gate is closed, a batch that begins fails at once with
    a short message (it is not marked done, so it runs on the next start), and the job waits for the
    batches already running to finish before it stops the queries.
    """

    def __init__(self) -> None:
        self._closed = False
        self._running = 0
        self._changed = threading.Condition()

    def enter(self, entity: str, batch_id: int) -> None:
        """Begin a batch; refused once the gate is closed."""
        with self._changed:
            if self._closed:
                msg = f"{entity} batch {batch_id} left for the next run: the job is stopping"
                raise TelemetryError(msg)
            self._running += 1

    def leave(self) -> None:
        """End a batch."""
        with self._changed:
            self._running -= 1
            self._changed.notify_all()

    def close(self, timeout: float) -> bool:
        """Refuse new batches and wait for the running ones; False when some still run after ``timeout`` s."""
        with self._changed:
            self._closed = True
            return self._changed.wait_for(lambda: self._running == 0, timeout)


@lru_cache(maxsize=64)
def _decode_metrics(plan: EntityPlan) -> tuple[Column, ...]:
    """Rows and uncovered schema ids of a decoded frame, in one aggregation."""
    return F.count(F.lit(1)).alias("rows"), F.collect_set(unresolved_id(plan)).alias("unresolved")


@lru_cache(maxsize=1)
def _bad() -> Column:
    """Quarantine cases of a checked frame."""
    return F.count_if(F.col(_VERDICT).isNotNull()).alias("bad")


def observed_good_rows(header: DataFrame, plan: EntityPlan) -> tuple[DataFrame, Observation, Observation]:
    """The good rows to write, and the observations of the write: (rows, uncovered ids) and quarantine cases.

    The observations count, and they are what keeps the plan in three stages of generated code:
    decode, verdict, write. Without them Spark merges the projections (and pushes the quarantine
    filter below the decode, which then runs twice per record); with the rules in it, the merged
    method is too large for the JVM's JIT compiler and runs interpreted (docs/benchmarks.md,
    "Streaming: where the time goes").
    """
    decoded_seen, checked_seen = Observation(), Observation()
    decoded = decoded_frame(header, plan).observe(decoded_seen, *_decode_metrics(plan))
    checked = with_verdict(decoded, plan).observe(checked_seen, _bad())
    return good_rows(checked, plan), decoded_seen, checked_seen


class BatchWriter:
    """The ``foreachBatch`` function of one entity's query: decode, quarantine and commit a micro-batch.

    The query's source adds the ``ingested_at`` column (the batch's timestamp; see :mod:`streaming.job`).

    Args:
        target: the entity, its topic and subject.
        resolver: registry look-ups (cached).
        committer: stages and commits files idempotently.
        gate: lets the job stop between batches (see :class:`StopGate`); one per job.
    """

    def __init__(
        self, target: Target, resolver: SchemaResolver, committer: BatchCommitter, gate: StopGate | None = None
    ) -> None:
        self._target = target
        self._resolver = resolver
        self._committer = committer
        self._gate = gate or StopGate()
        self.summary = RunSummary()
        self.failure: BaseException | None = None
        self._last_rows: int | None = None

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        """Process batch ``batch_id``; keep the failure so the CLI can report it in one line."""
        self._gate.enter(self._target.entity, int(batch_id))
        try:
            self._process(batch, int(batch_id))
        except BaseException as exc:
            self.failure = exc
            log.error("%s batch %s failed: %s", self._target.entity, batch_id, _first_line(exc))
            raise
        finally:
            self._gate.leave()

    def _process(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        self._committer.begin(batch_id)
        target = self._target
        if self._last_rows is not None and self._last_rows < ONE_TASK_BELOW:
            batch = batch.coalesce(1)
        header = with_header(batch.select("topic", "partition", "offset", "timestamp", "key", "value", INGESTED_AT))
        plan = self._resolver.plan(target.entity, target.topic, target.subject)
        rows, bad = self._stage(header, plan, batch_id)
        self._last_rows = rows
        failpoint("write", target.entity, batch_id)
        mark = time.monotonic()
        written = Counter({target.entity: rows - bad, target.quarantine: bad})
        for table, count in written.items():
            if count:
                self._committer.commit(batch_id, table)
        failpoint("committed", target.entity, batch_id)
        self.summary.batches += 1
        self.summary.rows.update(written)
        log.info(
            "%s batch %d committed in %.1f s (commit %.1f s): %s",
            target.entity,
            batch_id,
            time.monotonic() - started,
            time.monotonic() - mark,
            ", ".join(f"{t} {n}" for t, n in written.items() if n) or "no rows",
        )

    def _stage(self, header: DataFrame, plan: EntityPlan, batch_id: int) -> tuple[int, int]:
        """Stage the batch: good rows to the entity, the others to its quarantine; (rows, quarantine cases)."""
        target = self._target
        while True:
            if plan.writers:
                rows, bad, unresolved = self._stage_good(header, plan, batch_id)
            else:  # no usable writer schema at all: every row is a quarantine case; count them first
                row = checked_frame(header, plan).agg(*_decode_metrics(plan), _bad()).collect()[0]
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
            bad_rows = quarantine_rows(entity_frame(header, plan))
            self._write(bad_rows, self._committer.staging(batch_id, target.quarantine))
            log.warning("batch %d: %d record(s) of %s quarantined", batch_id, bad, target.topic)
        return rows, bad

    def _stage_good(self, header: DataFrame, plan: EntityPlan, batch_id: int) -> tuple[int, int, set[int]]:
        """Write the plan's decodable rows to the staging area; (rows, quarantine cases, uncovered ids)."""
        good, decoded_seen, checked_seen = observed_good_rows(header, plan)
        self._write(good, self._committer.staging(batch_id, plan.entity))
        counts, bad = decoded_seen.get, checked_seen.get["bad"]
        return int(counts["rows"]), int(bad), {int(i) for i in counts["unresolved"]}

    @staticmethod
    def _write(frame: DataFrame, path: str) -> None:
        frame.write.mode("overwrite").partitionBy(PARTITION_COLUMN).parquet(path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

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

Each table's rows are appended to its Iceberg table in one commit that records the batch (see
:mod:`streaming.commit`): the first batch of a run writes only what no commit of its earlier attempt holds,
which is what makes a replayed batch exactly once. A batch whose plan has a newer latest schema than the
tables evolves them first (``evolve``), so the columns exist before the first row that carries them.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from core.errors import TelemetryError
from streaming.commit import Committed, TableCommitter
from streaming.decode import _VERDICT, INGESTED_AT, EntityPlan, unresolved_id, with_header
from streaming.failpoints import failpoint
from streaming.resolver import SchemaResolver
from streaming.rows import checked_frame, decoded_frame, entity_frame, good_rows, quarantine_rows, with_verdict

__all__ = ["BatchWriter", "RunSummary", "StopGate", "Target", "observed_good_rows"]

log = logging.getLogger("streaming.job")

ONE_TASK_BELOW = 10_000
"""A batch whose previous batch had fewer rows than this is read and written by one task."""


@dataclass(frozen=True)
class Target:
    """One entity the job streams: its tables (pyiceberg identifiers), physical topic and physical registry subject."""

    entity: str
    topic: str
    subject: str
    table: str
    quarantine: str


@dataclass
class RunSummary:
    """What a run did: batches, and rows written per table (``<namespace>.<table>``)."""

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
        target: the entity, its tables, topic and subject.
        resolver: registry look-ups (cached).
        committer: appends to the tables, and finds what a replayed batch committed.
        evolve: brings the entity's tables to a latest (reader) schema, given as JSON text; idempotent.
        gate: lets the job stop between batches (see :class:`StopGate`); one per job.
    """

    def __init__(
        self,
        target: Target,
        resolver: SchemaResolver,
        committer: TableCommitter,
        evolve: Callable[[str], None],
        gate: StopGate | None = None,
    ) -> None:
        self._target = target
        self._resolver = resolver
        self._committer = committer
        self._evolve = evolve
        self._gate = gate or StopGate()
        self.summary = RunSummary()
        self.failure: BaseException | None = None
        self._last_rows: int | None = None
        self._evolved_to: str | None = None
        self._first = True

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

    def _plan(self, schema_ids: set[int] | None = None) -> EntityPlan:
        """The batch's decoding plan, the tables evolved first when its latest schema is new to them."""
        target = self._target
        plan = self._resolver.plan(target.entity, target.topic, target.subject, schema_ids or ())
        if plan.reader_schema != self._evolved_to:
            self._evolve(plan.reader_schema)
            self._evolved_to = plan.reader_schema
        return plan

    def _earlier_attempt(self, batch_id: int) -> tuple[Committed, Committed]:
        """What an earlier attempt of the run's first batch committed to the entity and quarantine tables."""
        if not self._first:
            return Committed(), Committed()
        self._first = False
        target = self._target
        done = (
            self._committer.committed(target.table, batch_id),
            self._committer.committed(target.quarantine, batch_id),
        )
        for table, committed in zip((target.table, target.quarantine), done, strict=True):
            if committed:
                log.warning(
                    "%s batch %d is a replay: %s already holds it (snapshot %s); not written again",
                    target.entity, batch_id, table, ", ".join(map(str, committed.snapshots)),
                )  # fmt: skip
        return done

    def _process(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        target = self._target
        entity_done, quarantine_done = self._earlier_attempt(batch_id)
        if self._last_rows is not None and self._last_rows < ONE_TASK_BELOW:
            batch = batch.coalesce(1)
        header = with_header(batch.select("topic", "partition", "offset", "timestamp", "key", "value", INGESTED_AT))
        plan = self._plan()
        failpoint("write", target.entity, batch_id)
        # Writer ids whose rows the entity table already holds (None: all): a replay's earlier attempt.
        written: set[int] | None = set()
        if entity_done:
            written = None if entity_done.schema_ids is None else set(entity_done.schema_ids)
        rows, bad, plan = self._write_good(header, plan, batch_id, written)
        self._last_rows = rows
        failpoint("commit", target.entity, batch_id)
        mark = time.monotonic()
        if bad and not quarantine_done:
            self._committer.append(quarantine_rows(entity_frame(header, plan)), target.quarantine, batch_id)
            log.warning("batch %d: %d record(s) of %s quarantined", batch_id, bad, target.topic)
        failpoint("committed", target.entity, batch_id)
        written_rows = Counter({target.table: rows - bad, target.quarantine: bad})
        self.summary.batches += 1
        self.summary.rows.update(written_rows)
        log.info(
            "%s batch %d committed in %.1f s (quarantine %.1f s): %s",
            target.entity,
            batch_id,
            time.monotonic() - started,
            time.monotonic() - mark,
            ", ".join(f"{t} {n}" for t, n in written_rows.items() if n) or "no rows",
        )

    def _write_good(
        self, header: DataFrame, plan: EntityPlan, batch_id: int, written: set[int] | None
    ) -> tuple[int, int, EntityPlan]:
        """Append the decodable rows to the entity table; (rows, quarantine cases) of the whole batch, and its plan.

        A writer id that the plan did not cover may be a version registered a moment after the plan was
        made: then the batch is decoded again with it, and only that id's rows are appended.
        """
        target = self._target
        while True:
            todo = set() if written is None else plan.writers.keys() - written
            if written is not None and todo:
                rows, bad, unresolved = self._append_good(header, plan, batch_id, bool(written), todo)
                written |= todo
            else:  # nothing this plan could add: count the rows and cases only
                row = checked_frame(header, plan).agg(*_decode_metrics(plan), _bad()).collect()[0]
                rows, bad, unresolved = int(row["rows"]), int(row["bad"]), {int(i) for i in row["unresolved"]}
            if not unresolved:
                break
            looked_up = self._plan(unresolved)
            fresh = looked_up.writers.keys() - plan.writers.keys()
            plan = looked_up
            if not fresh:
                break
            log.info("batch %d: %s has new writer id(s) %s; decoding their rows", batch_id, target.topic, sorted(fresh))
        return rows, bad, plan

    def _append_good(
        self, header: DataFrame, plan: EntityPlan, batch_id: int, only_todo: bool, todo: set[int]
    ) -> tuple[int, int, set[int]]:
        """Append the rows of the ``todo`` writer ids; (rows, quarantine cases, uncovered ids) of the whole batch."""
        good, decoded_seen, checked_seen = observed_good_rows(header, plan)
        if only_todo:  # some ids' rows are in the table already
            good = good.filter(F.col("schema_id").isin(sorted(todo)))
        self._committer.append(good, self._target.table, batch_id, todo)
        counts, bad = decoded_seen.get, checked_seen.get["bad"]
        return int(counts["rows"]), int(bad), {int(i) for i in counts["unresolved"]}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

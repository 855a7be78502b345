"""Table maintenance with Iceberg's Spark procedures: small files rewritten, snapshots expired, orphans removed.

The job commits a file per table, day and task at every trigger (8,640 commits a day at 10 s); Iceberg's
procedures keep that bounded, each in commits of their own that readers see atomically, beside the job and
beside another maintenance run:

1. ``rewrite_data_files``: small files of a partition (under 75% of ``write.target-file-size-bytes``) are
   bin-packed into files of the target size;
2. ``rewrite_manifests``: the manifests (one per commit) are merged, so planning a query reads few
   (a scheduled pass does it, and step 4, every :data:`FULL_EVERY` passes);
3. ``expire_snapshots``: snapshots older than ``TELEMETRY_SNAPSHOT_RETENTION_HOURS`` (6 h by default; time
   travel reaches that far back) go, and the files only they referenced are deleted. Never the newest
   snapshot a writer committed (:mod:`streaming.commit`): a replayed batch is recognised by it, so the cut-off
   is the earlier of the retention and that snapshot's time;
4. ``remove_orphan_files``: files under the table's location that no snapshot references and older than
   ``TELEMETRY_ORPHAN_FILE_AGE_HOURS`` (72 h by default; a write in flight is younger) are deleted: what a
   killed writer left.

A procedure whose commit conflicts with another (two rewrites of the same files) fails; it is planned again
and retried, up to :data:`ATTEMPTS` times. Appends by the job never conflict with a rewrite.

``python -m streaming maintain`` runs it once (``make maintain``); a continuous job runs it on a schedule,
every ``TELEMETRY_MAINTENANCE_INTERVAL_MINUTES`` (10; 0 turns it off, e.g. where AWS Glue's table
optimizers do it), in a thread of its driver (:class:`MaintenanceSchedule`): docs/architecture.md says why.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import TelemetryError
from core.iceberg import CATALOG_NAME, IcebergCatalog
from core.iceberg_tables import DEFAULT_RETENTION_HOURS, open_catalog
from core.settings import env_int
from streaming.commit import QUERY_ID

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["ATTEMPTS", "FULL_EVERY", "MaintenanceSchedule", "MaintenanceSettings", "TableReport", "maintain_table"]

log = logging.getLogger(__name__)

ATTEMPTS = 5
"""Tries of a procedure that failed on a conflicting commit."""

FULL_EVERY = 6
"""A scheduled pass rewrites manifests and removes orphan files every this many passes (hourly at 10 min)."""


@dataclass(frozen=True)
class MaintenanceSettings:
    """How maintenance runs.

    Read from ``TELEMETRY_SNAPSHOT_RETENTION_HOURS``, ``TELEMETRY_ORPHAN_FILE_AGE_HOURS`` and
    ``TELEMETRY_MAINTENANCE_INTERVAL_MINUTES``.

    Attributes:
        iceberg: the lake's catalog.
        retention: how long snapshots are kept (time travel reaches that far back).
        orphan_age: how old an unreferenced file must be to be deleted.
        interval: time between a continuous job's maintenance passes (zero: never).
    """

    iceberg: IcebergCatalog
    retention: timedelta = timedelta(hours=6)
    orphan_age: timedelta = timedelta(hours=72)
    interval: timedelta = timedelta(minutes=10)

    @classmethod
    def from_env(cls, iceberg: IcebergCatalog, env: Mapping[str, str] | None = None) -> MaintenanceSettings:
        """Read the settings; whole numbers, refused with one line otherwise."""
        env = os.environ if env is None else env
        return cls(
            iceberg,
            retention=timedelta(
                hours=env_int(env, "TELEMETRY_SNAPSHOT_RETENTION_HOURS", DEFAULT_RETENTION_HOURS, minimum=1)
            ),
            orphan_age=timedelta(hours=env_int(env, "TELEMETRY_ORPHAN_FILE_AGE_HOURS", 72, minimum=1)),
            interval=timedelta(minutes=env_int(env, "TELEMETRY_MAINTENANCE_INTERVAL_MINUTES", 10, minimum=0)),
        )


@dataclass(frozen=True)
class TableReport:
    """What one maintenance pass did to one table."""

    table: str
    files_rewritten: int
    files_added: int
    manifests_rewritten: int
    snapshots_expired_files: int
    orphans_removed: int

    def line(self) -> str:
        """One line for the console."""
        return (
            f"{self.table}: {self.files_rewritten:,} small file(s) -> {self.files_added:,}, "
            f"{self.manifests_rewritten:,} manifest(s) rewritten, {self.snapshots_expired_files:,} file(s) of expired "
            f"snapshots deleted, {self.orphans_removed:,} orphan file(s) removed"
        )


def _conflict(exc: Exception) -> bool:
    text = str(exc)
    return any(k in text for k in ("ValidationException", "CommitFailedException", "Cannot commit", "conflict"))


def _call(spark: SparkSession, sql: str, what: str) -> list[Any]:
    """Run a procedure, again after a conflicting commit; its result rows."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return list(spark.sql(sql).collect())
        except Exception as exc:  # py4j wraps Iceberg's exceptions; only their text says which
            if not _conflict(exc) or attempt == ATTEMPTS:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                msg = f"{what} failed: {first}; run maintenance again (it only commits whole steps)"
                raise TelemetryError(msg) from exc
            log.info("%s conflicted with another commit (attempt %d); planning it again", what, attempt)
            time.sleep(0.5 * attempt)
    raise AssertionError  # unreachable: the loop returns or raises


def _timestamp(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def _expire_before(spark: SparkSession, name: str, cutoff: datetime) -> datetime:
    """``cutoff``, or the time of the table's newest writer snapshot when that is earlier."""
    # The table's name comes from the catalog (validated names), never from input.
    query = f"SELECT max(committed_at) AS at FROM {name}.snapshots WHERE summary['{QUERY_ID}'] IS NOT NULL"  # noqa: S608
    row = spark.sql(query).collect()[0]
    newest = row["at"]
    if newest is None:
        return cutoff
    newest = newest.replace(tzinfo=UTC) if newest.tzinfo is None else newest
    return min(cutoff, newest)


def maintain_table(
    spark: SparkSession, settings: MaintenanceSettings, table: str, now: datetime | None = None, *, full: bool = True
) -> TableReport:
    """One maintenance pass over ``table`` (``<namespace>.<table>``); ``now`` for a simulated clock.

    A table without a snapshot (a quarantine nothing went to) has nothing to maintain. ``full=False`` leaves
    out the manifests and the orphan files (a scheduled pass does them every :data:`FULL_EVERY` passes).

    Raises:
        TelemetryError: a procedure failed for another reason than a conflict, or kept conflicting.
    """
    now = now or datetime.now(UTC)
    if open_catalog(settings.iceberg).load_table(table).current_snapshot() is None:
        return TableReport(table, 0, 0, 0, 0, 0)
    name = f"{CATALOG_NAME}.{table}"
    arg = f"table => '{name}'"
    procedure = f"{CATALOG_NAME}.system"
    rewritten = _call(
        spark,
        f"CALL {procedure}.rewrite_data_files({arg})",
        f"rewriting the small files of {table}",
    )[0]
    manifests = {"rewritten_manifests_count": 0}
    if full:
        manifests = _call(spark, f"CALL {procedure}.rewrite_manifests({arg})", f"rewriting the manifests of {table}")[0]
    before = _expire_before(spark, name, now - settings.retention)
    expired = _call(
        spark,
        f"CALL {procedure}.expire_snapshots({arg}, older_than => {_timestamp(before)}, retain_last => 1)",
        f"expiring the snapshots of {table}",
    )[0]
    orphans = []
    if full:
        orphans = _call(
            spark,
            f"CALL {procedure}.remove_orphan_files({arg}, older_than => {_timestamp(now - settings.orphan_age)})",
            f"removing the orphan files of {table}",
        )
    return TableReport(
        table,
        files_rewritten=int(rewritten["rewritten_data_files_count"]),
        files_added=int(rewritten["added_data_files_count"]),
        manifests_rewritten=int(manifests["rewritten_manifests_count"]),
        snapshots_expired_files=int(expired["deleted_data_files_count"]),
        orphans_removed=len(orphans),
    )


def maintain(
    spark: SparkSession, settings: MaintenanceSettings, tables: Iterable[str], say: Callable[[str], None] = log.info
) -> list[TableReport]:
    """One pass over every table, in order; each table's line said as it is done."""
    reports = []
    for table in tables:
        report = maintain_table(spark, settings, table)
        say(report.line())
        reports.append(report)
    return reports


class MaintenanceSchedule:
    """A continuous job's maintenance: a pass over its tables every ``interval``, in a thread of the driver.

    A pass that fails is logged and tried again at the next interval; the job goes on either way.
    """

    def __init__(self, spark: SparkSession, settings: MaintenanceSettings, tables: Iterable[str]) -> None:
        self._spark = spark
        self._settings = settings
        self._tables = list(tables)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="table-maintenance", daemon=True)

    def start(self) -> None:
        """Begin (nothing when the interval is zero)."""
        if self._settings.interval.total_seconds() > 0:
            self._thread.start()

    def _run(self) -> None:
        passes = 0
        while not self._stop.wait(self._settings.interval.total_seconds()):
            passes += 1
            for table in self._tables:
                if self._stop.is_set():
                    return
                try:
                    report = maintain_table(self._spark, self._settings, table, full=passes % FULL_EVERY == 0)
                    log.info("maintenance: %s", report.line())
                except Exception as exc:  # the job goes on; the next pass tries again
                    log.warning("maintenance of %s failed: %s", table, str(exc).strip().splitlines()[0:1])

    def stop(self, timeout: float = 60) -> None:
        """Stop after the table in progress (waits up to ``timeout`` s)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

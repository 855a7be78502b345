"""Compaction: a partition's small files rewritten into files of a target size, exactly once through crashes.

For each table and partition ``dt=X`` that is due (see :mod:`streaming.compact_settings`), the files
that :mod:`streaming.compact_plan` picks are merged, one output per group, through a journal in
``<lake>/_compaction/<table>/dt=X/`` (outside every table: no reader sees it):

1. each group's rows are written to ``<plan>/part-c<plan>-<n>.parquet`` in the journal's folder;
2. the manifest ``<plan>.json`` (the groups: output and inputs) is written, whole or not at all;
3. group by group, the output moves into ``<table>/dt=X/``, then the group's inputs are deleted;
4. the plan's folder and its manifest are deleted.

A run first finishes what a killed run left (:meth:`Compactor.recover`): a manifest means every
output is complete, so the swap is rolled forward (an output not yet in the table is moved in, the
inputs still there are deleted); a folder without a manifest is deleted, since nothing in the table
changed yet. Either way each row ends up in the partition exactly once.

The streaming job is never in the way: only batches Spark has recorded as done are merged (the
checkpoint named by the table's claim, see :mod:`streaming.claim`), the outputs' names are not
``part-b`` names a replay deletes, and files the job adds meanwhile are not in any plan.

Readers: a reader that lists a partition while its swap runs may see a group's rows twice (the output
moved in, its inputs not yet deleted), or fail on an input deleted after it listed it; never fewer
rows. docs/architecture.md says why, and what to do about it. Run one compaction at a time per lake.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from core.catalog import Catalog
from core.errors import TelemetryError
from core.lake import PARTITION_COLUMN, LakeLocation
from core.tables import LakeTable, lake_tables
from streaming.claim import CLAIM_FILE
from streaming.compact_plan import FileInfo, Plan, due, make_plan, manifest_json, parse_manifest
from streaming.compact_settings import CompactSettings
from streaming.failpoints import failpoint
from streaming.lakefs import LakeFs
from streaming.sink import STAGING_DIR

__all__ = ["JOURNAL_DIR", "Compactor", "TableReport", "compact_lake"]

log = logging.getLogger(__name__)

JOURNAL_DIR = "_compaction"
_ROW_GROUP_BYTES = 64 * 1024 * 1024
"""Rows gathered in memory before a row group is written: large row groups, bounded memory."""


@dataclass
class TableReport:
    """What compaction did to one table: partitions rewritten, files before and after, journals finished."""

    table: str
    partitions: int = 0
    files_before: int = 0
    files_after: int = 0
    recovered: int = 0


def _schema_key(schema: pa.Schema) -> str:
    return schema.to_string(show_field_metadata=False, show_schema_metadata=False)


class Compactor:
    """Compacts one lake's partitions through the journal.

    Args:
        lake: the lake's files.
        target: the size of the files to write, in bytes.
        env: the environment (for the checkpoints' file system, when they are on S3).
    """

    def __init__(self, lake: LakeFs, target: int, env: dict[str, str] | None = None) -> None:
        self._lake = lake
        self._target = target
        self._env = env

    def last_commit(self, query: str) -> int | None:
        """The last batch Spark recorded as done for ``query``, from the checkpoint its claim names.

        None when no job claims the table, or its checkpoint has done no batch: no ``part-b`` file is merged.
        """
        claim = f"{STAGING_DIR}/{query}/{CLAIM_FILE}"
        if not self._lake.exists(claim):
            return None
        checkpoint = json.loads(self._lake.read_text(claim)).get("checkpoint") or ""
        if not checkpoint:
            return None
        entries = LakeFs(LakeLocation.parse(checkpoint), self._env).entries("commits")
        return max((int(e.name) for e in entries if e.name.isdigit() and not e.is_dir), default=None)

    def recover(self, table: str) -> int:
        """Finish or undo what a killed run left in ``table``'s journal; how many swaps were finished."""
        finished = 0
        root = f"{JOURNAL_DIR}/{table}"
        for part in self._lake.entries(root):
            folder = f"{root}/{part.name}"
            entries = self._lake.entries(folder)
            manifests = {e.name.removesuffix(".json") for e in entries if e.name.endswith(".json")}
            for plan_id in sorted(manifests):
                where = self._lake.path(f"{folder}/{plan_id}.json")
                plan = parse_manifest(self._lake.read_text(f"{folder}/{plan_id}.json"), where)
                log.warning("%s %s: finishing the swap of compaction %s", table, part.name, plan_id)
                self._roll_forward(plan)
                finished += 1
            for entry in entries:  # staged outputs without a manifest: the table never saw them
                if entry.name.removesuffix(".json") in manifests:
                    continue
                if entry.is_dir:
                    self._lake.delete_dir(f"{folder}/{entry.name}")
                else:
                    self._lake.delete_file(f"{folder}/{entry.name}")
            if not self._lake.entries(folder):
                self._lake.delete_dir(folder)
        return finished

    def partition_files(self, table: str, dt: str) -> list[FileInfo]:
        """The partition's Parquet files (schemas are read only for files that may be merged)."""
        folder = f"{table}/{PARTITION_COLUMN}={dt}"
        files = []
        for entry in self._lake.entries(folder):
            if entry.is_dir or not entry.name.endswith(".parquet") or entry.name.startswith((".", "_")):
                continue
            small = entry.size * 2 < self._target
            key = _schema_key(self._lake.schema(f"{folder}/{entry.name}")) if small else ""
            files.append(FileInfo(entry.name, entry.size, key))
        return files

    def compact_partition(self, table: str, dt: str, last_commit: int | None) -> tuple[int, int] | None:
        """Compact one partition; (files before, files after), or None when there was nothing to merge."""
        files = self.partition_files(table, dt)
        plan = make_plan(table, dt, files, self._target, last_commit)
        if plan is None:
            return None
        journal = f"{JOURNAL_DIR}/{table}/{PARTITION_COLUMN}={dt}"
        for group in plan.groups:
            self._write_group(table, dt, group.inputs, f"{journal}/{plan.plan_id}/{group.output}")
        failpoint("compact-staged", table, dt)
        self._lake.write_text(f"{journal}/{plan.plan_id}.json", manifest_json(plan))
        failpoint("compact-journal", table, dt)
        self._roll_forward(plan)
        return len(files), len(files) - len(plan.inputs) + len(plan.groups)

    def _write_group(self, table: str, dt: str, inputs: Sequence[str], out: str) -> None:
        folder = f"{table}/{PARTITION_COLUMN}={dt}"
        paths = [f"{folder}/{name}" for name in inputs]
        schema = self._lake.schema(paths[0])  # the group's files share it (see streaming.compact_plan)
        pending: list[pa.RecordBatch] = []
        size = 0
        with self._lake.writer(out, schema) as writer:
            for batch in self._lake.batches(paths, schema):
                pending.append(batch)
                size += batch.nbytes
                if size >= _ROW_GROUP_BYTES:
                    writer.write_table(pa.Table.from_batches(pending, schema))
                    pending, size = [], 0
            if pending:
                writer.write_table(pa.Table.from_batches(pending, schema))

    def _roll_forward(self, plan: Plan) -> None:
        """Move each group's output into the table, then delete its inputs; then the journal entry."""
        folder = f"{plan.table}/{PARTITION_COLUMN}={plan.dt}"
        journal = f"{JOURNAL_DIR}/{plan.table}/{PARTITION_COLUMN}={plan.dt}"
        for n, group in enumerate(plan.groups):
            staged, final = f"{journal}/{plan.plan_id}/{group.output}", f"{folder}/{group.output}"
            if not self._lake.exists(final):
                if not self._lake.exists(staged):
                    msg = (
                        f"compaction journal {self._lake.path(journal)}/{plan.plan_id}.json names {group.output}, "
                        "which is neither staged nor in the table; its inputs were kept. Restore it or delete the "
                        "manifest"
                    )
                    raise TelemetryError(msg)
                self._lake.move(staged, final)
            else:
                self._lake.delete_file(staged)  # an S3 move killed between its copy and its delete
            if n == 0:
                failpoint("compact-swap", plan.table, plan.dt)
            for name in group.inputs:
                self._lake.delete_file(f"{folder}/{name}")
        failpoint("compact-swapped", plan.table, plan.dt)
        self._lake.delete_dir(f"{journal}/{plan.plan_id}")
        self._lake.delete_file(f"{journal}/{plan.plan_id}.json")


def _selected(catalog: Catalog, names: tuple[str, ...]) -> list[LakeTable]:
    tables = lake_tables(catalog)
    unknown = sorted(set(names) - {t.name for t in tables})
    if unknown:
        msg = f"no table named {', '.join(unknown)}; the lake's tables: {', '.join(t.name for t in tables)}"
        raise TelemetryError(msg)
    return [t for t in tables if not names or t.name in names]


def compact_lake(
    settings: CompactSettings,
    catalog: Catalog,
    say: Callable[[str], None] = log.info,
    env: dict[str, str] | None = None,
) -> list[TableReport]:
    """Compact every due partition of the selected tables, after finishing what an earlier run left.

    Raises:
        TelemetryError: a journal entry cannot be finished, or a table name is unknown.
    """
    lake = LakeFs(settings.lake, env)
    compactor = Compactor(lake, settings.target_bytes, env)
    reports = []
    for table in _selected(catalog, settings.tables):
        report = TableReport(table.name, recovered=compactor.recover(table.path))
        last = compactor.last_commit(table.stream.name)
        if last is None:
            say(f"{table.name}: no finished batch of a job that claims it; its batch files were left alone")
        for entry in sorted(lake.entries(table.path), key=lambda e: e.name):
            dt = entry.name.removeprefix(f"{PARTITION_COLUMN}=")
            if not entry.is_dir or dt == entry.name or not due(dt, settings.before):
                continue
            counts = compactor.compact_partition(table.path, dt, last)
            if counts is not None:
                report.partitions += 1
                report.files_before += counts[0]
                report.files_after += counts[1]
                say(f"{table.name} dt={dt}: {counts[0]:,} file(s) -> {counts[1]:,}")
        reports.append(report)
    return reports

"""What compaction rewrites: which files of a partition, grouped into outputs of a target size (pure).

A partition's files are ``part-b<N>-<n>.parquet`` (batch N of the streaming job, see
:mod:`streaming.sink`) and ``part-c<plan>-<n>.parquet`` (an earlier compaction's outputs). A file is a
candidate when it is small (under half the target) and, for a ``part-b`` file, when Spark has recorded
its batch as done (at most the checkpoint's last commit): the job replays only a batch that is not
done, and a replay deletes that batch's ``part-b`` files and writes them again, so a batch still
open must stay in its own files. Files of any other name are never touched.

Candidates with the same Parquet schema (files of different schema versions are not merged: each
keeps its exact columns) are packed in name order into groups of at most the target size; each group
of two or more files becomes one output. The plan's id is a hash of the table, the partition and its
inputs, so a rerun of the same plan names the same outputs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from core.errors import TelemetryError

__all__ = [
    "FileInfo",
    "Group",
    "Plan",
    "batch_of",
    "due",
    "group_files",
    "make_plan",
    "manifest_json",
    "output_name",
    "parse_manifest",
]

_BATCH_FILE = re.compile(r"^part-b(\d+)-\d+\.parquet$")
_COMPACTED_FILE = re.compile(r"^part-c[0-9a-f]+-\d+\.parquet$")


@dataclass(frozen=True)
class FileInfo:
    """One Parquet file of a partition: its name, size in bytes and a key of its schema."""

    name: str
    size: int
    schema: str = ""


@dataclass(frozen=True)
class Group:
    """The inputs rewritten into one output file."""

    output: str
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """The compaction of one partition: ``<table>/dt=<dt>`` and its groups."""

    table: str
    dt: str
    plan_id: str
    groups: tuple[Group, ...]

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input of every group."""
        return tuple(name for group in self.groups for name in group.inputs)


def batch_of(name: str) -> int | None:
    """The streaming batch id of a ``part-b`` file, or None for any other name."""
    match = _BATCH_FILE.match(name)
    return int(match.group(1)) if match else None


def output_name(plan_id: str, n: int) -> str:
    """The name of the ``n``-th output of plan ``plan_id`` (never a ``part-b`` name: a replay ignores it)."""
    return f"part-c{plan_id}-{n:05d}.parquet"


def _candidate(info: FileInfo, last_commit: int | None, target: int) -> bool:
    if info.size * 2 >= target:
        return False
    if _COMPACTED_FILE.match(info.name):
        return True
    batch = batch_of(info.name)
    return batch is not None and last_commit is not None and batch <= last_commit


def group_files(files: Iterable[FileInfo], target: int, last_commit: int | None) -> list[list[str]]:
    """Groups of two or more candidate files, each at most ``target`` bytes (one file alone may exceed it)."""
    by_schema: dict[str, list[FileInfo]] = {}
    for info in sorted(files, key=lambda f: f.name):
        if _candidate(info, last_commit, target):
            by_schema.setdefault(info.schema, []).append(info)
    groups: list[list[str]] = []
    for infos in by_schema.values():
        current: list[str] = []
        size = 0
        for info in infos:
            if current and size + info.size > target:
                groups.append(current)
                current, size = [], 0
            current.append(info.name)
            size += info.size
        groups.append(current)
    return [g for g in groups if len(g) > 1]


def make_plan(table: str, dt: str, files: Sequence[FileInfo], target: int, last_commit: int | None) -> Plan | None:
    """The plan for one partition, or None when it has nothing to merge."""
    groups = group_files(files, target, last_commit)
    if not groups:
        return None
    digest = hashlib.sha256(json.dumps([table, dt, groups]).encode()).hexdigest()[:16]
    return Plan(table, dt, digest, tuple(Group(output_name(digest, n), tuple(g)) for n, g in enumerate(groups)))


def due(dt: str, before: date | None) -> bool:
    """Whether partition ``dt`` is compacted: every one when ``before`` is None, else those dated before it."""
    try:
        day = date.fromisoformat(dt)
    except ValueError:
        return False
    return before is None or day < before


def manifest_json(plan: Plan) -> str:
    """The journal entry of a plan: written once its outputs are staged, removed once the swap is done."""
    groups = [{"output": g.output, "inputs": list(g.inputs)} for g in plan.groups]
    return json.dumps({"table": plan.table, "dt": plan.dt, "plan": plan.plan_id, "groups": groups}, indent=1)


def parse_manifest(text: str, where: str) -> Plan:
    """A plan from its journal entry.

    Raises:
        TelemetryError: the entry is not one this module wrote.
    """
    try:
        data = json.loads(text)
        groups = tuple(Group(str(g["output"]), tuple(str(i) for i in g["inputs"])) for g in data["groups"])
        return Plan(str(data["table"]), str(data["dt"]), str(data["plan"]), groups)
    except (ValueError, KeyError, TypeError) as exc:
        msg = f"compaction journal {where} is unreadable ({exc}); the partition's files were left as they are"
        raise TelemetryError(msg) from exc

"""Idempotent commit of a micro-batch's files into the lake: what makes ``foreachBatch`` exactly once.

Why: Structured Streaming's ``foreachBatch`` is at-least-once on its own. The Kafka offsets of batch
N are written to the checkpoint *before* the batch runs and the batch is marked done *after* the
function returns, so a driver killed in between replays batch N on restart, with the same batch id
and exactly the same offsets (hence the same records). If the batch's output is replaced rather
than appended on replay, the lake ends up with each record exactly once.

How, for batch N of one query (the job runs one query per entity, named after it) and each table
the query writes (the entity, or its quarantine):

1. ``begin(N)``: if ``<lake>/_staging/<query>/batch=N/`` exists, an earlier attempt of N began, so it
   may have moved some of its files into the tables: delete every ``part-b<N>-*`` file of the query's
   tables. Folders of older batches (``batch=M``, M < N) are deleted: batch N only runs after Spark
   has recorded M as done. Then the marker ``batch=N/_begun-<checkpoint>`` is written (a hash of the
   checkpoint location, so another checkpoint's batch N never counts as a replay of ours).
2. Spark writes the table's rows to ``<lake>/_staging/<query>/batch=N/<table>/`` (partitioned by ``dt``).
3. ``commit``: the driver moves each staged file to ``<lake>/<table>/dt=X/part-b<N:012d>-<n>.parquet``
   through the Hadoop FileSystem API (``file://``, ``s3a://``, ``hdfs://`` alike).
4. The ``batch=N`` folder and its marker stay for step 1 until the query's batch N+1 begins.

Readers (DuckDB, Athena, Spark) read ``<lake>/<table>/dt=*/*.parquet`` and never see the staging
area. A reader that lists a table *while* a batch is being moved can see part of that batch; the
next listing sees all of it. On S3 a move is a copy and a delete, so step 3 costs a copy per file.
One streaming query per table: file names carry that query's batch ids.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from core.errors import TelemetryError
from streaming.failpoints import failpoint

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["STAGING_DIR", "BatchCommitter", "HadoopFs", "part_name", "part_prefix", "plan_moves", "staging_dir"]

log = logging.getLogger(__name__)

STAGING_DIR = "_staging"
_MARKER = "_begun"
_BATCH_DIR = re.compile(r"^batch=(\d+)$")
_PARTITION_DIR = re.compile(r"^[A-Za-z_]\w*=[^/]+$")


def part_prefix(batch_id: int) -> str:
    """The name prefix of every file batch ``batch_id`` puts in a table."""
    return f"part-b{batch_id:012d}-"


def part_name(batch_id: int, n: int) -> str:
    """The name of the ``n``-th file batch ``batch_id`` puts in a table."""
    return f"{part_prefix(batch_id)}{n:05d}.parquet"


def staging_dir(lake: str, query: str, batch_id: int, table: str | None = None) -> str:
    """Where batch ``batch_id`` of ``query`` stages its files (for one table, or the whole batch)."""
    base = f"{lake}/{STAGING_DIR}/{query}/batch={batch_id}"
    return f"{base}/{table}" if table else base


def plan_moves(batch_id: int, staged: Iterable[str]) -> list[tuple[str, str]]:
    """Map staged files (paths relative to the table's staging folder) to their names in the table.

    Only ``<partition>=<value>/<file>.parquet`` files move; Spark's markers and checksums stay behind.
    The order is sorted, so the numbering does not depend on the listing order.
    """
    moves: list[tuple[str, str]] = []
    for rel in sorted(staged):
        parent, _, name = rel.rpartition("/")
        if not parent or not name.endswith(".parquet") or name.startswith((".", "_")):
            continue
        if not all(_PARTITION_DIR.match(part) for part in parent.split("/")):
            continue
        moves.append((rel, f"{parent}/{part_name(batch_id, len(moves))}"))
    return moves


class HadoopFs:
    """The few Hadoop FileSystem calls the commit needs, through the driver's JVM."""

    def __init__(self, spark: SparkSession) -> None:
        jvm: Any = spark.sparkContext._jvm  # noqa: SLF001 - Hadoop's FileSystem has no Python API
        # Looked up once: py4j resolves a dotted name one segment at a time, each a class-path search.
        self._path_class = jvm.org.apache.hadoop.fs.Path
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001 - same
        self._filesystems: dict[str, Any] = {}

    def _path(self, uri: str) -> Any:
        return self._path_class(uri)

    def _fs(self, uri: str) -> Any:
        path = self._path(uri)
        key = str(path.toUri().getScheme()) + "://" + str(path.toUri().getAuthority())
        if key not in self._filesystems:
            self._filesystems[key] = path.getFileSystem(self._conf)
        return self._filesystems[key]

    def exists(self, uri: str) -> bool:
        """Whether ``uri`` exists."""
        return bool(self._fs(uri).exists(self._path(uri)))

    def children(self, uri: str) -> list[str]:
        """Names of the entries directly in folder ``uri``; empty when it does not exist."""
        if not self.exists(uri):
            return []
        return [str(s.getPath().getName()) for s in self._fs(uri).listStatus(self._path(uri))]

    def files(self, uri: str) -> list[str]:
        """Paths, relative to ``uri``, of every file below folder ``uri``.

        Walks ``listStatus`` rather than ``listFiles``: on local disk, ``listFiles`` reads each file's
        permissions, which Hadoop does by running ``ls`` once per file.
        """
        if not self.exists(uri):
            return []
        fs = self._fs(uri)
        base = str(fs.makeQualified(self._path(uri)).toUri().getPath()).rstrip("/") + "/"
        found = []
        folders = [self._path(uri)]
        while folders:
            for status in fs.listStatus(folders.pop()):
                if status.isDirectory():
                    folders.append(status.getPath())
                else:
                    found.append(str(status.getPath().toUri().getPath()).removeprefix(base))
        return found

    def glob(self, pattern: str) -> list[str]:
        """Full paths matching a Hadoop glob pattern."""
        statuses = self._fs(pattern).globStatus(self._path(pattern))
        return [str(s.getPath().toString()) for s in statuses or []]

    def touch(self, uri: str) -> None:
        """Create an empty file (a marker), replacing one already there."""
        self._fs(uri).create(self._path(uri), True).close()

    def read_text(self, uri: str) -> str:
        """The text of a small file (a claim, an id)."""
        stream = self._fs(uri).open(self._path(uri))
        try:
            return bytes(stream.readAllBytes()).decode()
        finally:
            stream.close()

    def write_text(self, uri: str, text: str) -> None:
        """Write a small file, replacing one already there."""
        stream = self._fs(uri).create(self._path(uri), True)
        try:
            stream.write(bytearray(text.encode()))
        finally:
            stream.close()

    def create_text(self, uri: str, text: str) -> bool:
        """Write a small file only if there is none yet; False when one was there."""
        if self.exists(uri):
            return False
        try:
            stream = self._fs(uri).create(self._path(uri), False)
        except Exception as exc:  # py4j wraps the FileAlreadyExistsException of a race
            if "FileAlreadyExists" in str(exc):
                return False
            raise
        try:
            stream.write(bytearray(text.encode()))
        finally:
            stream.close()
        return True

    def delete(self, uri: str) -> None:
        """Delete a file or a folder with everything in it (nothing when it does not exist)."""
        self._fs(uri).delete(self._path(uri), True)

    def move(self, src: str, dst: str) -> None:
        """Rename ``src`` to ``dst``, creating ``dst``'s folder; never over an existing ``dst``."""
        fs = self._fs(dst)
        target = self._path(dst)
        if fs.exists(target):
            msg = (
                f"{dst} already exists: the lake holds files of another query with the same batch ids; "
                "keep one checkpoint per lake (use the original --checkpoints, or a new --lake)"
            )
            raise TelemetryError(msg)
        fs.mkdirs(target.getParent())
        if not fs.rename(self._path(src), target):
            msg = f"could not move {src} to {dst}; the batch will be retried from its checkpoint"
            raise TelemetryError(msg)


class BatchCommitter:
    """Stages and commits each micro-batch's files so that a replayed batch replaces itself.

    Args:
        fs: the file system calls.
        lake: the lake's root URI.
        query: the query's name, which names its staging folder.
        tables: every table (relative to the lake) the query may write: its entity and its quarantine.
        owner: the query's checkpoint location.
    """

    def __init__(self, fs: HadoopFs, lake: str, query: str, tables: Iterable[str], owner: str = "") -> None:
        self._fs = fs
        self._lake = lake
        self._query = query
        self._tables = tuple(tables)
        # The marker names the query (its checkpoint): another query's batch N is not a replay of ours.
        self._marker = f"{_MARKER}-{hashlib.sha256(owner.encode()).hexdigest()[:16]}"

    def begin(self, batch_id: int) -> bool:
        """Prepare batch ``batch_id``: clean up after an earlier attempt of it; True when it is a replay."""
        root = f"{self._lake}/{STAGING_DIR}/{self._query}"
        replay = False
        for name in self._fs.children(root):
            match = _BATCH_DIR.match(name)
            if not match:
                continue
            if int(match.group(1)) == batch_id and self._fs.exists(f"{root}/{name}/{self._marker}"):
                replay = True
            else:
                self._fs.delete(f"{root}/{name}")
        if replay:
            removed = 0
            for table in self._tables:
                for path in self._fs.glob(f"{self._lake}/{table}/*=*/{part_prefix(batch_id)}*"):
                    self._fs.delete(path)
                    removed += 1
            self._fs.delete(staging_dir(self._lake, self._query, batch_id))
            log.warning(
                "%s batch %d is a replay: removed %d file(s) of its earlier attempt", self._query, batch_id, removed
            )
        # A file, not just a folder: object stores have no empty folders to find on replay.
        self._fs.touch(f"{staging_dir(self._lake, self._query, batch_id)}/{self._marker}")
        return replay

    def staging(self, batch_id: int, table: str) -> str:
        """Where Spark writes ``table``'s rows of batch ``batch_id``."""
        return staging_dir(self._lake, self._query, batch_id, table)

    def commit(self, batch_id: int, table: str) -> int:
        """Move ``table``'s staged files of batch ``batch_id`` into the table; returns how many moved."""
        staged = self.staging(batch_id, table)
        moves = plan_moves(batch_id, self._fs.files(staged))
        for n, (rel_src, rel_dst) in enumerate(moves):
            self._fs.move(f"{staged}/{rel_src}", f"{self._lake}/{table}/{rel_dst}")
            if n == 0:
                failpoint("move", self._query, batch_id)
        self._fs.delete(staged)
        return len(moves)

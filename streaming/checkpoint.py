"""The job's checkpoints: the query id each one keeps, and the few Hadoop file calls that reading it takes.

A Structured Streaming checkpoint keeps its query's id in ``<checkpoint>/metadata`` (``{"id": "<uuid>"}``),
written when the query first starts and read on every restart, so the id names the checkpoint for as long
as it lives. The job needs that id *before* its queries start: it is what the tables record as their
writer, and what each commit records beside its batch id (:mod:`streaming.commit`). So the job writes the
file itself for a new checkpoint, in Spark's format, and Spark then adopts it (Spark only creates the file
when there is none). A checkpoint that is deleted and made again gets a new id, which is how a reset is told
from a restart.

Checkpoints are read through Hadoop's FileSystem (``file://``, ``s3a://``, ``hdfs://`` alike), as Spark reads
them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import TelemetryError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["CheckpointId", "HadoopFs", "check_layout", "checkpoint_id", "write_checkpoint_id"]

_METADATA = "metadata"


class HadoopFs:
    """The few Hadoop FileSystem calls the job makes itself, through the driver's JVM."""

    def __init__(self, spark: SparkSession) -> None:
        jvm: Any = spark.sparkContext._jvm  # noqa: SLF001 - Hadoop's FileSystem has no Python API
        self._path_class = jvm.org.apache.hadoop.fs.Path
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001 - same

    def _fs(self, uri: str) -> tuple[Any, Any]:
        path = self._path_class(uri)
        return path.getFileSystem(self._conf), path

    def exists(self, uri: str) -> bool:
        """Whether ``uri`` exists."""
        fs, path = self._fs(uri)
        return bool(fs.exists(path))

    def children(self, uri: str) -> list[str]:
        """Names of the entries directly in folder ``uri``; empty when it does not exist."""
        fs, path = self._fs(uri)
        if not fs.exists(path):
            return []
        return [str(s.getPath().getName()) for s in fs.listStatus(path)]

    def glob(self, pattern: str) -> list[str]:
        """Full paths matching a Hadoop glob pattern."""
        fs, path = self._fs(pattern)
        return [str(s.getPath().toString()) for s in fs.globStatus(path) or []]

    def read_text(self, uri: str) -> str:
        """The text of a small file."""
        fs, path = self._fs(uri)
        stream = fs.open(path)
        try:
            return bytes(stream.readAllBytes()).decode()
        finally:
            stream.close()

    def write_text(self, uri: str, text: str) -> None:
        """Write a small file, replacing one already there."""
        fs, path = self._fs(uri)
        stream = fs.create(path, True)
        try:
            stream.write(bytearray(text.encode()))
        finally:
            stream.close()


@dataclass(frozen=True)
class CheckpointId:
    """A checkpoint's query id, and whether the checkpoint has begun a batch yet.

    Attributes:
        location: the checkpoint folder (a Hadoop URI).
        query_id: the id Spark keeps in ``<checkpoint>/metadata`` (made up here for a new checkpoint).
        new: the checkpoint has no file yet (no id, no offsets): it would read its topic from the start.
    """

    location: str
    query_id: str
    new: bool


def checkpoint_id(fs: HadoopFs, location: str) -> CheckpointId:
    """The checkpoint's query id: the one Spark keeps, or a new one (not written yet: see :func:`write_checkpoint_id`).

    Raises:
        TelemetryError: the metadata file is not Spark's.
    """
    uri = f"{location}/{_METADATA}"
    if not fs.exists(uri):
        return CheckpointId(location, str(uuid.uuid4()), new=not fs.children(f"{location}/offsets"))
    try:
        query_id = str(json.loads(fs.read_text(uri).splitlines()[0])["id"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        msg = f"{uri} is not a Structured Streaming checkpoint's metadata; give the job its own --checkpoints"
        raise TelemetryError(msg) from exc
    return CheckpointId(location, query_id, new=not fs.children(f"{location}/offsets"))


def write_checkpoint_id(fs: HadoopFs, checkpoint: CheckpointId) -> None:
    """Write a new checkpoint's id in Spark's format, so that the query Spark starts there takes it."""
    uri = f"{checkpoint.location}/{_METADATA}"
    if not fs.exists(uri):
        fs.write_text(uri, json.dumps({"id": checkpoint.query_id}) + "\n")


def check_layout(fs: HadoopFs, old_checkpoint: str) -> None:
    """Refuse a checkpoint of the earlier one-query layout: new queries would read every topic again."""
    if fs.exists(f"{old_checkpoint}/offsets"):
        msg = (
            f"{old_checkpoint} is the checkpoint of an earlier version of the job (one query for every topic); this "
            "version keeps one checkpoint per entity and would read every topic again into the same lake. "
            "Stream into a new --lake with new --checkpoints, or delete this checkpoint and the lake's tables "
            "to build them again from Kafka"
        )
        raise TelemetryError(msg)

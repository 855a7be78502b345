"""The lake's files through pyarrow's file systems (a local folder or S3), for work that needs no Spark.

Compaction reads and writes Parquet and moves files; pyarrow does that in this process, without a
JVM, on the local disk and on S3 (``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL`` for an S3-compatible
endpoint such as moto, credentials from the standard AWS chain). A move is a rename on a local disk
and a copy then a delete on S3, where a copied object appears whole or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from core.errors import ConfigError
from core.lake import LakeLocation

__all__ = ["Entry", "LakeFs", "filesystem"]


@dataclass(frozen=True)
class Entry:
    """One entry of a folder: its name, size (files) and whether it is a folder."""

    name: str
    size: int
    is_dir: bool


def filesystem(location: LakeLocation, env: Mapping[str, str] | None = None) -> tuple[pafs.FileSystem, str]:
    """The pyarrow file system for ``location`` and the location's path in it.

    Raises:
        ConfigError: the location is neither a local folder nor on S3.
    """
    env = os.environ if env is None else env
    if location.is_local:
        return pafs.LocalFileSystem(), location.path
    if location.scheme != "s3":
        msg = f"compaction reads a local folder or S3, not {location.scheme}:// ({location.hadoop_uri()})"
        raise ConfigError(msg)
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or ""
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    options: dict[str, object] = {"region": region} if region else {}
    if endpoint:
        parsed = urlparse(endpoint)
        options |= {"endpoint_override": parsed.netloc, "scheme": parsed.scheme or "https"}
    root = f"{location.authority}/{location.path}".rstrip("/")
    return pafs.S3FileSystem(**options), root


class LakeFs:
    """Files below one root (the lake, or a checkpoint), addressed by paths relative to it."""

    def __init__(self, location: LakeLocation, env: Mapping[str, str] | None = None) -> None:
        self._fs, self._root = filesystem(location, env)
        self.local = location.is_local

    def path(self, rel: str) -> str:
        """The full path of ``rel`` in the file system."""
        return f"{self._root}/{rel}".rstrip("/") if rel else self._root

    def entries(self, rel: str) -> list[Entry]:
        """The folder's entries (none when it does not exist)."""
        selector = pafs.FileSelector(self.path(rel), allow_not_found=True)
        return [
            Entry(info.base_name, info.size or 0, info.type == pafs.FileType.Directory)
            for info in self._fs.get_file_info(selector)
        ]

    def exists(self, rel: str) -> bool:
        """Whether a file or folder is there."""
        return self._fs.get_file_info(self.path(rel)).type != pafs.FileType.NotFound

    def read_text(self, rel: str) -> str:
        """A small file's text."""
        with self._fs.open_input_stream(self.path(rel)) as stream:
            return bytes(stream.read()).decode()

    def write_text(self, rel: str, text: str) -> None:
        """Write a small file so that it appears whole: a temporary name, then a move."""
        self._fs.create_dir(self.path(rel).rpartition("/")[0], recursive=True)
        with self._fs.open_output_stream(self.path(rel + ".tmp")) as stream:
            stream.write(text.encode())
        self.move(rel + ".tmp", rel)

    def schema(self, rel: str) -> pa.Schema:
        """A Parquet file's schema, from its footer."""
        with self._fs.open_input_file(self.path(rel)) as handle:
            return pq.read_schema(handle)

    def batches(self, rels: Sequence[str], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        """The rows of Parquet files, file after file, read ahead on threads (no partition column from a path)."""
        files = ds.dataset([self.path(r) for r in rels], schema=schema, format="parquet", filesystem=self._fs)
        yield from files.to_batches(batch_readahead=4, fragment_readahead=8)

    def writer(self, rel: str, schema: pa.Schema) -> pq.ParquetWriter:
        """A Parquet writer as Spark writes the lake: snappy, timestamps as INT64 micros."""
        self._fs.create_dir(self.path(rel).rpartition("/")[0], recursive=True)
        return pq.ParquetWriter(
            self.path(rel), schema, filesystem=self._fs, compression="snappy", coerce_timestamps="us"
        )

    def move(self, src: str, dst: str) -> None:
        """Move a file (a rename locally; a copy and a delete on S3)."""
        self._fs.create_dir(self.path(dst).rpartition("/")[0], recursive=True)
        if self.local:
            self._fs.move(self.path(src), self.path(dst))
            return
        self._fs.copy_file(self.path(src), self.path(dst))
        self._fs.delete_file(self.path(src))

    def delete_file(self, rel: str) -> None:
        """Delete a file; nothing when it is already gone."""
        try:
            self._fs.delete_file(self.path(rel))
        except FileNotFoundError:
            return

    def delete_dir(self, rel: str) -> None:
        """Delete a folder and everything in it; nothing when it is not there."""
        if self.exists(rel):
            self._fs.delete_dir(self.path(rel))

"""The DuckDB file Superset reads: one view per lake table, the same views as ``make query``.

Superset opens it read-only, one connection per query, so a new version replaces the file atomically
(written beside it, then renamed) while queries keep reading the one they opened. The views read the
table folders' Parquet files at query time, so new micro-batches show up without a rewrite; the file
changes only when the views must: a table's first files, or a column no file had before. The watcher
reads the footer of each file once (:class:`FileColumns`), so a turn costs a directory listing, not a
read of every file of the lake.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from core.catalog import Catalog
from core.errors import CatalogError
from core.lake import PARTITION_COLUMN
from core.tables import LakeTable
from lakesql.engine import ColumnsOf, views_sql
from lakesql.settings import LakeSqlSettings

__all__ = ["FileColumns", "refresh_lake_file", "watch_lake"]

log = logging.getLogger(__name__)


class FileColumns:
    """The columns of each table's files, reading a file's footer only the first time it is seen."""

    def __init__(self, lake: Path) -> None:
        self.lake = lake
        self.known: dict[Path, tuple[str, ...]] = {}

    def __call__(self, table: LakeTable) -> set[str] | None:
        """The union of the columns of the table's files now (and ``dt``), or None when it has none."""
        files = set((self.lake / table.path).glob(f"{PARTITION_COLUMN}=*/*.parquet"))
        for gone in [f for f in self.known if f.is_relative_to(self.lake / table.path) and f not in files]:
            del self.known[gone]
        for new in files - self.known.keys():
            try:
                self.known[new] = tuple(pq.read_schema(new).names)
            except (OSError, pa.ArrowInvalid) as exc:
                msg = f"cannot read the Parquet footer of {new}: {exc}"
                raise CatalogError(msg) from exc
        if not files:
            return None
        return {PARTITION_COLUMN, *(name for f in files for name in self.known[f])}  # dt: from the folder names


def refresh_lake_file(
    catalog: Catalog, settings: LakeSqlSettings, path: Path, columns_of: ColumnsOf | None = None
) -> bool:
    """Rewrite ``path`` when the views of the lake as it is now differ from the file's; True when it did.

    Raises:
        CatalogError: the lake's files cannot be read or do not fit the schemas.
    """
    statements = views_sql(catalog, settings, columns_of)
    text = ";\n".join(statements) + ";\n"
    kept = path.with_name(path.name + ".sql")
    if path.exists() and kept.exists() and kept.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".new")
    partial.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(partial))
        try:
            for statement in statements:
                con.execute(statement)
        finally:
            con.close()
    except duckdb.Error as exc:
        partial.unlink(missing_ok=True)
        msg = f"cannot write the dashboards' DuckDB file {path}: {exc}"
        raise CatalogError(msg) from exc
    os.replace(partial, path)
    kept.write_text(text, encoding="utf-8")
    return True


def watch_lake(catalog: Catalog, settings: LakeSqlSettings, path: Path, interval: float = 5.0) -> None:
    """Keep ``path`` up to date every ``interval`` seconds until SIGTERM or SIGINT.

    A lake that cannot be read for a moment (a file being written) is tried again at the next turn.
    """
    stop = threading.Event()
    columns_of = FileColumns(settings.lake.local_path)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set():
        try:
            if refresh_lake_file(catalog, settings, path, columns_of):
                log.info("views of %s rewritten into %s", settings.lake.local_path, path)
        except CatalogError as exc:
            log.warning("%s; trying again in %.0fs", exc, interval)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait(interval)

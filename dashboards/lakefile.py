"""The DuckDB file Superset reads: one view per lake table, the same views as ``make query``.

Superset opens it read-only, one connection per query, so a new version replaces the file atomically
(written beside it, then renamed) while queries keep reading the one they opened. The views read the
table folders' Parquet files at query time, so new micro-batches show up without a rewrite; the file
changes only when the views must: a table's first files, or a column no file had before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from pathlib import Path

import duckdb

from core.catalog import Catalog
from core.errors import CatalogError
from lakesql.engine import views_sql
from lakesql.settings import LakeSqlSettings

__all__ = ["refresh_lake_file", "watch_lake"]

log = logging.getLogger(__name__)


def refresh_lake_file(catalog: Catalog, settings: LakeSqlSettings, path: Path) -> bool:
    """Rewrite ``path`` when the views of the lake as it is now differ from the file's; True when it did.

    Raises:
        CatalogError: the lake's files cannot be read or do not fit the schemas.
    """
    statements = views_sql(catalog, settings)
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
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set():
        try:
            if refresh_lake_file(catalog, settings, path):
                log.info("views of %s rewritten into %s", settings.lake.local_path, path)
        except CatalogError as exc:
            log.warning("%s; trying again in %.0fs", exc, interval)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait(interval)

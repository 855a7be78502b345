"""The views Superset reads, as a DuckDB file and its SQL: the lake's tables' and the dashboards' own.

One view per lake table (as ``make query``'s), then the dashboards' (the basemap and each derived dataset's
query, :func:`dashboards.derived.dashboard_views`). A derived dataset's query that does not bind to the lake
(a column the lake's table does not have) becomes a view whose reads fail with that reason: its charts say so,
and every other view still follows the lake.

Each view scans its table's current snapshot (``iceberg_scan`` of the metadata file the Iceberg catalog
points at, see :mod:`lakesql.snapshots`). A commit (a micro-batch of the job, a maintenance rewrite) is
the catalog's switch to a new metadata file, so the watcher asks the catalog every second (one
SQLite query) and rewrites the file when a table's metadata file changed: a new snapshot reaches an
open dashboard at its next refresh. It reads a metadata file once (:class:`~lakesql.snapshots.MetadataCache`).

A new version replaces the file atomically (written beside it, then renamed), then the views' SQL beside it
(``lake.duckdb.sql``, likewise): Superset's queries share one DuckDB instance that applies that SQL when it
changes (see ``superset_config.py``), and anyone may open the file read-only. Writing the file installs the
extensions the views need (:data:`lakesql.extensions.VIEW_EXTENSIONS`) from their packages, so Superset's
DuckDB can load them by name, offline, before it locks itself to the lake's folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path

import duckdb

from core.catalog import Catalog
from core.errors import CatalogError, ConfigError
from dashboards.basemap_sql import basemap_view_sql
from dashboards.derived import DashboardView, dashboard_views
from dashboards.fleet import FleetStatus
from lakesql.engine import views_sql
from lakesql.extensions import lake_duckdb
from lakesql.settings import LakeSqlSettings
from lakesql.snapshots import MetadataCache

__all__ = ["refresh_lake_file", "watch_lake"]

log = logging.getLogger(__name__)


def refresh_lake_file(
    catalog: Catalog,
    settings: LakeSqlSettings,
    path: Path,
    cache: MetadataCache | None = None,
    derived: Sequence[DashboardView] | None = None,
) -> bool:
    """Rewrite ``path`` when the views of the lake's current snapshots differ from the file's; True when it did.

    ``derived`` are the derived datasets' views (:func:`~dashboards.derived.dashboard_views`, made with the
    dashboards' fleet thresholds); None makes them with the documented defaults.

    Raises:
        CatalogError: the catalog or a table's metadata cannot be read, or a view cannot be made.
        ConfigError: an extension does not load.
    """
    if derived is None:
        derived = dashboard_views(catalog, settings.database, FleetStatus())
    statements = [*views_sql(catalog, settings, cache=cache), basemap_view_sql(settings.database)]
    intended = ";\n".join([*statements, *(v.sql for v in derived)]) + ";\n"
    kept = path.with_name(path.name + ".sql")
    if path.exists() and kept.exists():
        if intended in (kept.read_text(encoding="utf-8"), _WRITTEN_FOR.get(path)):
            return False  # the views are those of the lake's snapshots (or their failing stand-ins, made already)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".new")
    partial.unlink(missing_ok=True)
    try:
        con = lake_duckdb(str(partial))
        try:
            for statement in statements:
                con.execute(statement)
            for view in derived:
                statements.append(_made(con, view))
        finally:
            con.close()
    except duckdb.Error as exc:
        partial.unlink(missing_ok=True)
        msg = f"cannot write the dashboards' DuckDB file {path}: {exc}"
        raise CatalogError(msg) from exc
    text = ";\n".join(statements) + ";\n"
    os.replace(partial, path)
    written = kept.with_name(kept.name + ".new")  # Superset applies the views from this file: never half of it
    written.write_text(text, encoding="utf-8")
    os.replace(written, kept)
    _WRITTEN_FOR[path] = intended
    return True


_WRITTEN_FOR: dict[Path, str] = {}
"""The views each file was last written for in this process (they differ from its text when a view failed)."""


def _made(con: duckdb.DuckDBPyConnection, view: DashboardView) -> str:
    """Make ``view`` in ``con``; the statement that made it, or made its failing stand-in when it does not bind.

    Only a binder or catalog error (a column or table its query names that the lake lacks) makes a stand-in: it
    stays until the lake or the query changes. Any other error (the lake's storage unreachable for a moment) is
    raised, and the watcher tries the whole file again at its next turn.
    """
    try:
        con.execute(view.sql)
        return view.sql
    except (duckdb.BinderException, duckdb.CatalogException) as exc:
        why = str(exc).strip().splitlines()[0]
        log.warning("the dashboards' view %s does not match the lake (%s): its charts show that error", view.name, why)
        con.execute(view.failing_sql(why))
        return view.failing_sql(why)


def watch_lake(
    catalog: Catalog, settings: LakeSqlSettings, path: Path, status: FleetStatus, interval: float = 1.0
) -> None:
    """Keep ``path`` on the tables' current snapshots, looking every ``interval`` seconds, until SIGTERM or SIGINT.

    ``status`` holds the fleet's thresholds the dashboards were built with (their views depend on them).

    A lake that cannot be read for a moment (the catalog busy with a commit) is tried again at the next turn.
    """
    stop = threading.Event()
    cache = MetadataCache(settings.iceberg)
    derived = dashboard_views(catalog, settings.database, status)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set():
        try:
            if refresh_lake_file(catalog, settings, path, cache, derived):
                log.info("views of %s rewritten into %s", settings.lake.catalog_uri(), path)
        except (CatalogError, ConfigError) as exc:
            log.warning("%s; trying again in %.0fs", exc, interval)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait(interval)

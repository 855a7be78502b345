"""Superset's configuration for the telemetry dashboards (loaded by Superset through ``SUPERSET_CONFIG_PATH``).

Runs inside Superset's own virtual environment, so it imports nothing of the project. State lives in
``SUPERSET_HOME`` (``.local/superset/``, 0700), which ``python -m dashboards up`` prepares: the SQLite
metadata database and the secret key generated at first start (0600, never in git).

Every DuckDB connection Superset opens reads the lake and nothing else: before any query runs, it loads
the extensions the lake's views need (``SUPERSET_LAKE_EXTENSIONS``, comma-separated: DuckDB cannot load
one afterwards), allows only the lake's folders (``SUPERSET_LAKE_DIRECTORIES``, separated by ``os.pathsep``;
DuckDB adds its own database file), turns external access off and locks the configuration, so no SQL
of a dashboard or of SQL Lab can read another file (``read_text('/etc/passwd')``, the secret key beside
the database file), attach a database, install an extension or turn any of it back on. DuckDB may still
write inside the folders it may read (``COPY ... TO``), and Superset's "no DML" switch does not count
``COPY`` as DML, so :func:`SQL_QUERY_MUTATOR` lets only queries (``SELECT``, ``WITH``, set operations) reach
a DuckDB database.

Every query of every dashboard reads through one in-memory DuckDB instance, made and confined once, that
holds the lake's views (:func:`DB_CONNECTION_MUTATOR`): Superset opens a connection per query, and a fresh
instance per query spent about 0.5 s loading the Iceberg extensions before reading a row. The view watcher
writes the views' SQL beside the lake's DuckDB file (``lake.duckdb.sql``, replaced atomically, after the
file); a query that finds it changed applies it first, in one transaction, so a new snapshot reaches the
next query, and queries already running finish on the views they bound.
"""

import logging
import os
import threading
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from duckdb_engine import ConnectionWrapper
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import URL
from sqlglot import exp
from superset.utils.log import AbstractEventLogger

log = logging.getLogger(__name__)

_HOME = Path(os.environ["SUPERSET_HOME"])

SECRET_KEY = (_HOME / "secret-key").read_text(encoding="utf-8").strip()
SQLALCHEMY_DATABASE_URI = "sqlite:///" + str(_HOME / "superset.db")

# Nothing outside this machine: the pages may fetch only from Superset itself and, when one is set, the map tile
# server (TELEMETRY_MAP_TILES). SCARF_ANALYTICS = False does not stop the telemetry pixel, an <img> that Superset's
# JavaScript builds on every page; the content security policy does (Superset's own allows the pixel's host, the
# tile and map-style services it knows, and web fonts).
SCARF_ANALYTICS = False
_TILES_ORIGIN = [o for o in (os.environ.get("SUPERSET_MAP_TILES_ORIGIN", ""),) if o]
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:", *_TILES_ORIGIN],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'", *_TILES_ORIGIN],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
TALISMAN_DEV_CONFIG = TALISMAN_CONFIG


class _NoEventLog(AbstractEventLogger):
    """Superset's event log (who opened which chart, each request's duration) is not kept.

    Its default wrote a row to the metadata database, and committed it, for every request: 9% of Superset's CPU
    while a dashboard opened (py-spy; docs/benchmarks.md, "Dashboards: where the time goes").
    """

    def log(self, *args: Any, **kwargs: Any) -> None:
        return None


EVENT_LOGGER = _NoEventLog()
# A vehicle map takes the dashboard's vehicle filter inside its dataset's query, a Jinja template (filter_values):
# a filter outside it would drop the basemap's rows, which have no vehicle.
FEATURE_FLAGS = {"ENABLE_TEMPLATE_PROCESSING": True}
# The dashboards are live: every refresh reads the lake, never a cached answer.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
ROW_LIMIT = 50_000
SUPERSET_WEBSERVER_TIMEOUT = 60

_LAKE_DIRECTORIES = [d for d in os.environ.get("SUPERSET_LAKE_DIRECTORIES", "").split(os.pathsep) if d]
_LAKE_EXTENSIONS = [e for e in os.environ.get("SUPERSET_LAKE_EXTENSIONS", "").split(",") if e]
# Connections to one file share one DuckDB instance, and a dashboard opens several at once: one confines it.
_CONFINING = threading.Lock()


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _confine(cursor: Any) -> None:
    """Load the lake's extensions into a new DuckDB instance, then lock it to the lake's folders; once per instance."""
    cursor.execute("SELECT current_setting('lock_configuration'), current_setting('enable_external_access')")
    locked, external = cursor.fetchone()
    if locked:  # another connection to the same instance confined it already
        if external:
            msg = "the lake's DuckDB database is locked with external access on; refusing it"
            raise PermissionError(msg)
        return
    for name in _LAKE_EXTENSIONS:
        cursor.execute(f"LOAD {name}")
    cursor.execute(f"SET allowed_directories = [{', '.join(_quoted(d) for d in _LAKE_DIRECTORIES)}]")
    cursor.execute("SET enable_external_access = false")
    cursor.execute("SET lock_configuration = true")


@event.listens_for(Engine, "connect")
def _lake_only(dbapi_connection: Any, _record: Any) -> None:
    """Confine a new DuckDB connection to the lake's folders (see the module docstring); others pass."""
    if not type(dbapi_connection).__module__.startswith("duckdb"):
        return
    with _CONFINING:
        _confine(dbapi_connection.cursor())


class _LakeViews:
    """The in-memory DuckDB instance every query shares, holding the views of one lake's DuckDB file."""

    def __init__(self, views: Path) -> None:
        self.views = views
        self.lock = threading.Lock()
        self.con: duckdb.DuckDBPyConnection | None = None
        self.seen: tuple[int, int, int] | None = None  # the views file's inode, size and mtime when last applied
        self.text = ""

    def connect(self) -> ConnectionWrapper:
        """A new connection to the instance, its views those of the views file now."""
        with self.lock:
            if self.con is None:
                con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                                         "autoload_known_extensions": False})  # fmt: skip
                with _CONFINING:
                    _confine(con)
                self.con = con
            self._follow(self.con)
            return ConnectionWrapper(self.con.cursor())

    def _follow(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            stat = self.views.stat()
        except FileNotFoundError:
            log.warning("no views of the lake yet (%s): is the view watcher running?", self.views)
            return
        seen = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if seen == self.seen:
            return
        text = self.views.read_text(encoding="utf-8")
        if text != self.text:
            try:
                con.execute("BEGIN TRANSACTION;\n" + text + "COMMIT;")
            except duckdb.Error:
                con.execute("ROLLBACK")
                raise
            self.text = text
        self.seen = seen


_VIEWS: dict[str, _LakeViews] = {}
_VIEWS_LOCK = threading.Lock()


def DB_CONNECTION_MUTATOR(url: URL, params: dict[str, Any], *_: Any) -> tuple[URL, dict[str, Any]]:  # Superset's name
    """A DuckDB lake file's connections come from the shared instance that holds its views; others unchanged."""
    if url.get_backend_name() != "duckdb" or not url.database or url.database == ":memory:":
        return url, params
    views = Path(url.database + ".sql")
    with _VIEWS_LOCK:
        lake = _VIEWS.setdefault(str(views), _LakeViews(views))
    params["creator"] = lake.connect
    return url, params


def SQL_QUERY_MUTATOR(sql: str, **kwargs: Any) -> str:  # the name Superset looks up
    """``sql`` unchanged when every statement of it only reads; a DuckDB statement that does not is refused."""
    database = kwargs.get("database")
    if database is None or database.backend != "duckdb":
        return sql
    for statement in sqlglot.parse(sql, read="duckdb"):
        if statement is not None and not isinstance(statement, exp.Query):
            msg = f"the lake is read-only here: {statement.key.upper()} statements are refused"
            raise PermissionError(msg)
    return sql

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
"""

import os
import threading
from pathlib import Path
from typing import Any

import sqlglot
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlglot import exp

_HOME = Path(os.environ["SUPERSET_HOME"])

SECRET_KEY = (_HOME / "secret-key").read_text(encoding="utf-8").strip()
SQLALCHEMY_DATABASE_URI = "sqlite:///" + str(_HOME / "superset.db")

# No telemetry pixel: the page must not wait for, or tell, anything outside this machine.
SCARF_ANALYTICS = False
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


@event.listens_for(Engine, "connect")
def _lake_only(dbapi_connection: Any, _record: Any) -> None:
    """Confine a new DuckDB connection to the lake's folders (see the module docstring); others pass."""
    if not type(dbapi_connection).__module__.startswith("duckdb"):
        return
    cursor = dbapi_connection.cursor()
    with _CONFINING:
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

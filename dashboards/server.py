"""Superset as a service of the local stack: prepare its home, import the bundle, start, stop, status.

``up`` installs Superset's environment when needed, creates its metadata database and admin user at
first start, writes the lake's DuckDB file, imports the dashboards bundle (every start, so the
dashboards always match the schemas), then starts Superset (gunicorn) and the view watcher as
background processes with pid files in ``<home>/superset/``, like every other service of the stack.
``<home>/superset/`` is 0700 and its secret key and admin password 0600. Each child gets only the
variables it needs (:func:`core.secrets.child_env`): Superset its own, the lake's folders and, for
Athena, the AWS ones; the watcher the settings of the lake; neither the admin password.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import requests

from core import procs
from core.catalog import Catalog, project_root
from core.errors import StackError
from core.secrets import child_env, keep_private, private_dir
from dashboards.bundle import Bundle, build_bundle
from dashboards.derived import dashboard_views
from dashboards.dialects import dialect
from dashboards.install import ensure_superset
from dashboards.lakefile import refresh_lake_file
from dashboards.settings import DUCKDB_EXTENSIONS, HOST, DashboardSettings
from lakesql.settings import LakeSqlSettings

__all__ = ["admin_password", "is_up", "prepare_home", "start", "status", "stop", "watcher_env"]

CONFIG = Path(__file__).with_name("superset_config.py")
ADMIN_SCRIPT = Path(__file__).with_name("superset_admin.py")
IMPORT_SCRIPT = Path(__file__).with_name("superset_import.py")
_PROCESSES = ("superset", "views")


# What `python -m dashboards watch` reads: the lake, its catalog, the schemas, the log level; no secret.
_WATCHER_VARIABLES = ("TELEMETRY_HOME", "TELEMETRY_LAKE", "TELEMETRY_GLUE_DATABASE", "TELEMETRY_SCHEMAS_DIR",
                      "TELEMETRY_CATALOG", "TELEMETRY_CATALOG_DB", "TELEMETRY_LOG_LEVEL", "TELEMETRY_DASHBOARD_ENGINE",
                      "TELEMETRY_SUPERSET_PORT", "TELEMETRY_PROJECTION_START")  # fmt: skip


def prepare_home(settings: DashboardSettings) -> None:
    """Superset's folder (0700, in a 0700 ``TELEMETRY_HOME``) with its secret key (0600, made once)."""
    private_dir(settings.home.parent)
    private_dir(settings.home)
    keep_private(settings.home / "secret-key", partial(secrets.token_hex, 32))


def admin_password(settings: DashboardSettings) -> str:
    """The admin password: ``TELEMETRY_SUPERSET_PASSWORD``, else the one generated at first start (0600)."""
    if settings.password is not None:
        return settings.password.get()
    return keep_private(settings.home / "admin-password", partial(secrets.token_urlsafe, 12))


def _env(settings: DashboardSettings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Superset's environment: its own variables, the lake's folders, and AWS's for Athena only."""
    keep = ("AWS_*",) if settings.engine == "athena" else ()
    lake = str(settings.lake.local_path) if settings.engine == "duckdb" else ""
    return child_env(os.environ, keep, SUPERSET_HOME=str(settings.home), SUPERSET_CONFIG_PATH=str(CONFIG), TZ="UTC",
                     PYTHONUNBUFFERED="1", FLASK_APP="superset.app:create_app()", SUPERSET_LAKE_DIRECTORIES=lake,
                     SUPERSET_LAKE_EXTENSIONS=",".join(DUCKDB_EXTENSIONS),
                     SUPERSET_MAP_TILES_ORIGIN=settings.map_tiles_origin, **(extra or {}))  # fmt: skip


def watcher_env(env: Mapping[str, str]) -> dict[str, str]:
    """The view watcher's environment: the settings of the lake it reads, nothing secret."""
    return child_env(env, _WATCHER_VARIABLES)


def _step(settings: DashboardSettings, step: str, cmd: list[str], extra: Mapping[str, str] | None = None) -> None:
    log = settings.home / "setup.log"
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=_env(settings, extra),  # noqa: S603
                                cwd=settings.home, check=False)  # fmt: skip
    if result.returncode != 0:
        msg = f"starting Superset failed at step '{step}' (exit code {result.returncode}); see {log}"
        raise StackError(msg)


def _prepare(settings: DashboardSettings, catalog: Catalog) -> None:
    prepare_home(settings)
    installed = ensure_superset(settings.venv, settings.home / "install.log")
    superset = str(settings.venv / "bin" / "superset")
    initialized = settings.home / ".initialized"
    if installed or not initialized.exists() or not (settings.home / "superset.db").exists():
        _step(settings, "superset db upgrade", [superset, "db", "upgrade"])
        _step(settings, "superset init", [superset, "init"])
        initialized.touch()
    _step(settings, "create the admin user", [str(settings.venv / "bin" / "python"), str(ADMIN_SCRIPT)],
          {"SUPERSET_ADMIN_PASSWORD": admin_password(settings)})  # fmt: skip
    bundle = settings.home / "dashboards.zip"
    bundle.write_bytes(settings_bundle(settings, catalog).zip_bytes())
    _step(settings, "import the dashboards", [str(settings.venv / "bin" / "python"), str(IMPORT_SCRIPT), str(bundle)])


def settings_bundle(settings: DashboardSettings, catalog: Catalog) -> Bundle:
    """The dashboards as ``settings`` make them: engine, lake database, fleet thresholds, map tiles."""
    return build_bundle(catalog, settings.database, dialect(settings.engine), settings.sqlalchemy_uri, settings.fleet,
                        settings.map_tiles)  # fmt: skip


def _pid_file(settings: DashboardSettings, name: str) -> Path:
    return settings.home / f"{name}.pid"


def _healthy(settings: DashboardSettings) -> bool:
    try:
        return requests.get(f"{settings.url}/health", timeout=2).status_code == requests.codes.ok
    except requests.RequestException:
        return False


def is_up(settings: DashboardSettings) -> bool:
    """Whether the Superset this project started runs and answers."""
    return procs.read_pid(_pid_file(settings, "superset")) is not None and _healthy(settings)


def start(settings: DashboardSettings, catalog: Catalog, *, timeout: float = 180.0) -> bool:
    """Install, prepare and start Superset and the view watcher; False when Superset was up already.

    Raises:
        StackError: the port is taken by another process, or a step failed (the message names it and its log).
    """
    if is_up(settings):
        return False
    if procs.read_pid(_pid_file(settings, "superset")) is None and procs.port_open(settings.port):
        msg = (
            f"port {settings.port} is in use by a process this project did not start; stop it or set "
            "TELEMETRY_SUPERSET_PORT"
        )
        raise StackError(msg)
    _prepare(settings, catalog)
    if settings.engine == "duckdb":
        views = dashboard_views(catalog, settings.database, settings.fleet)
        refresh_lake_file(catalog, LakeSqlSettings(settings.lake, settings.database), settings.lake_file, None, views)
    if settings.engine == "duckdb" and procs.read_pid(_pid_file(settings, "views")) is None:
        procs.start([sys.executable, "-m", "dashboards", "watch"], pid_file=_pid_file(settings, "views"),
                    log_file=settings.home / "views.log", env=watcher_env(os.environ), cwd=project_root())  # fmt: skip
    log = settings.home / "superset.log"
    # No control socket: gunicorn's (on by default since 25) is one path in $HOME for every instance the user runs,
    # answers shutdown, kill and reload to any process of the user, and is removed by whichever instance stops.
    gunicorn = [str(settings.venv / "bin" / "gunicorn"), "--workers", "1", "--worker-class", "gthread", "--threads",
                "8", "--timeout", "120", "--no-control-socket", "--bind", f"{HOST}:{settings.port}",
                "superset.app:create_app()"]  # fmt: skip
    procs.start(gunicorn, pid_file=_pid_file(settings, "superset"), log_file=log, env=_env(settings),
                cwd=settings.home)  # fmt: skip
    deadline = time.monotonic() + timeout
    while not _healthy(settings):
        if procs.read_pid(_pid_file(settings, "superset")) is None:
            msg = f"Superset exited while starting; see {log}"
            raise StackError(msg)
        if time.monotonic() > deadline:
            msg = f"Superset did not answer on {settings.url} within {timeout:.0f}s; see {log}"
            raise StackError(msg)
        time.sleep(1)
    return True


def stop(settings: DashboardSettings) -> list[str]:
    """Stop what :func:`start` started; returns the names of the processes stopped."""
    stopped = procs.stop([_pid_file(settings, name) for name in _PROCESSES])
    return [name for name in _PROCESSES if _pid_file(settings, name) in stopped]


def status(settings: DashboardSettings) -> list[tuple[str, str, str, int | None]]:
    """(name, up or down, address, pid) of Superset and the view watcher."""
    rows = []
    for name in _PROCESSES:
        pid = procs.read_pid(_pid_file(settings, name))
        healthy = _healthy(settings) if name == "superset" else pid is not None
        where = settings.url if name == "superset" else str(settings.lake_file)
        rows.append((name, "up" if pid is not None and healthy else "down", where, pid))
    return rows

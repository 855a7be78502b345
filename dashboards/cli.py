"""``python -m dashboards up|down|status|bundle|watch``: Apache Superset over the lake (``make dashboard``).

Examples::

    python -m dashboards up        # install (first time), import the dashboards, start on 127.0.0.1:8088
    python -m dashboards status
    python -m dashboards down
    python -m dashboards bundle --out build/dashboards.zip   # the import bundle alone
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from core.catalog import load_catalog
from core.cli import run_cli
from dashboards.lakefile import watch_lake
from dashboards.server import settings_bundle, start, status, stop
from dashboards.settings import DashboardSettings
from lakesql.settings import LakeSqlSettings

__all__ = ["main"]


def _say(message: str) -> None:
    print(message, flush=True)  # noqa: T201 - this is a CLI


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="install if needed, import the dashboards, start Superset")
    commands.add_parser("down", help="stop Superset and the view watcher")
    commands.add_parser("status", help="whether Superset and the view watcher run")
    bundling = commands.add_parser("bundle", help="write the dashboards' import bundle (a ZIP)")
    bundling.add_argument("--out", default="build/dashboards.zip", help="where (default build/dashboards.zip)")
    commands.add_parser("watch", help="keep the lake's DuckDB file up to date (started by `up`)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = parse_args(argv)
    settings = DashboardSettings.from_env()
    catalog = load_catalog()
    if args.command == "up":
        started = time.monotonic()
        fresh = start(settings, catalog)
        took = f" in {time.monotonic() - started:.0f}s" if fresh else " (already running)"
        _say(f"Superset is up{took}: {settings.url}")
        password = "TELEMETRY_SUPERSET_PASSWORD" if settings.password else f"cat {settings.home / 'admin-password'}"
        _say(f"  log in as admin; the password: {password}")
        bundle = settings_bundle(settings, catalog)
        for board in bundle.dashboards:
            _say(f"  {board.title:<16} {settings.url}/superset/dashboard/{board.key}/")
        return 0
    if args.command == "down":
        stopped = stop(settings)
        _say(f"stopped {', '.join(stopped)}" if stopped else "Superset was not running")
        return 0
    if args.command == "status":
        rows = status(settings)
        for name, state, where, pid in rows:
            _say(f"{name:<10} {state:<5} {where:<42} {f'pid {pid}' if pid else 'not running'}")
        return 3 if any(state == "down" for _, state, _, _ in rows) else 0
    if args.command == "bundle":
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        bundle = settings_bundle(settings, catalog)
        out.write_bytes(bundle.zip_bytes())
        _say(f"wrote {out}: {len(bundle.datasets)} datasets, {len(bundle.charts)} charts, "
             f"{len(bundle.dashboards)} dashboards ({settings.engine})")  # fmt: skip
        return 0
    watch_lake(catalog, LakeSqlSettings(settings.lake, settings.database), settings.lake_file, settings.fleet)
    return 0


def entry() -> None:
    """Console entry point: expected failures print one line and exit non-zero."""
    run_cli(main)

"""What an operator waits for, timed in a real browser: each dashboard drawn, and a new position on the open map.

Used by ``dashboard_bench.py``. A headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright)
opens each dashboard and times it from navigation until every chart holder has left its loading state;
then, with the fleet dashboard open, a new vehicle's position is written into the lake and timed until its
name is on the page (the view watcher, then the dashboard's own refresh). Each position is written after a
random pause (0 to 15 s, seeded): written as soon as the last one showed, every write fell just after a refresh
and waited a whole cycle, so every run measured the worst case (p50 18.9, p95 20.2 s at 2a06f86). The position is
written straight into the lake by :func:`write_position`, so the job's trigger interval is not in this figure:
add it for the delay from a send to the screen.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from core.catalog import Catalog
from core.tables import entity_lake_table
from dashboards.settings import DashboardSettings
from tests.iceberg_lake import write

__all__ = ["browser_timings", "write_position"]

CHROMIUM = "/usr/bin/chromium"
_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
_ALL_DRAWN = (
    "() => { const h = document.querySelectorAll('.dashboard-component-chart-holder'); return h.length > 0 && "
    "document.querySelectorAll('.dashboard-component-chart-holder .loading, [aria-label=\"Loading\"]').length == 0; }"
)


def write_position(lake: Path, catalog: Catalog, vehicle_id: str, make: str, model: str) -> None:
    """Write one vehicle report, sent and landed now, into the lake (the one place the bench writes the lake)."""
    now = datetime.now(UTC)
    row = {"vehicle_id": vehicle_id, "make": make, "model": model, "event_time": now, "kafka_timestamp": now,
           "ingested_at": now + timedelta(milliseconds=10), "location": {"latitude": 52.0, "longitude": -1.0},
           "speed_kmh": 42.0}  # fmt: skip
    write(lake, entity_lake_table(catalog.get("vehicle")), [row])


def _p(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    return statistics.median(values), statistics.quantiles(values, n=20, method="inclusive")[18]


def _login(page: Page, settings: DashboardSettings) -> None:
    page.goto(f"{settings.url}/login/")
    page.fill("input#username", "admin")
    page.fill("input#password", (settings.home / "admin-password").read_text().strip())
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)


def _drawn_in(page: Page, url: str) -> float:
    started = time.monotonic()
    page.goto(url)
    page.wait_for_selector(".dashboard-component-chart-holder", timeout=120_000)
    page.wait_for_function(_ALL_DRAWN, timeout=120_000, polling=50)
    return time.monotonic() - started


def browser_timings(
    settings: DashboardSettings, slugs: list[str], runs: int, new_position: Callable[[int], str]
) -> dict[str, Any]:
    """(p50, p95) seconds per dashboard until drawn, and of a new position reaching the open fleet dashboard.

    Args:
        settings: the running Superset.
        slugs: the dashboards to open.
        runs: timed opens per dashboard (after one untimed) and positions written.
        new_position: writes the n-th new position and returns the text the fleet table shows for it.
    """
    drawn: dict[str, tuple[float, float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        # Tall enough for every chart to be in view: Superset draws only the charts in view.
        page = browser.new_page(viewport={"width": 1600, "height": 2400})
        _login(page, settings)
        for slug in slugs:
            url = f"{settings.url}/superset/dashboard/{slug}/"
            _drawn_in(page, url)
            drawn[slug] = _p([_drawn_in(page, url) for _ in range(runs)])
        _drawn_in(page, f"{settings.url}/superset/dashboard/fleet/")
        delays = []
        phase = random.Random(7)
        for n in range(runs):
            time.sleep(phase.uniform(0, 15))  # a report arrives whenever it does, not in step with the refresh
            written = time.monotonic()
            shown = new_position(n)
            page.wait_for_function("(text) => document.body.innerText.includes(text)", arg=shown, timeout=120_000,
                                   polling=100)  # fmt: skip
            delays.append(time.monotonic() - written)
        browser.close()
    return {"drawn": drawn, "live": _p(delays)}

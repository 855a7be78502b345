"""Superset started by the project from a fresh metadata database, its charts held to DuckDB, seen in a browser.

One Superset for the module (``python -m dashboards up``, as a user starts it) over a lake that is empty
at first: the dashboards must say there is no data yet, not fail. Then the simulator's journey lands in
the lake and every chart's data API must answer with the rows DuckDB gives for the same query; a real
headless Chromium opens every dashboard, finds every chart drawn and none in an error state, and saves
a screenshot of each under build/dashboards/. Last, a new position written into the lake shows up on
the open fleet dashboard by itself.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from core.catalog import load_catalog, project_root
from core.tables import entity_lake_table, quarantine_lake_table
from dashboards.basemap import TOWN_COLOR
from dashboards.bundle import Bundle, build_bundle
from dashboards.checks import check_connection, check_sql
from dashboards.dialects import DUCKDB
from dashboards.settings import DashboardSettings
from lakesql.settings import LakeSqlSettings
from tests.fleet_lake import write_fleet_lake
from tests.iceberg_lake import write

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATALOG = load_catalog()
CHROMIUM = "/usr/bin/chromium"
ADMIN_PASSWORD = secrets.token_urlsafe(12)  # given in the environment: no child but the admin step may see it
SHOTS = project_root() / "build" / "dashboards"
BROWSER_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@dataclass
class Running:
    settings: DashboardSettings
    lake: Path
    env: dict[str, str]
    api: requests.Session
    bundle: Bundle

    def chart_ids(self) -> dict[str, int]:
        query = "(columns:!(id,uuid),page_size:100)"
        result = self.api.get(f"{self.settings.url}/api/v1/chart/", params={"q": query}, timeout=30).json()["result"]
        by_uuid = {c["uuid"]: c["id"] for c in result}
        return {c.key: by_uuid[c.uuid] for c in self.bundle.charts}

    def chart_rows(self, chart_id: int) -> list[dict[str, Any]]:
        response = self.api.get(f"{self.settings.url}/api/v1/chart/{chart_id}/data/", timeout=60)
        assert response.status_code == 200, response.text[:500]
        return list(response.json()["result"][0]["data"])

    @property
    def password(self) -> str:
        return ADMIN_PASSWORD


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dashboards", *args], env={**os.environ, **env}, text=True,
                          capture_output=True, cwd=project_root(), timeout=900, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def superset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    home = tmp_path_factory.mktemp("dashboards home")  # a space in the path, on purpose
    lake = home / "lake"
    # Silent after 10 min: the lake's journeys end when the tests write them, and the browser looks minutes later.
    env = {"TELEMETRY_HOME": str(home), "TELEMETRY_LAKE": str(lake), "TELEMETRY_SUPERSET_PORT": str(_free_port()),
           "TELEMETRY_SUPERSET_PASSWORD": ADMIN_PASSWORD, "TELEMETRY_FLEET_SILENT_AFTER_S": "600"}  # fmt: skip
    started = time.monotonic()
    result = _cli(env, "up")
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"superset up from a fresh metadata database in {time.monotonic() - started:.0f}s")  # noqa: T201
    settings = DashboardSettings.from_env({**os.environ, **env})
    assert settings.url in result.stdout and "the password: TELEMETRY_SUPERSET_PASSWORD" in result.stdout
    api = requests.Session()
    login = {"username": "admin", "password": ADMIN_PASSWORD, "provider": "db", "refresh": False}
    token = api.post(f"{settings.url}/api/v1/security/login", json=login, timeout=30).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"
    bundle = build_bundle(CATALOG, settings.database, DUCKDB, settings.sqlalchemy_uri, settings.fleet)
    try:
        yield Running(settings, lake, env, api, bundle)
    finally:
        stopped = _cli(env, "down")
        assert "stopped superset" in stopped.stdout


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield chromium
        chromium.close()


def _logged_in(browser: Browser, running: Running) -> Page:
    # Tall enough for every chart to be in view: Superset draws only the charts in view (and drops those it left).
    page = browser.new_page(viewport={"width": 1600, "height": 2400})
    page.goto(f"{running.settings.url}/login/")
    page.fill("input#username", "admin")
    page.fill("input#password", running.password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)
    return page


_DRAWN = "canvas, table, img, .header-line, .superset-legacy-chart-big-number, [data-test='big-number']"
_EMPTY = "No results were returned for this query"
# How Superset shows a chart that failed: an alert box, or a message in the chart's body. Not the word
# "error" alone: a table may hold it (a data rule's on_failure is ERROR).
_ERROR_STATE = ".ant-alert-error, .ant-alert-warning, [role='alert'], [data-test='error-message']"
_ERROR_PHRASES = ("unexpected error", "error: ", "violates the following", "traceback", "an error occurred")


def _chart_states(page: Page) -> list[tuple[str, str]]:
    """(title, state) of every chart of the open dashboard once none is loading: drawn, empty or error."""
    holders = page.locator(".dashboard-component-chart-holder")
    # Settled: no chart loading, and each chart showing something (a busy machine may not have started one yet).
    page.wait_for_function(
        "([drawn, empty, failed]) => { const h = [...document.querySelectorAll('.dashboard-component-chart-holder')];"
        " return h.length > 0 && document.querySelectorAll('.dashboard-component-chart-holder .loading, "
        '[aria-label="Loading"]\').length == 0 && h.every(e => e.querySelector(drawn) || e.querySelector(failed) '
        "|| e.innerText.includes(empty)); }",
        arg=[_DRAWN, _EMPTY, _ERROR_STATE],
        timeout=120_000,
    )
    states = []
    for i in range(holders.count()):
        holder = holders.nth(i)
        text = holder.inner_text(timeout=10_000)
        title = text.splitlines()[0] if text else f"chart {i}"
        if holder.locator(_ERROR_STATE).count() or any(phrase in text.lower() for phrase in _ERROR_PHRASES):
            states.append((title, f"error: {text[:300]}"))
        elif _EMPTY in text:
            states.append((title, "empty"))
        elif holder.locator(_DRAWN).count():
            states.append((title, "drawn"))
        else:
            states.append((title, f"blank: {text[:200]}"))
    return states


def _open(page: Page, running: Running, slug: str) -> list[tuple[str, str]]:
    page.goto(f"{running.settings.url}/superset/dashboard/{slug}/?standalone=1")
    page.wait_for_selector(".dashboard-component-chart-holder", timeout=60_000)
    time.sleep(3)  # let the maps and charts draw after their data arrived
    return _chart_states(page)


def test_with_no_lake_yet_every_dashboard_says_no_data_instead_of_failing(superset: Running, browser: Browser) -> None:
    page = _logged_in(browser, superset)
    for board in superset.bundle.dashboards:
        states = _open(page, superset, board.key)
        assert len(states) == len(board.charts)
        assert all(state in ("empty", "drawn") for _, state in states), (board.key, states)
        assert any(state == "empty" for _, state in states), (board.key, states)
    page.close()


_AGE = re.compile(r"\d+ (s|min|h|d) ago")


def _normal(value: Any) -> Any:
    if isinstance(value, str):  # an age ("38 s ago") is measured when each query runs: a second apart here
        return _AGE.sub("<age>", value)
    if isinstance(value, datetime):
        return round(value.timestamp() * 1000)
    if isinstance(value, float | Decimal):
        return round(float(value), 6)
    return value


def _normal_api(value: Any, temporal: bool) -> Any:
    if temporal and isinstance(value, int | float):
        return round(value)
    return _normal(value)


def _age_free(names: list[str], row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(None if n == "age_s" else v for n, v in zip(names, row, strict=True))


def _wait_for(check: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"{what} did not happen within {timeout:.0f}s"
        time.sleep(1)
    return time.monotonic() - started


def test_every_chart_answers_with_the_rows_duckdb_gives_for_the_same_lake(superset: Running) -> None:
    now = datetime.now(UTC)
    counts = write_fleet_lake(superset.lake, vehicles=3, minutes=15, end=now)
    assert counts["vehicle"] > 0 and counts["emergency"] > 0 and counts["traffic"] > 0
    write_fleet_lake(superset.lake, vehicles=1, minutes=5, end=now - timedelta(minutes=20), seed=9)  # a silent one
    reasons = (
        "bad-magic-byte: the first byte is 123, expected 0",
        "unknown-schema-id: schema id 9 was not resolved",
        "rule-violation: speed-in-range",
        "rule-violation: speed-in-range",
    )
    bad = [{"ingested_at": now, "kafka_timestamp": now, "reason": reason} for reason in reasons]
    write(superset.lake, quarantine_lake_table(CATALOG.get("gps")), bad)
    ids = superset.chart_ids()
    # The view watcher follows the lake at its own pace and may have taken a turn between two writes: wait for the
    # last one (the quarantine's), so that Superset and DuckDB read the same snapshots.
    waited = _wait_for(lambda: superset.chart_rows(ids["quarantine-by-reason"]), 30,
                       "the lake's files reaching the dashboards")  # fmt: skip
    print(f"the lake's files visible to Superset after {waited:.1f}s")  # noqa: T201
    con = check_connection(CATALOG, LakeSqlSettings.from_env({}, lake=str(superset.lake)), superset.settings.fleet)
    compared = 0
    for chart in superset.bundle.charts:
        cursor = con.execute(check_sql(chart, DUCKDB))
        names = [d[0] for d in cursor.description or ()]
        expected = sorted((_age_free(names, tuple(_normal(v) for v in row)) for row in cursor.fetchall()), key=repr)
        temporal = {c.name for c in chart.dataset.columns if c.is_dttm} | {
            m.label for m in chart.metrics if "(ingested_at)" in m.sql
        }
        answered = superset.chart_rows(ids[chart.key])
        got = sorted((_age_free(names, tuple(_normal_api(r[n], n in temporal) for n in names)) for r in answered),
                     key=repr)  # fmt: skip
        assert got == expected, chart.key
        assert got, f"{chart.key} has no rows on a lake with data"
        compared += 1
    assert compared == len(superset.bundle.charts)


def test_every_dashboard_is_drawn_in_a_browser_with_no_chart_in_error(superset: Running, browser: Browser) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _logged_in(browser, superset)
    # Nothing leaves this machine: Superset's pages build a telemetry pixel and its maps ask for tiles; with no tile
    # server set, the content security policy refuses both before a request is sent.
    policy = requests.get(f"{superset.settings.url}/login/", timeout=30).headers["Content-Security-Policy"]
    assert "connect-src 'self';" in policy and "img-src 'self' blob: data:;" in policy, policy
    outside: list[tuple[str, str | None]] = []
    page.on("requestfinished", lambda r: _off_loopback(r.url) and outside.append((r.url, "sent")))
    page.on("requestfailed", lambda r: _off_loopback(r.url) and outside.append((r.url, r.failure)))
    lake = LakeSqlSettings.from_env({}, lake=str(superset.lake))
    con = check_connection(CATALOG, lake, superset.settings.fleet)
    (first,) = con.execute(f"SELECT min(vehicle) FROM {lake.database}.dashboard_journey").fetchone() or ("",)
    for board in superset.bundle.dashboards:
        states = _open(page, superset, board.key)
        page.screenshot(path=str(SHOTS / f"{board.key}.png"), full_page=True)
        assert [s for _, s in states] == ["drawn"] * len(board.charts), (board.key, states)
        if board.key == "journey":  # one vehicle's journey, the first by name, chosen in the filter bar at opening
            assert first and first in page.locator("body").inner_text(), first
        if board.key == "cameras":
            loaded = page.evaluate("() => [...document.images].filter(i => i.src.startsWith('data:image/png'))"
                                   ".map(i => i.naturalWidth)")  # fmt: skip
            assert loaded and all(width > 0 for width in loaded), loaded
    page.close()
    assert all(how == "csp" for _, how in outside), outside


def _off_loopback(url: str) -> bool:
    return urlsplit(url).hostname not in ("127.0.0.1", None)


_STATUS_RGB = {"moving": (0, 158, 115), "silent": (120, 120, 120)}
_COUNT_PIXELS = """async ([png, colours]) => {
  const img = new Image(); img.src = 'data:image/png;base64,' + png; await img.decode();
  const canvas = document.createElement('canvas'); canvas.width = img.width; canvas.height = img.height;
  const context = canvas.getContext('2d'); context.drawImage(img, 0, 0);
  const d = context.getImageData(0, 0, img.width, img.height).data;
  return colours.map(([r, g, b]) => { let n = 0; for (let i = 0; i < d.length; i += 4) {
    if (Math.abs(d[i] - r) < 6 && Math.abs(d[i + 1] - g) < 6 && Math.abs(d[i + 2] - b) < 6) n++; } return n; });
}"""


def _number(page: Page, title: str) -> str:
    holder = page.locator(".dashboard-component-chart-holder", has_text=title).first
    return holder.inner_text().splitlines()[1].strip()


def test_an_operator_sees_status_counts_markers_in_status_colours_zeros_and_a_working_filter(
    superset: Running, browser: Browser
) -> None:
    page = _logged_in(browser, superset)

    def speed_chart(response: Any, vehicle: str = "") -> bool:
        sent = response.request.post_data or ""
        return "/api/v1/chart/data" in response.url and "average km/h" in sent and vehicle in sent

    def map_chart(response: Any, vehicle: str) -> bool:  # the map's data request, with a filter on the vehicle
        sent = unquote_plus(response.request.post_data or "")
        return '"feature"' in sent and vehicle in sent

    with page.expect_response(speed_chart, timeout=60_000) as fleet:
        states = _open(page, superset, "fleet")
    assert all(state == "drawn" for _, state in states), states
    # 3 vehicles ending now are moving; the one that stopped reporting 20 minutes ago is silent; none is idle (0).
    assert [_number(page, t) for t in ("Moving", "Idle", "Silent", "Fleet")] == ["3", "0", "1", "4"]
    the_map = page.locator(".dashboard-component-chart-holder", has_text="Fleet map").locator("canvas").first
    png = base64.b64encode(the_map.screenshot()).decode()
    moving, silent = page.evaluate(_COUNT_PIXELS, [png, list(_STATUS_RGB.values())])
    assert moving > 20 and silent > 20, (moving, silent)  # arrows drawn on the canvas, in their status colours
    table = page.locator(".dashboard-component-chart-holder", has_text="Vehicles: status and last report")
    # Each vehicle's row, its status and age: given the time a table takes to lay out its rows on a busy machine.
    deadline = time.monotonic() + 30
    while not ("silent" in table.inner_text() and "min ago" in table.inner_text()) and time.monotonic() < deadline:
        time.sleep(1)
    assert "silent" in table.inner_text() and "min ago" in table.inner_text(), table.inner_text()[:500]
    name = table.locator("tbody tr").first.locator("td").first.inner_text().strip()

    with (
        page.expect_response(lambda r: speed_chart(r, name), timeout=30_000) as filtered,
        page.expect_response(lambda r: map_chart(r, name), timeout=30_000) as mapped,
    ):
        table.locator("td", has_text=name).first.click()  # a cross-filter on that vehicle
    rows, fleet_rows = (r.value.json()["result"][0]["data"] for r in (filtered, fleet))
    series = {k for r in rows for k in r} - {"event_time", "__timestamp"}
    assert series == {"average km/h", "fastest km/h"}, series
    # The speed chart: that vehicle's own speeds, not the fleet's (the 3 moving vehicles do not drive alike).
    assert rows and fleet_rows and rows != fleet_rows, (rows[:3], fleet_rows[:3])
    # The map: that vehicle's arrow and track alone, on the whole basemap; the silent one and the two others are gone.
    features = mapped.value.json()["data"]["features"]
    shown = {f["extraProps"]["vehicle"] for f in features if f.get("extraProps")}
    assert shown == {name}, shown
    assert sum(f["properties"]["fillColor"] == list(TOWN_COLOR) for f in features) >= 30  # the towns stay
    time.sleep(3)  # let the map draw its new data
    png = base64.b64encode(the_map.screenshot()).decode()
    moving_now, silent_now = page.evaluate(_COUNT_PIXELS, [png, list(_STATUS_RGB.values())])
    print(f"status-coloured pixels on the map: moving {moving} -> {moving_now}, silent {silent} -> {silent_now}")  # noqa: T201
    # The silent vehicle's grey arrow is gone (the towns' dots leave some grey at their edges).
    assert moving_now > 20 and silent - silent_now > 40, (moving, moving_now, silent, silent_now)
    assert [_number(page, t) for t in ("Moving", "Idle", "Silent", "Fleet")] == ["3", "0", "1", "4"]  # not filtered
    page.close()


def test_a_new_position_shows_on_the_open_fleet_dashboard_by_itself(superset: Running, browser: Browser) -> None:
    page = _logged_in(browser, superset)
    _open(page, superset, "fleet")
    newcomer = "Live Check LIVE-C"  # make, model and the id's first six characters, as the fleet table names it
    now = datetime.now(UTC)
    row = {"vehicle_id": "live-check-vehicle", "make": "Live", "model": "Check", "event_time": now,
           "kafka_timestamp": now, "ingested_at": now + timedelta(seconds=1),
           "location": {"latitude": 52.0, "longitude": -1.0}, "speed_kmh": 42.0}  # fmt: skip
    written = time.monotonic()
    write(superset.lake, entity_lake_table(CATALOG.get("vehicle")), [row])
    waited = _wait_for(lambda: newcomer in page.inner_text("body"), 30, "the new position on the open dashboard")
    print(f"new position on the open fleet dashboard {waited:.1f}s after it was written")  # noqa: T201
    assert time.monotonic() - written < 30
    page.close()


def test_a_taken_port_is_one_line_not_a_traceback(superset: Running) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {**superset.env, "TELEMETRY_SUPERSET_PORT": str(taken.getsockname()[1]),
               "TELEMETRY_HOME": str(superset.settings.home.parent / "other")}  # fmt: skip
        result = _cli(env, "up")
    assert result.returncode != 0
    assert result.stderr.strip().startswith("error: port") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_status_reports_superset_and_the_view_watcher(superset: Running) -> None:
    result = _cli(superset.env, "status")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["superset", "up"] and superset.settings.url in lines[0]
    assert lines[1].split()[:2] == ["views", "up"]
    for line in lines[:2]:  # Superset and the view watcher: neither inherits the admin password
        environ = Path(f"/proc/{line.split()[-1]}/environ").read_bytes()
        assert ADMIN_PASSWORD.encode() not in environ and b"TELEMETRY_SUPERSET_PASSWORD" not in environ, line
    # No control socket: gunicorn's answers shutdown to any process of the user, at one path for every instance.
    started = (superset.settings.home / "superset.log").read_text(encoding="utf-8")
    assert "Starting gunicorn" in started and "Control socket listening" not in started


def test_sql_lab_reads_the_lake_and_no_other_file(superset: Running) -> None:
    url = superset.settings.url
    database = superset.api.get(f"{url}/api/v1/database/", timeout=30).json()["result"][0]["id"]
    csrf = superset.api.get(f"{url}/api/v1/security/csrf_token/", timeout=30).json()["result"]

    def run(sql: str) -> requests.Response:
        body = {"database_id": database, "sql": sql, "runAsync": False}
        return superset.api.post(f"{url}/api/v1/sqllab/execute/", json=body, headers={"X-CSRFToken": csrf},
                                 timeout=60)  # fmt: skip

    lake = run(f"select count(*) as n from glob('{superset.lake}/**')")
    assert lake.status_code == 200, lake.text[:500]
    for outside in ("/etc/passwd", superset.settings.home / "secret-key"):
        refused = run(f"select * from read_text('{outside}')")
        assert refused.status_code != 200 and "Cannot access file" in refused.text, refused.text[:500]
        assert "root:" not in refused.text
    planted = superset.lake / "planted.csv"  # DuckDB may write where it may read: Superset lets only queries through
    written = run(f"copy (select 1 as a) to '{planted}'")
    assert written.status_code != 200 and "COPY statements are refused" in written.text, written.text[:500]
    assert not planted.exists()

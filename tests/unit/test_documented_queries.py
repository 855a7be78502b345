"""The Athena queries of docs/athena-queries.md run on a lake through DuckDB, and their rows are checked.

The SQL comes from the markdown, not from the code, so the page cannot drift: it must equal the named
queries, and what it returns must equal figures computed in Python from the records written. The
Redshift twin of each query, transpiled to DuckDB, must return the same rows.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.catalog import Catalog, load_catalog, project_root
from core.errors import CatalogError
from core.queries import QUERIES
from core.tables import lake_tables
from glue.redshift import external_schema_sql
from glue.settings import GlueSettings
from lakesql.cli import main
from lakesql.engine import connect, run_sql
from lakesql.queries import to_duckdb
from lakesql.settings import LakeSqlSettings
from tests.iceberg_lake import T0, write
from tests.query_expectations import assert_rows
from tests.sql_texts import sql_blocks

DOC = project_root() / "docs" / "athena-queries.md"


def _records() -> dict[str, list[dict[str, Any]]]:
    """Three vehicles over four hours across midnight, their weather, incidents and quarantined records."""
    rng = random.Random(14)
    start = T0.replace(hour=22)
    vehicles, weather = [], []
    for number in range(3):
        vehicle_id = f"car-{number}"
        for step in range(24):
            moment = start + timedelta(minutes=10 * step + number)
            # 0.0123 degrees a step keeps every position clear of the 0.005 rounding edge of a cell
            place = {"latitude": 51.3012 + 0.0123 * step, "longitude": -0.1012 - 0.0123 * number}
            vehicles.append(
                {"vehicle_id": vehicle_id, "event_time": moment, "location": place, "speed_kmh": rng.uniform(0, 120)}
            )
            if number < 2 and step % 2 == 0:
                weather.append(
                    {
                        "vehicle_id": vehicle_id,
                        "event_time": moment,
                        "location": place,
                        "temperature_c": rng.uniform(-5, 25),
                        "precipitation_mm": rng.uniform(0, 10),
                        "wind_speed_kmh": rng.uniform(0, 60),
                        "condition": rng.choice(["CLEAR", "RAIN", "SNOW", "FOG"]),
                    }
                )
    emergencies = []
    for number, kind in enumerate(["FIRE", "ACCIDENT", "MEDICAL", "FIRE"]):
        for step, status in enumerate(["REPORTED", "DISPATCHED", "RESOLVED"][: 1 + number % 3]):
            emergencies.append(
                {
                    "incident_id": f"i{number}",
                    "incident_type": kind,
                    "status": status,
                    "event_time": start + timedelta(minutes=7 * number + 30 * step),
                }
            )
    quarantined = [
        {"reason": reason, "ingested_at": start + timedelta(hours=hours), "kafka_offset": index}
        for index, (reason, hours) in enumerate([("unknown schema id 99", 0), ("bad magic byte 7", 1)] * 2 + [("x", 3)])
    ]
    return {"vehicle": vehicles, "weather": weather, "emergency": emergencies, "vehicle_quarantine": quarantined}


RECORDS = _records()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(project_root() / "schemas")


@pytest.fixture(scope="module")
def lake(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("documented") / "lake"
    tables = {t.name: t for t in lake_tables(catalog)}
    for name, rows in RECORDS.items():
        write(root, tables[name], rows)
    return root


def documented_queries() -> dict[str, str]:
    """The Athena blocks of the page, by the named query they equal."""
    by_text = {q.render("smartcity"): q.name for q in QUERIES}
    blocks = [b for b in sql_blocks(DOC) if b.dialect == "athena" and not b.example]
    unknown = [b.where for b in blocks if b.text not in by_text]
    assert not unknown, f"SQL blocks that are no named query (add them to core/queries.py): {unknown}"
    return {by_text[b.text]: b.text for b in blocks}


def test_the_page_shows_every_named_query_once() -> None:
    blocks = [b.text for b in sql_blocks(DOC) if b.dialect == "athena" and not b.example]
    assert sorted(documented_queries()) == sorted(q.name for q in QUERIES)
    assert len(blocks) == len(QUERIES)


@pytest.mark.parametrize("name", [q.name for q in QUERIES])
def test_each_documented_query_returns_what_the_records_say(name: str, catalog: Catalog, lake: Path) -> None:
    con = connect(catalog, LakeSqlSettings.from_env({}, lake=str(lake)))
    rows = run_sql(con, to_duckdb(documented_queries()[name])).rows
    assert rows, f"{name} returned nothing: the test lake must exercise it"
    assert_rows(name, rows, RECORDS)


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_the_redshift_twin_returns_the_same_rows(query: Any, catalog: Catalog, lake: Path) -> None:
    con = connect(catalog, LakeSqlSettings.from_env({}, lake=str(lake)))
    athena = run_sql(con, to_duckdb(query.render("smartcity"))).rows
    redshift = run_sql(con, to_duckdb(query.render("smartcity", "redshift"), "redshift")).rows
    assert redshift == athena


def test_the_redshift_sql_of_the_docs_is_what_render_writes() -> None:
    blocks = [b for path in sorted((project_root() / "docs").glob("*.md")) for b in sql_blocks(path)]
    redshift = [b for b in blocks if b.dialect == "redshift" and not b.example]
    example = GlueSettings(lake="s3a://acme-telemetry/lake", region="eu-west-1", account_id="123456789012")
    schemas = [b for b in redshift if b.text.startswith("CREATE EXTERNAL SCHEMA")]
    assert [b.text + "\n" for b in schemas] == [external_schema_sql(example)]
    queries = {q.render("smartcity", "redshift") for q in QUERIES}
    others = [b.where for b in redshift if b not in schemas and b.text not in queries]
    assert not others, f"Redshift SQL in the docs that is no named query's Redshift text: {others}"
    assert len(redshift) > len(schemas), "the docs show at least one Redshift query"


def test_the_checks_catch_a_wrong_result(catalog: Catalog, lake: Path) -> None:
    con = connect(catalog, LakeSqlSettings.from_env({}, lake=str(lake)))
    first_position = documented_queries()["last-position"].replace("max(event_time)", "min(event_time)")
    with pytest.raises(AssertionError, match="last-position"):
        assert_rows("last-position", run_sql(con, to_duckdb(first_position)).rows, RECORDS)


def test_athena_sql_that_duckdb_cannot_run_is_one_line() -> None:
    with pytest.raises(CatalogError, match=r"^cannot run this athena SQL locally: ") as caught:
        to_duckdb("SELECT round(avg(speed_kmh), 1 FROM smartcity.vehicle")
    assert "\n" not in str(caught.value)


def test_make_query_runs_a_named_query(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--lake", str(lake), "--name", "emergencies-by-type-status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Incidents by type and current status")
    assert "| FIRE          | REPORTED   |         2 |" in out
    assert "| MEDICAL       | RESOLVED   |         1 |" in out
    with pytest.raises(CatalogError, match="no built-in query named 'nope'; known: events-per-vehicle-hour"):
        main(["query", "--lake", str(lake), "--name", "nope"])

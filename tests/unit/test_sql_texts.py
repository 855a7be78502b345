"""Every SQL text the project renders or documents parses in its own dialect (sqlglot), so a slip fails CI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlglot import exp
from sqlglot.errors import SqlglotError

from core.catalog import Catalog, load_catalog, project_root
from core.queries import QUERIES
from core.tables import lake_tables
from glue.render import render
from glue.settings import GlueSettings
from glue.tables import table_definitions
from lakesql.engine import views_sql
from lakesql.settings import LakeSqlSettings
from lakesql.snapshots import ReadAt, snapshot_rows
from tests.iceberg_lake import T0, write
from tests.sql_texts import check_external_schema, parse_statements, sql_blocks

DOCS = sorted([*(project_root() / "docs").glob("*.md"), project_root() / "README.md"])
SETTINGS = dict(lake="s3a://acme-lake/telemetry/lake", account_id="123456789012")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(project_root() / "schemas")


@pytest.fixture(scope="module", params=["eu-west-1", None], ids=["region", "no-region"])
def rendered(request: pytest.FixtureRequest, catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"catalog-{request.param}")
    render(catalog, GlueSettings(**SETTINGS, region=request.param, build_dir=folder))
    return folder


def test_every_athena_ddl_file_parses_and_declares_the_generated_table(rendered: Path, catalog: Catalog) -> None:
    tables = {t.name: t for t in table_definitions(catalog, GlueSettings(lake=SETTINGS["lake"]))}
    for name, table in tables.items():
        (statement,) = parse_statements((rendered / "athena" / f"{name}.sql").read_text(), "athena")
        assert isinstance(statement, exp.Create) and statement.kind == "TABLE"
        assert statement.find(exp.Table).name == name  # type: ignore[union-attr]
        columns = [c.name for c in statement.this.expressions if isinstance(c, exp.ColumnDef)]
        assert columns == [c.name for c in table.columns]
        partitioned = statement.find(exp.PartitionedByProperty)
        assert partitioned is not None and not partitioned.find(exp.ColumnDef), "hidden partitioning: no column"
        assert isinstance(partitioned.this.expressions[0], exp.Day)
        assert partitioned.find(exp.Column).name == table.partition_source  # type: ignore[union-attr]
        location = statement.find(exp.LocationProperty)
        assert location is not None and location.this.name == table.location + "/"
        properties = {p.name: p.text("value") for p in statement.find_all(exp.Property) if p.name}
        assert properties["table_type"] == "ICEBERG"
        assert not statement.args.get("kind") == "EXTERNAL"
    statements = parse_statements((rendered / "athena" / "all.sql").read_text(), "athena")
    assert [s.kind for s in statements] == ["DATABASE", *("TABLE" for _ in tables)]


def test_every_rendered_query_parses_in_its_dialect(rendered: Path) -> None:
    for dialect in ("athena", "redshift"):
        files = sorted((rendered / dialect / "queries").glob("*.sql"))
        assert [f.stem for f in files] == sorted(q.name for q in QUERIES)
        for path in files:
            (statement,) = parse_statements(path.read_text(), dialect)
            assert isinstance(statement, exp.Query), path


def test_the_redshift_external_schema_names_the_database_region_and_role(rendered: Path) -> None:
    text = (rendered / "redshift" / "external-schema.sql").read_text()
    check_external_schema(text)
    assert "DATABASE 'smartcity'" in text
    assert "IAM_ROLE 'arn:aws:iam::123456789012:role/smartcity-redshift-spectrum'" in text
    if rendered.name.startswith("catalog-eu-west-1"):
        assert "\nREGION 'eu-west-1'\n" in text
    else:  # Redshift then uses its own region
        assert "REGION" not in text


@pytest.mark.parametrize(
    "broken",
    [
        "CREATE EXTERNAL SCHEMA smartcity FROM DATA CATALOG DATABASE 'smartcity' IAM_ROLE arn",
        "CREATE EXTERNAL SCHEMA smartcity FROM CATALOG DATABASE 'smartcity' IAM_ROLE 'arn:aws:iam::1:role/x'",
        "CREATE EXTERNAL SCHEMA smartcity FROM DATA CATALOG DATABASE 'smartcity' REGION 'mars' "
        "IAM_ROLE 'arn:aws:iam::123456789012:role/x'",
        "CREATE EXTERNAL SCHEMA smartcity FROM DATA CATALOG DATABASE 'smartcity IAM_ROLE 'x'",
    ],
)
def test_a_broken_external_schema_is_caught(broken: str) -> None:
    with pytest.raises((AssertionError, SqlglotError)):
        parse_statements(broken, "redshift")


def test_redshift_time_travel_is_checked_and_the_rest_parsed() -> None:
    (statement,) = parse_statements(
        "SELECT count(*) FROM smartcity.vehicle AS OF TIMESTAMP '2025-06-01 12:00:00' AS v "
        "JOIN smartcity.gps AS OF TIMESTAMP (getdate() - interval '1 hour') AS g ON g.vehicle_id = v.vehicle_id",
        "redshift",
    )
    assert [t.name for t in statement.find_all(exp.Table)] == ["vehicle", "gps"]


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("SELECT count(*) FROM smartcity.vehicle AS OF TIMESTAMP 'last tuesday'", "redshift"),
        ("SELECT count(*) FROM smartcity.vehicle AS OF TIMESTAMP (getdate( - 1)", "redshift"),
        ("SELECT count(*) FROM smartcity.vehicle AS OF TIMESTAMP getdate()", "redshift"),
        ("SELECT count(*) FROM smartcity.vehicle FOR TIMESTAMP OF TIMESTAMP '2025-06-01 00:00:00 UTC'", "athena"),
        ("SELECT round(avg(speed_kmh), 1 FROM smartcity.vehicle", "athena"),
        ("SELECT v.vehicle_id FROM smartcity.vehicle AS v WHERE", "redshift"),
        ("CREATE TABLE `t` (`a` string COMMENT 'x) PARTITIONED BY (day(`a`))", "athena"),
        ("VACUUM smartcity.vehicle TO 75 PERCENT", "duckdb"),  # not DuckDB: falls back to an unchecked Command
    ],
)
def test_a_syntax_error_or_an_unparsed_statement_fails(sql: str, dialect: str) -> None:
    with pytest.raises((AssertionError, SqlglotError)):
        parse_statements(sql, dialect)


def test_the_duckdb_views_parse_with_and_without_snapshots(catalog: Catalog, tmp_path: Path) -> None:
    lake = tmp_path / "lake with 'quote"
    settings = LakeSqlSettings.from_env({}, lake=str(lake))
    empty = views_sql(catalog, settings)
    write(lake, {t.name: t for t in lake_tables(catalog)}["vehicle"], [{"vehicle_id": "a", "event_time": T0}])
    with_snapshot = views_sql(catalog, settings)
    (snapshot,) = (s for s in snapshot_rows(settings.iceberg, "vehicle"))
    pinned = views_sql(catalog, settings, ReadAt(snapshot_id=int(str(snapshot[0]))))
    assert len(empty) == len(with_snapshot) == len(pinned) == 1 + len(lake_tables(catalog))
    for statement in [*empty, *with_snapshot, *pinned]:
        (parsed,) = parse_statements(statement, "duckdb")
        assert isinstance(parsed, exp.Create)
    assert "iceberg_scan" in with_snapshot[1] and "iceberg_scan" not in empty[1]
    assert f"snapshot_from_id = {snapshot[0]}" in pinned[1]


def test_every_sql_block_of_the_docs_names_its_dialect_and_parses() -> None:
    blocks = [b for path in DOCS for b in sql_blocks(path)]
    assert {b.dialect for b in blocks} >= {"athena", "redshift"}
    for block in blocks:
        try:
            parse_statements(block.text, block.dialect)
        except (AssertionError, SqlglotError) as exc:
            pytest.fail(f"{block.where}: {exc}")


def test_a_sql_block_without_a_dialect_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# x\n\n```sql\nSELECT 1\n```\n")
    with pytest.raises(AssertionError, match="names no dialect"):
        sql_blocks(page)
    page.write_text("# x\n\n```sql athena sample\nSELECT 1\n```\n")
    with pytest.raises(AssertionError, match="only 'example' may follow"):
        sql_blocks(page)


def test_the_docs_show_time_travel_in_athena_and_redshift() -> None:
    examples = [b for b in sql_blocks(project_root() / "docs" / "athena-queries.md") if b.example]
    athena = " ".join(b.text for b in examples if b.dialect == "athena")
    redshift = " ".join(b.text for b in examples if b.dialect == "redshift")
    assert "FOR TIMESTAMP AS OF" in athena and "FOR VERSION AS OF" in athena
    assert "AS OF TIMESTAMP" in redshift

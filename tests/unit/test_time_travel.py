"""Reading the lake as of a snapshot or a time, listing snapshots, and exact counts while files are rewritten."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.catalog import Catalog, load_catalog
from core.errors import CatalogError, ConfigError
from core.tables import entity_lake_table
from lakesql.cli import main
from lakesql.engine import connect, position_counts, run_sql
from lakesql.settings import LakeSqlSettings
from lakesql.snapshots import ReadAt, snapshot_rows
from tests.iceberg_lake import T0, append, arrow_rows, write

CATALOG = load_catalog()


def _pause() -> datetime:
    """A moment strictly between two commits (snapshot times are in milliseconds)."""
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[datetime], list[int]]:
    """Three vehicle batches of 1, 2 and 3 rows; the moments before each and the snapshot ids."""
    lake = tmp_path_factory.mktemp("travel") / "lake"
    vehicle = entity_lake_table(CATALOG.get("vehicle"))
    moments, ids = [], []
    for size in (1, 2, 3):
        moments.append(_pause())
        table = write(lake, vehicle, [{"vehicle_id": f"car-{size}", "event_time": T0}] * size)
        ids.append(table.metadata.current_snapshot_id)
    moments.append(_pause())
    return lake, moments, ids


def _count(catalog: Catalog, lake: Path, at: ReadAt | None, table: str = "vehicle") -> int:
    con = connect(catalog, LakeSqlSettings.from_env({}, lake=str(lake)), at)
    try:
        return int(run_sql(con, f"SELECT count(*) FROM {table}").rows[0][0])
    finally:
        con.close()


def test_a_snapshot_or_a_time_reads_the_table_as_it_was(history: tuple[Path, list[datetime], list[int]]) -> None:
    lake, moments, ids = history
    assert _count(CATALOG, lake, None) == 6
    assert [_count(CATALOG, lake, ReadAt(snapshot_id=i)) for i in ids] == [1, 3, 6]
    assert [_count(CATALOG, lake, ReadAt(as_of=m)) for m in moments[1:]] == [1, 3, 6]
    assert _count(CATALOG, lake, ReadAt(snapshot_id=ids[0]), "gps") == 0  # the other tables as they are now


def test_a_time_before_a_tables_first_snapshot_fails_in_one_line_when_read(
    history: tuple[Path, list[datetime], list[int]],
) -> None:
    lake, moments, _ = history
    early = ReadAt(as_of=moments[0])
    with pytest.raises(CatalogError, match=r"^query failed: .*table vehicle has no snapshot at or before ") as caught:
        _count(CATALOG, lake, early)
    assert "\n" not in str(caught.value)
    assert _count(CATALOG, lake, early, "gps") == 0  # a table that never had a snapshot is empty then as now


def test_a_snapshot_no_table_has_and_bad_times_are_one_line_errors(
    history: tuple[Path, list[datetime], list[int]],
) -> None:
    lake, _, ids = history
    with pytest.raises(CatalogError, match=r"^no table of the lake has snapshot 42; `python -m lakesql snapshots"):
        _count(CATALOG, lake, ReadAt(snapshot_id=42))
    with pytest.raises(ConfigError, match="--as-of takes a time like"):
        ReadAt.parse(None, "yesterday")
    with pytest.raises(ConfigError, match="is in the future"):
        ReadAt.parse(None, (datetime.now(UTC) + timedelta(hours=1)).isoformat())
    with pytest.raises(ConfigError, match="--snapshot takes a snapshot id"):
        ReadAt.parse("latest", None)
    assert ReadAt.parse(None, "2025-06-01 09:30:00+01:00") == ReadAt(as_of=T0 + timedelta(minutes=30))
    assert ReadAt.parse(str(ids[0]), None) == ReadAt(snapshot_id=ids[0])


def test_the_snapshots_of_a_table_are_listed_oldest_first(
    history: tuple[Path, list[datetime], list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    lake, moments, ids = history
    settings = LakeSqlSettings.from_env({}, lake=str(lake))
    rows = snapshot_rows(settings.iceberg, "vehicle")
    assert [(r[0], r[2], r[3], r[5], r[6]) for r in rows] == [
        (ids[0], "append", 1, 1, False),
        (ids[1], "append", 2, 3, False),
        (ids[2], "append", 3, 6, True),
    ]
    assert all(moments[i] < row[1] < moments[i + 1] for i, row in enumerate(rows))
    assert main(["snapshots", "vehicle", "--lake", str(lake)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("snapshots of smartcity.vehicle") and str(ids[2]) in out and "3 rows" in out
    assert (
        main(["query", "--lake", str(lake), "--sql", "SELECT count(*) AS n FROM vehicle", "--snapshot", str(ids[1])])
        == 0
    )
    assert "| 3 |" in capsys.readouterr().out
    with pytest.raises(CatalogError, match=r"no table smartcity\.gps yet"):
        main(["snapshots", "gps", "--lake", str(lake)])
    with pytest.raises(ConfigError, match="no table named 'nope'; known: vehicle, gps"):
        main(["snapshots", "nope", "--lake", str(lake)])


def test_a_reader_counts_every_row_once_while_the_files_are_rewritten(tmp_path: Path) -> None:
    """pyiceberg replaces every file of the table (an overwrite in one commit, as a rewrite does) again and
    again while DuckDB counts through fresh views: each count reads one snapshot, so it is always exact."""
    lake = tmp_path / "lake"
    vehicle = entity_lake_table(CATALOG.get("vehicle"))
    batches = [
        arrow_rows(vehicle, [{"vehicle_id": "car", "event_time": T0 + timedelta(hours=b), "kafka_offset": b * 50 + i}
                             for i in range(50)])
        for b in range(6)
    ]  # fmt: skip
    table = append(lake, vehicle, batches)
    settings = LakeSqlSettings.from_env({}, lake=str(lake))
    stop = threading.Event()
    rewrites: list[int] = []

    def rewrite() -> None:
        while not stop.is_set():
            table.refresh().overwrite(table.scan().to_arrow())
            rewrites.append(1)

    writer = threading.Thread(target=rewrite)
    writer.start()
    counts = []
    try:
        while len(rewrites) < 3 or len(counts) < 5:
            counts.append(position_counts(CATALOG, settings)["vehicle"])
    finally:
        stop.set()
        writer.join()
    assert set(counts) == {(300, 300)}  # every row, each once
    assert len(table.refresh().snapshots()) > 6 + 3  # the rewrites did commit while the reader counted

"""Compaction: which files it merges, into what, and that each row stays exactly once through a crash at any step."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from core.catalog import load_catalog
from core.errors import ConfigError, TelemetryError
from streaming import compact as compact_module
from streaming.compact import JOURNAL_DIR, compact_lake
from streaming.compact_plan import FileInfo, batch_of, due, make_plan, manifest_json, parse_manifest
from streaming.compact_settings import CompactSettings
from tests.batch_lake import files, journey, record_done, table_rows, write_day

CATALOG = load_catalog()
DAY = date(2025, 3, 1)
MB = 1024 * 1024


def _b(batch: int, size: int = 1000, schema: str = "s") -> FileInfo:
    return FileInfo(f"part-b{batch:012d}-00000.parquet", size, schema)


def test_batch_files_are_merged_in_order_into_groups_of_at_most_the_target() -> None:
    plan = make_plan("vehicle", "2025-03-01", [_b(n, 300) for n in range(7)], target=1000, last_commit=6)
    assert plan is not None
    assert [len(g.inputs) for g in plan.groups] == [3, 3]  # the seventh file alone is left as it is
    assert plan.inputs == tuple(_b(n).name for n in range(6))
    assert [g.output for g in plan.groups] == [f"part-c{plan.plan_id}-0000{n}.parquet" for n in (0, 1)]
    assert all(batch_of(g.output) is None for g in plan.groups)  # a replay's glob of part-b<N>- never matches


def test_batches_not_recorded_as_done_and_unknown_files_are_never_merged() -> None:
    listed = [_b(0), _b(1), _b(2), _b(3), FileInfo("part-00000.snappy.parquet", 10, "s")]
    plan = make_plan("vehicle", "2025-03-01", listed, target=MB, last_commit=1)
    assert plan is not None and plan.inputs == (_b(0).name, _b(1).name)
    assert make_plan("vehicle", "2025-03-01", listed, target=MB, last_commit=None) is None


def test_big_files_stay_and_schemas_are_not_mixed_and_earlier_outputs_merge_again() -> None:
    listed = [_b(0, 600), _b(1, 100, "old"), _b(2, 100, "new"), _b(3, 100, "new"),
              FileInfo("part-c0123456789abcdef-00000.parquet", 200, "new")]  # fmt: skip
    plan = make_plan("vehicle", "2025-03-01", listed, target=1000, last_commit=9)
    assert plan is not None
    assert [g.inputs for g in plan.groups] == [(_b(2).name, _b(3).name, "part-c0123456789abcdef-00000.parquet")]


def test_the_plan_id_depends_on_the_inputs_only_and_the_manifest_round_trips() -> None:
    one = make_plan("vehicle", "2025-03-01", [_b(0), _b(1)], target=MB, last_commit=1)
    again = make_plan("vehicle", "2025-03-01", [_b(1), _b(0)], target=MB, last_commit=5)
    other = make_plan("vehicle", "2025-03-01", [_b(0), _b(1), _b(2)], target=MB, last_commit=5)
    assert one is not None and again is not None and other is not None
    assert one == again and one.plan_id != other.plan_id
    assert parse_manifest(manifest_json(one), "m.json") == one
    with pytest.raises(TelemetryError, match=r"m\.json is unreadable"):
        parse_manifest("{}", "m.json")


def test_partitions_are_due_before_the_lateness_window() -> None:
    settings = CompactSettings.from_env({}, lake="/l", today=date(2025, 3, 10))
    assert settings.before == date(2025, 3, 9) and settings.target_bytes == 128 * MB
    assert due("2025-03-08", settings.before) and not due("2025-03-09", settings.before)
    assert not due("not-a-date", None)
    env = {"TELEMETRY_COMPACT_LATENESS_DAYS": "3", "TELEMETRY_COMPACT_TARGET_MB": "64"}
    assert CompactSettings.from_env(env, lake="/l", today=date(2025, 3, 10)).before == date(2025, 3, 7)
    assert CompactSettings.from_env(env, lake="/l", every_partition=True).before is None
    with pytest.raises(ConfigError, match="not both"):
        CompactSettings.from_env({}, lake="/l", before="2025-01-01", every_partition=True)
    with pytest.raises(ConfigError, match="between 1 and 4096"):
        CompactSettings.from_env({"TELEMETRY_COMPACT_TARGET_MB": "0"}, lake="/l")


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    rows = journey(CATALOG, vehicles=2, steps=30)
    write_day(tmp_path / "lake", tmp_path / "ck", CATALOG, rows, day=DAY, batches=40, per_batch=5)
    return tmp_path / "lake"


def _compact(lake: Path, **flags: Any) -> list[compact_module.TableReport]:
    settings = CompactSettings.from_env({}, lake=str(lake), target_mb=1, every_partition=True, **flags)
    return compact_lake(settings, CATALOG, say=lambda _: None)


def _snapshot(lake: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {name: table_rows(lake, name) for name in ("vehicle", "gps", "traffic", "weather", "emergency")}


def test_compaction_keeps_every_row_once_and_a_rerun_changes_nothing(lake: Path) -> None:
    before = _snapshot(lake)
    reports = _compact(lake)
    assert {r.table: (r.files_before, r.files_after) for r in reports if r.partitions} == {
        name: (40, 1) for name in before
    }
    assert _snapshot(lake) == before
    compacted = files(lake, "vehicle")
    assert _compact(lake)[0].partitions == 0 and files(lake, "vehicle") == compacted
    assert not (lake / JOURNAL_DIR).exists() or not any((lake / JOURNAL_DIR).rglob("*.*"))


def test_batches_the_checkpoint_has_not_recorded_stay_in_their_own_files(lake: Path, tmp_path: Path) -> None:
    record_done(lake, tmp_path / "ck", "vehicle", 29)  # batches 30..39: a replay may still rewrite them
    before = table_rows(lake, "vehicle")
    _compact(lake, tables="vehicle")
    left = files(lake, "vehicle")
    assert [f for f in left if "part-b" in f] == [f"dt={DAY}/part-b{n:012d}-00000.parquet" for n in range(30, 40)]
    assert len(left) == 11 and table_rows(lake, "vehicle") == before


class _Killed(BaseException):
    """A stand-in for SIGKILL: nothing after the failpoint runs (no except clause catches a BaseException here)."""


@pytest.mark.parametrize("point", ["compact-staged", "compact-journal", "compact-swap", "compact-swapped"])
def test_a_crash_at_any_step_then_a_rerun_leaves_each_row_once(
    lake: Path, point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = table_rows(lake, "vehicle")

    def crash(at: str, table: str, dt: int | str) -> None:
        if at == point:
            raise _Killed

    monkeypatch.setattr(compact_module, "failpoint", crash)
    with pytest.raises(_Killed):
        _compact(lake, tables="vehicle")
    assert list((lake / JOURNAL_DIR / "vehicle").glob("dt=*/*"))  # the crash left a journal behind
    monkeypatch.undo()
    reports = _compact(lake, tables="vehicle")
    assert reports[0].recovered == (0 if point == "compact-staged" else 1)
    assert table_rows(lake, "vehicle") == before
    assert len(files(lake, "vehicle")) == 1
    assert not list((lake / JOURNAL_DIR).rglob("*.parquet"))


def test_a_manifest_whose_output_is_gone_keeps_the_inputs_and_says_so(
    lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(at: str, table: str, dt: int | str) -> None:
        if at == "compact-journal":
            raise _Killed

    monkeypatch.setattr(compact_module, "failpoint", crash)
    with pytest.raises(_Killed):
        _compact(lake, tables="vehicle")
    monkeypatch.undo()
    for staged in (lake / JOURNAL_DIR).rglob("*.parquet"):
        staged.unlink()
    with pytest.raises(TelemetryError, match="neither staged nor in the table; its inputs were kept"):
        _compact(lake, tables="vehicle")
    assert len(files(lake, "vehicle")) == 40


def test_compacted_files_read_as_the_batch_files_did(lake: Path) -> None:
    schema_before = pq.read_schema(next((lake / "vehicle").glob("dt=*/*.parquet")))
    _compact(lake, tables="vehicle")
    schema_after = pq.read_schema(next((lake / "vehicle").glob("dt=*/*.parquet")))
    assert schema_after.remove_metadata() == schema_before.remove_metadata()


def test_an_unknown_table_is_refused(lake: Path) -> None:
    with pytest.raises(TelemetryError, match="no table named nope"):
        _compact(lake, tables="nope")

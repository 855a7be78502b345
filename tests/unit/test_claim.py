"""One checkpoint per table: the claims the job checks before it touches the lake (local file system, real Hadoop)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.errors import TelemetryError
from streaming.settings import StreamingSettings

TABLES = ["vehicle", "_quarantine/vehicle"]


@pytest.fixture(scope="module")
def fs() -> Any:
    from streaming.session import get_spark
    from streaming.sink import HadoopFs

    return HadoopFs(get_spark(StreamingSettings.from_env(), app_name="telemetry-tests"))


def _claim(fs: Any, tmp_path: Path, checkpoint: str) -> None:
    from streaming.claim import claim_tables

    claim_tables(
        fs, tmp_path.as_uri() + "/lake", "vehicle", f"{tmp_path.as_uri()}/{checkpoint}", "vehicle_data", TABLES
    )


def _started(tmp_path: Path, checkpoint: str) -> None:
    (tmp_path / checkpoint / "offsets").mkdir(parents=True)
    (tmp_path / checkpoint / "offsets" / "0").write_text("v1")


def _table_file(tmp_path: Path, name: str = "part-b000000000000-00000.parquet") -> None:
    folder = tmp_path / "lake" / "vehicle" / "dt=2025-01-06"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(b"PAR1")


@pytest.mark.slow
def test_the_first_checkpoint_claims_the_tables_and_runs_again(fs: Any, tmp_path: Path) -> None:
    _claim(fs, tmp_path, "checkpoints/vehicle")
    _started(tmp_path, "checkpoints/vehicle")
    _claim(fs, tmp_path, "checkpoints/vehicle")  # a restart with the same checkpoint
    assert (tmp_path / "lake" / "_staging" / "vehicle" / "_claim").exists()


@pytest.mark.slow
def test_a_new_checkpoint_on_a_claimed_lake_is_refused(fs: Any, tmp_path: Path) -> None:
    _claim(fs, tmp_path, "checkpoints/vehicle")
    with pytest.raises(TelemetryError, match=r"is new, but the lake .* already holds the vehicle table"):
        _claim(fs, tmp_path, "other/vehicle")


@pytest.mark.slow
def test_another_started_checkpoint_is_refused_as_another_job(fs: Any, tmp_path: Path) -> None:
    _claim(fs, tmp_path, "checkpoints/vehicle")
    _started(tmp_path, "other/vehicle")  # a checkpoint with offsets, but of another job
    (tmp_path / "other" / "vehicle" / "telemetry-claim-id").write_text("someone-else")
    with pytest.raises(TelemetryError, match=r"holds the vehicle table of another job .*checkpoints/vehicle"):
        _claim(fs, tmp_path, "other/vehicle")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["part-b000000000000-00000.parquet", "part-c0123456789abcdef-00000.parquet"])
def test_a_lake_of_an_earlier_version_is_adopted_by_its_checkpoint_and_refused_to_a_new_one(
    fs: Any, tmp_path: Path, name: str
) -> None:
    _table_file(tmp_path, name)  # files (batch files, or compacted ones), no claim: written before claims existed
    with pytest.raises(TelemetryError, match="is new, but the lake"):
        _claim(fs, tmp_path, "new/vehicle")
    assert not (tmp_path / "lake" / "_staging" / "vehicle" / "_claim").exists()
    _started(tmp_path, "checkpoints/vehicle")
    _claim(fs, tmp_path, "checkpoints/vehicle")
    assert (tmp_path / "lake" / "_staging" / "vehicle" / "_claim").exists()

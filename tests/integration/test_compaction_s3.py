"""Compaction of a lake on S3 (the stack's moto): a crash mid-swap, a rerun, and the same rows, each once."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import boto3
import pytest
from pyarrow import fs as pafs
from streaming.claim import CLAIM_FILE
from streaming.compact import compact_lake
from streaming.compact_settings import CompactSettings
from streaming.sink import STAGING_DIR

from core.catalog import load_catalog
from streaming import compact as compact_module
from tests.batch_lake import files, journey, table_rows, write_day

pytestmark = [pytest.mark.integration]

CATALOG = load_catalog()


class _Killed(BaseException):
    """A stand-in for SIGKILL (the faults suite kills the real command; this checks the S3 moves)."""


def _download(s3: pafs.S3FileSystem, bucket: str, into: Path) -> Path:
    into.mkdir()
    pafs.copy_files(f"{bucket}/lake", str(into), source_filesystem=s3, destination_filesystem=pafs.LocalFileSystem())
    return into


def test_compaction_on_s3_is_finished_by_a_rerun_after_a_crash_mid_swap(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "local"
    write_day(local / "lake", local / "ck", CATALOG, journey(CATALOG, vehicles=2, steps=20), day=date(2025, 3, 1),
              batches=30, per_batch=5)  # fmt: skip
    bucket = f"compact-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    s3 = pafs.S3FileSystem(endpoint_override=moto_endpoint.removeprefix("http://"), scheme="http", region="us-east-1")
    claim = local / "lake" / STAGING_DIR / "vehicle" / CLAIM_FILE
    claim.write_text(json.dumps({"id": "t", "checkpoint": f"s3a://{bucket}/ck/vehicle", "topic": "vehicle_data"}))
    for name in ("lake", "ck"):
        pafs.copy_files(str(local / name), f"{bucket}/{name}", source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=s3)  # fmt: skip
    before = table_rows(local / "lake", "vehicle")
    settings = CompactSettings.from_env({}, lake=f"s3://{bucket}/lake", target_mb=1, every_partition=True,
                                        tables="vehicle")  # fmt: skip

    def crash(at: str, table: str, dt: int | str) -> None:
        if at == "compact-swap":
            raise _Killed

    monkeypatch.setattr(compact_module, "failpoint", crash)
    with pytest.raises(_Killed):
        compact_lake(settings, CATALOG, say=lambda _: None)
    midway = _download(s3, bucket, tmp_path / "midway")
    assert len(files(midway, "vehicle")) == 31  # the output is in, its 30 inputs not yet deleted
    monkeypatch.undo()
    reports = compact_lake(settings, CATALOG, say=lambda _: None)
    assert reports[0].recovered == 1
    after = _download(s3, bucket, tmp_path / "after")
    assert len(files(after, "vehicle")) == 1
    assert table_rows(after, "vehicle") == before
    assert not list((after / "_compaction").rglob("*.*"))

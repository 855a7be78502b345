"""Table maintenance on a warehouse on S3 (the stack's moto): small files rewritten, every row kept once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from core.catalog import load_catalog
from core.iceberg_tables import ensure_tables, open_catalog
from core.tables import lake_tables
from streaming.commit import TableCommitter
from streaming.maintain import MaintenanceSettings, maintain
from streaming.session import configure
from streaming.settings import StreamingSettings
from streaming.show import read_table
from tests.integration.streaming_support import shared_spark

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATALOG = load_catalog()
BATCHES = 8


def _batch(spark: Any, batch: int) -> Any:
    """Three rows of the vehicle table, two days apart, as a batch of the job would append them."""
    from pyspark.sql import functions as F

    table = spark.table("lake.smartcity.vehicle")
    rows = spark.createDataFrame(
        [(f"{batch}-{n}", datetime(2025, 3, 1 + n % 2, 8, tzinfo=UTC), batch, n) for n in range(3)],
        "id string, event_time timestamp, kafka_partition int, kafka_offset long",
    )
    columns = [
        rows[f.name] if f.name in rows.columns else F.lit(None).cast(f.dataType).alias(f.name)
        for f in table.schema.fields
    ]
    return rows.select(*columns)


def test_maintenance_on_s3_rewrites_the_small_files_and_keeps_every_row_once(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = f"maintain-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    monkeypatch.setenv("TELEMETRY_CATALOG_DB", str(tmp_path / "iceberg.db"))
    settings = StreamingSettings.from_env(lake=f"s3a://{bucket}/lake")
    iceberg = settings.iceberg()
    assert iceberg.table_location("vehicle") == f"s3://{bucket}/lake/smartcity/vehicle"
    ensure_tables(iceberg, [t for t in lake_tables(CATALOG) if t.name == "vehicle"])
    spark = shared_spark()
    configure(spark, settings)
    client = open_catalog(iceberg)
    committer = TableCommitter(client, {"smartcity.vehicle": "lake.smartcity.vehicle"}, "query-s3")
    for batch in range(BATCHES):
        committer.append(_batch(spark, batch), "smartcity.vehicle", batch, [1])
    before = read_table(settings, "vehicle")
    files_before = len(client.load_table("smartcity.vehicle").inspect.files())
    assert before is not None and before.num_rows == 3 * BATCHES and files_before >= 2 * BATCHES

    reports = maintain(spark, MaintenanceSettings(iceberg), ["smartcity.vehicle"], say=lambda _: None)

    assert reports[0].files_rewritten == files_before and reports[0].files_added == 2  # a file per day
    after = read_table(settings, "vehicle")
    assert after is not None and sorted(after.column("id").to_pylist()) == sorted(before.column("id").to_pylist())
    assert len(client.load_table("smartcity.vehicle").inspect.files()) == 2
    assert spark.table("lake.smartcity.vehicle").count() == 3 * BATCHES
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=moto_endpoint).list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(k.startswith("lake/smartcity/vehicle/data/event_time_day=2025-03-02/") for k in keys)
    # The writer's newest snapshot is kept whatever the retention: a replay of its last batch must find it.
    assert committer.committed("smartcity.vehicle", BATCHES - 1)

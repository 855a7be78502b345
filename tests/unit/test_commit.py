"""A batch's Iceberg commits and what a replay finds; one writer per table (claims) on a local catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table.update import SetPropertiesUpdate

from core.catalog import load_catalog
from core.errors import TelemetryError
from core.iceberg_tables import ensure_tables, open_catalog
from core.tables import lake_tables
from streaming.checkpoint import CheckpointId
from streaming.commit import TableCommitter
from streaming.owner import WRITER_QUERY_ID, _AssertWriter, claim_tables
from streaming.settings import StreamingSettings

pytestmark = pytest.mark.slow

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def spark() -> Any:
    from streaming.session import get_spark

    # Left running: the other tests of the same pytest run reuse it (startup is slow on two cores).
    return get_spark(StreamingSettings.from_env(), app_name="telemetry-tests")


def _lake(spark: Any, folder: Path) -> StreamingSettings:
    from streaming.session import configure

    settings = StreamingSettings.from_env({"TELEMETRY_HOME": str(folder)}, lake=str(folder))
    ensure_tables(settings.iceberg(), [t for t in lake_tables(CATALOG) if t.stream.name == "vehicle"])
    configure(spark, settings)
    return settings


def _rows(spark: Any, ids: list[str], schema_id: int = 1) -> Any:
    frame = spark.table("lake.smartcity.vehicle").limit(0)
    from pyspark.sql import functions as F

    values = spark.createDataFrame([(i, schema_id) for i in ids], "id string, schema_id int")
    columns = [
        values[f.name] if f.name in values.columns else F.lit(None).cast(f.dataType).alias(f.name)
        for f in frame.schema.fields
    ]
    return values.select(*columns)


def test_a_replay_finds_the_batch_and_writer_ids_its_earlier_attempt_committed(spark: Any, tmp_path: Path) -> None:
    settings = _lake(spark, tmp_path / "my lake 100%20")  # a space and a percent sign stay as they are
    client = open_catalog(settings.iceberg())
    names = {"smartcity.vehicle": "lake.smartcity.vehicle"}
    mine = TableCommitter(client, names, "query-a")
    mine.append(_rows(spark, ["a", "b"]), "smartcity.vehicle", 0, [1])
    mine.append(_rows(spark, ["c"]), "smartcity.vehicle", 1, [1])
    mine.append(_rows(spark, ["d"], schema_id=2), "smartcity.vehicle", 1, [2])  # batch 1's second pass
    spark.sql(
        "CALL lake.system.rewrite_data_files(table => 'lake.smartcity.vehicle', options => map('min-input-files', '2'))"
    )

    assert mine.committed("smartcity.vehicle", 2).snapshots == ()
    replay = mine.committed("smartcity.vehicle", 1)
    assert len(replay.snapshots) == 2 and replay.schema_ids == {1, 2}
    assert mine.committed("smartcity.vehicle", 0).schema_ids == {1}
    # Another checkpoint's batch 1 is not a replay of ours.
    assert not TableCommitter(client, names, "query-b").committed("smartcity.vehicle", 1)
    assert sorted(r.id for r in spark.table("lake.smartcity.vehicle").collect()) == ["a", "b", "c", "d"]
    assert (tmp_path / "my lake 100%20" / "smartcity" / "vehicle" / "data").is_dir()


def test_one_checkpoint_writes_a_table_and_any_other_is_refused_before_writing(spark: Any, tmp_path: Path) -> None:
    settings = _lake(spark, tmp_path)
    client = open_catalog(settings.iceberg())
    tables = ["smartcity.vehicle", "smartcity.vehicle_quarantine"]
    first = CheckpointId(f"{tmp_path}/ck/vehicle", "query-a", new=True)
    claim_tables(client, tables, first, "vehicle_data", settings.lake)
    claim_tables(client, tables, CheckpointId(first.location, "query-a", new=False), "vehicle_data", settings.lake)
    assert client.load_table("smartcity.vehicle").properties[WRITER_QUERY_ID] == "query-a"

    reset = CheckpointId(first.location, "query-b", new=True)  # the checkpoint deleted and made again
    refused = (
        r"checkpoint .*/ck/vehicle is new, but the lake .* already holds the vehicle table \(written with checkpoint"
    )
    with pytest.raises(TelemetryError, match=refused):
        claim_tables(client, tables, reset, "vehicle_data", settings.lake)
    other = CheckpointId(f"{tmp_path}/other/vehicle", "query-c", new=False)
    taken = r"holds the vehicle table of another job \(checkpoint .*/ck/vehicle, topic vehicle_data\)"
    with pytest.raises(TelemetryError, match=taken):
        claim_tables(client, tables, other, "vehicle_data", settings.lake)
    assert client.load_table("smartcity.vehicle").properties[WRITER_QUERY_ID] == "query-a"


def test_a_claim_loses_a_race_instead_of_overwriting_the_winner(spark: Any, tmp_path: Path) -> None:
    settings = _lake(spark, tmp_path)
    client = open_catalog(settings.iceberg())
    seen = client.load_table("smartcity.vehicle")  # no writer yet, as both jobs saw it
    claim_tables(client, ["smartcity.vehicle"], CheckpointId("ck-a", "query-a", new=True), "t", settings.lake)
    with pytest.raises(CommitFailedException, match="writer changed to query-a"):
        claim = SetPropertiesUpdate(updates={WRITER_QUERY_ID: "query-b"})
        client.commit_table(seen, requirements=(_AssertWriter(query_id=None),), updates=(claim,))  # type: ignore[arg-type]
    assert client.load_table("smartcity.vehicle").properties[WRITER_QUERY_ID] == "query-a"


def test_a_batch_without_a_column_of_the_table_appends_it_as_null(spark: Any, tmp_path: Path) -> None:
    # A field removed from the schema (a compatible change) keeps its column, for old snapshots and old rows:
    # the new writer's batches have no such field, and their rows hold null there.
    settings = _lake(spark, tmp_path / "lake")
    client = open_catalog(settings.iceberg())
    committer = TableCommitter(client, {"smartcity.vehicle": "lake.smartcity.vehicle"}, "query-a")
    committer.append(_rows(spark, ["a"]).drop("year"), "smartcity.vehicle", 0, [1])
    rows = spark.table("lake.smartcity.vehicle").select("id", "year").collect()
    assert [(r["id"], r["year"]) for r in rows] == [("a", None)]

"""A lake of the earlier release: refused by the job, imported once into the Iceberg tables, its checkpoint kept."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.catalog import load_catalog
from core.errors import TelemetryError
from core.iceberg_tables import open_catalog
from streaming.checkpoint import HadoopFs
from streaming.commit import TableCommitter
from streaming.importer import import_lake
from streaming.legacy import refuse_unimported
from streaming.owner import WRITER_QUERY_ID
from streaming.settings import StreamingSettings
from streaming.show import read_table
from tests.batch_lake import journey, write_day

pytestmark = pytest.mark.slow

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def spark() -> Any:
    from streaming.session import get_spark

    return get_spark(StreamingSettings.from_env(), app_name="telemetry-tests")


def test_an_earlier_lake_is_refused_then_imported_exactly_once_and_its_checkpoint_carries_on(
    spark: Any, tmp_path: Path
) -> None:
    from streaming.session import configure

    lake, checkpoints = tmp_path / "lake", tmp_path / "ck"
    written = write_day(lake, checkpoints, CATALOG, journey(CATALOG, vehicles=2, steps=20), day=date(2025, 3, 1),
                        batches=6, per_batch=5, done=4)  # fmt: skip
    # The earlier job's checkpoint of the vehicle query: its id, and batch 5 begun but not recorded as done.
    (checkpoints / "vehicle" / "metadata").write_text(json.dumps({"id": "earlier-query"}) + "\n")
    (checkpoints / "vehicle" / "offsets").mkdir()
    (checkpoints / "vehicle" / "offsets" / "5").write_text("v1\n{}")
    settings = StreamingSettings.from_env({"TELEMETRY_HOME": str(tmp_path)}, lake=str(lake))
    configure(spark, settings)
    fs = HadoopFs(spark)
    refused = r"holds Parquet tables of an earlier release .*python -m streaming import-parquet"
    with pytest.raises(TelemetryError, match=refused):
        refuse_unimported(fs, settings.lake, CATALOG.names)

    lines = list(import_lake(settings, CATALOG, spark))
    assert lines[-1].startswith(f"imported {len(written)} table(s)")
    for name in CATALOG.names:
        data = read_table(settings, name)
        earlier = sum(pq.read_metadata(f).num_rows for f in (lake / name).glob("dt=*/*.parquet"))
        assert (data.num_rows if data is not None else 0) == earlier, name
    again = list(import_lake(settings, CATALOG, spark))  # a rerun imports nothing twice
    assert all("already imported" in line or "no rows" in line for line in again[:-1])
    assert read_table(settings, "vehicle").num_rows == written["vehicle"] > 0  # type: ignore[union-attr]
    refuse_unimported(fs, settings.lake, CATALOG.names)  # the job starts on the lake now

    # The earlier checkpoint writes the tables, and its batch 5 (in the lake, not recorded as done) is a replay.
    iceberg = settings.iceberg()
    client = open_catalog(iceberg)
    assert client.load_table("smartcity.vehicle").properties[WRITER_QUERY_ID] == "earlier-query"
    committer = TableCommitter(client, {}, "earlier-query")
    replay = committer.committed("smartcity.vehicle", 5)
    assert replay and replay.schema_ids is None  # the whole batch: the replay writes nothing again
    assert not committer.committed("smartcity.vehicle", 6)


def test_a_struct_whose_fields_an_earlier_file_holds_in_another_order_is_imported_by_name(
    spark: Any, tmp_path: Path
) -> None:
    from streaming.session import configure

    lake, checkpoints = tmp_path / "lake", tmp_path / "ck"
    write_day(lake, checkpoints, CATALOG, journey(CATALOG, vehicles=1, steps=10), day=date(2025, 3, 1), batches=1,
              per_batch=5)  # fmt: skip
    (written,) = (lake / "vehicle").glob("dt=*/*.parquet")
    rows = pq.read_table(written)
    location = rows.column("location").combine_chunks()
    swapped = pa.StructArray.from_arrays(
        [location.field("longitude"), location.field("latitude")], names=["longitude", "latitude"]
    )
    rows = rows.set_column(rows.schema.get_field_index("location"), "location", swapped)
    pq.write_table(rows, written)
    settings = StreamingSettings.from_env({"TELEMETRY_HOME": str(tmp_path)}, lake=str(lake))
    configure(spark, settings)

    list(import_lake(settings, CATALOG, spark))
    imported = read_table(settings, "vehicle")
    assert imported is not None
    expected = {r["id"]: (r["location"]["latitude"], r["location"]["longitude"]) for r in rows.to_pylist()}
    got = {r["id"]: (r["location"]["latitude"], r["location"]["longitude"]) for r in imported.to_pylist()}
    assert got == expected and len(got) == 5

"""Partitions for engines without projection: the days of a range, and each day's Glue PartitionInput."""

from __future__ import annotations

from datetime import date

import pytest

from core.catalog import load_catalog
from core.errors import CatalogError
from glue.partitions import days_between, partition_input
from glue.settings import GlueSettings
from glue.tables import entity_table, quarantine_table, table_input


def test_days_cover_the_range_inclusive_and_a_reversed_or_huge_range_is_refused() -> None:
    assert days_between(date(2025, 2, 27), date(2025, 3, 1)) == ["2025-02-27", "2025-02-28", "2025-03-01"]
    assert days_between(date(2025, 6, 1), date(2025, 6, 1)) == ["2025-06-01"]
    with pytest.raises(CatalogError, match="first day first"):
        days_between(date(2025, 6, 2), date(2025, 6, 1))
    with pytest.raises(CatalogError, match="1 to 3660 days"):
        days_between(date(2000, 1, 1), date(2025, 1, 1))


def test_a_partition_has_the_tables_storage_in_the_days_folder() -> None:
    settings = GlueSettings(lake="s3a://acme/lake")
    stream = load_catalog().get("gps")
    for table in (entity_table(stream, settings, version=1), quarantine_table(stream, settings)):
        partition = partition_input(table, "2025-06-01")
        assert partition["Values"] == ["2025-06-01"]
        descriptor = partition["StorageDescriptor"]
        assert descriptor["Location"] == f"{table.location}dt=2025-06-01/"
        assert {k: v for k, v in descriptor.items() if k != "Location"} == {
            k: v for k, v in table_input(table)["StorageDescriptor"].items() if k != "Location"
        }
    assert partition_input(quarantine_table(stream, settings), "2025-06-01")["StorageDescriptor"]["Location"] == (
        "s3://acme/lake/_quarantine/gps/dt=2025-06-01/"
    )

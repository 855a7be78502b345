"""The plan's diff of wanted against live Glue tables says exactly what an update would change."""

from __future__ import annotations

import copy
from typing import Any

from core.catalog import load_catalog
from glue.plan import DEPRECATED, Change, describe, diff_table, keep_removed_columns, merged_input
from glue.settings import GlueSettings
from glue.tables import entity_table, table_input

SETTINGS = GlueSettings(lake="s3://acme-lake/lake")


def wanted() -> dict[str, Any]:
    return table_input(entity_table(load_catalog().get("gps"), SETTINGS, version=1))


def live_copy(payload: dict[str, Any]) -> dict[str, Any]:
    """What GetTable returns for a table created from ``payload`` (plus fields Glue adds)."""
    live = copy.deepcopy(payload)
    live.update({"DatabaseName": "smartcity", "CreateTime": "2025-01-01", "VersionId": "1"})
    live["StorageDescriptor"]["NumberOfBuckets"] = -1
    return live


def test_an_identical_table_has_no_changes() -> None:
    assert diff_table(wanted(), live_copy(wanted())) == ()


def test_added_changed_and_dropped_columns_are_named() -> None:
    want = wanted()
    live = live_copy(want)
    columns = live["StorageDescriptor"]["Columns"]
    columns[:] = [c for c in columns if c["Name"] != "altitude_m"]
    next(c for c in columns if c["Name"] == "satellites")["Type"] = "bigint"
    columns.append({"Name": "legacy", "Type": "string"})
    assert diff_table(want, live) == (
        "change column satellites: bigint -> int",
        "add column altitude_m double",
        "drop column legacy string",
    )


def test_parameter_and_location_drift_is_reported() -> None:
    want = wanted()
    live = live_copy(want)
    live["Parameters"]["telemetry.schema_version"] = "0"
    live["StorageDescriptor"]["Location"] = "s3://elsewhere/gps/"
    assert diff_table(want, live) == (
        "location: 's3://elsewhere/gps/' -> 's3://acme-lake/lake/gps/'",
        "parameter telemetry.schema_version: '0' -> '1'",
    )


def test_foreign_parameters_are_neither_drift_nor_dropped_but_stale_owned_ones_go() -> None:
    want = wanted()
    live = live_copy(want)
    live["Parameters"]["owner_team"] = "mobility"
    live["Parameters"]["telemetry.obsolete"] = "x"
    assert diff_table(want, live) == ("remove stale parameter telemetry.obsolete",)
    merged = merged_input(want, live)
    assert merged["Parameters"]["owner_team"] == "mobility"
    assert "telemetry.obsolete" not in merged["Parameters"]


def test_describe_lines() -> None:
    assert describe(Change("create database", "smartcity"), "smartcity") == ["+ create database smartcity"]
    created = describe(Change("create table", "gps", payload=wanted()), "smartcity")
    assert created == ["+ create table smartcity.gps (15 columns, partitioned by dt)"]
    updated = describe(Change("update table", "gps", ("add column x int",)), "smartcity")
    assert updated == ["~ update table smartcity.gps", "    add column x int"]


def test_a_removed_field_keeps_its_column_marked_deprecated_and_a_second_plan_is_empty() -> None:
    want = wanted()
    live = live_copy(want)
    live["StorageDescriptor"]["Columns"].insert(3, {"Name": "legacy", "Type": "string", "Comment": "Old field."})
    kept = keep_removed_columns(want, live)
    assert diff_table(kept, live) == (
        "deprecate column legacy string (removed from the schema; kept so older rows stay queryable)",
    )
    columns = kept["StorageDescriptor"]["Columns"]
    assert columns[: len(want["StorageDescriptor"]["Columns"])] == want["StorageDescriptor"]["Columns"]
    assert columns[-1] == {"Name": "legacy", "Type": "string", "Comment": f"{DEPRECATED} Old field."}
    applied = live_copy(merged_input(kept, live))
    assert diff_table(keep_removed_columns(want, applied), applied) == ()


def test_a_deprecated_comment_stays_within_glue_limits_and_a_returning_field_drops_the_mark() -> None:
    want = wanted()
    live = live_copy(want)
    live["StorageDescriptor"]["Columns"].append({"Name": "legacy", "Type": "string", "Comment": "x" * 300})
    comment = keep_removed_columns(want, live)["StorageDescriptor"]["Columns"][-1]["Comment"]
    assert len(comment) == 255 and comment.startswith(DEPRECATED)
    marked = live_copy(want)
    altitude = next(c for c in marked["StorageDescriptor"]["Columns"] if c["Name"] == "altitude_m")
    altitude["Comment"] = f"{DEPRECATED} {altitude['Comment']}"
    assert diff_table(keep_removed_columns(want, marked), marked) == ("change comment of column altitude_m",)

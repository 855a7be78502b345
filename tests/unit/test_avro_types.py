"""The Avro -> Glue and Avro -> DuckDB type mappings: every Avro type, every logical type, the refusals."""

from __future__ import annotations

from typing import Any

import pytest

from core.avro_lake import record_columns, resolve_type
from core.catalog import load_catalog
from core.errors import CatalogError
from core.lake import METADATA_FIELDS, QUARANTINE_FIELDS
from glue.glue_types import glue_type
from lakesql.duckdb_types import duckdb_type


def logical(base: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"type": base, "logicalType": name, **extra}


CASES: list[tuple[str, Any, str, str]] = [
    ("boolean", "boolean", "boolean", "BOOLEAN"),
    ("int", "int", "int", "INTEGER"),
    ("long", "long", "bigint", "BIGINT"),
    ("float", "float", "float", "FLOAT"),
    ("double", "double", "double", "DOUBLE"),
    ("string", "string", "string", "VARCHAR"),
    ("bytes", "bytes", "binary", "BLOB"),
    ("wrapped primitive", {"type": "long"}, "bigint", "BIGINT"),
    ("fixed", {"type": "fixed", "name": "Hash", "size": 32}, "binary", "BLOB"),
    ("enum", {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN"]}, "string", "VARCHAR"),
    ("date", logical("int", "date"), "date", "DATE"),
    ("time-millis", logical("int", "time-millis"), "int", "INTEGER"),
    ("time-micros", logical("long", "time-micros"), "bigint", "BIGINT"),
    ("timestamp-millis", logical("long", "timestamp-millis"), "timestamp", "TIMESTAMP WITH TIME ZONE"),
    ("timestamp-micros", logical("long", "timestamp-micros"), "timestamp", "TIMESTAMP WITH TIME ZONE"),
    ("local-timestamp-millis", logical("long", "local-timestamp-millis"), "timestamp", "TIMESTAMP"),
    ("local-timestamp-micros", logical("long", "local-timestamp-micros"), "timestamp", "TIMESTAMP"),
    ("decimal on bytes", logical("bytes", "decimal", precision=10, scale=2), "decimal(10,2)", "DECIMAL(10,2)"),
    ("decimal default scale", logical("bytes", "decimal", precision=5), "decimal(5,0)", "DECIMAL(5,0)"),
    (
        "decimal on fixed",
        {"type": "fixed", "name": "Money", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 4},
        "decimal(18,4)",
        "DECIMAL(18,4)",
    ),
    ("uuid on string", logical("string", "uuid"), "string", "VARCHAR"),
    ("uuid on fixed", {"type": "fixed", "name": "Uuid", "size": 16, "logicalType": "uuid"}, "binary", "BLOB"),
    ("array", {"type": "array", "items": "int"}, "array<int>", "INTEGER[]"),
    ("map", {"type": "map", "values": "double"}, "map<string,double>", "MAP(VARCHAR, DOUBLE)"),
    (
        "record",
        {"type": "record", "name": "Point", "fields": [{"name": "x", "type": "double"}, {"name": "y", "type": "long"}]},
        "struct<x:double,y:bigint>",
        'STRUCT("x" DOUBLE, "y" BIGINT)',
    ),
    (
        "nesting",
        {
            "type": "map",
            "values": {
                "type": "array",
                "items": {"type": "record", "name": "P", "fields": [{"name": "at", "type": logical("int", "date")}]},
            },
        },
        "map<string,array<struct<at:date>>>",
        'MAP(VARCHAR, STRUCT("at" DATE)[])',
    ),
]


@pytest.mark.parametrize(("label", "avro", "glue", "duck"), CASES, ids=[c[0] for c in CASES])
def test_every_avro_type_maps_to_glue_and_duckdb(label: str, avro: Any, glue: str, duck: str) -> None:
    lake_type, nullable = resolve_type(avro)
    assert (glue_type(lake_type), duckdb_type(lake_type), nullable) == (glue, duck, False)


@pytest.mark.parametrize("union", [["null", "long"], ["long", "null"], [{"type": "long"}, "null"]])
def test_an_optional_type_is_the_type_itself_and_nullable(union: list[Any]) -> None:
    lake_type, nullable = resolve_type(union)
    assert (glue_type(lake_type), nullable) == ("bigint", True)


def test_optional_inside_collections_keeps_the_element_type() -> None:
    lake_type, _ = resolve_type({"type": "array", "items": ["null", logical("long", "timestamp-millis")]})
    assert glue_type(lake_type) == "array<timestamp>"


def test_a_named_type_can_be_referenced_again_by_short_or_full_name() -> None:
    schema = {
        "type": "record",
        "name": "Trip",
        "namespace": "com.example",
        "fields": [
            {"name": "start", "type": {"type": "record", "name": "Point", "fields": [{"name": "x", "type": "int"}]}},
            {"name": "end", "type": "Point"},
            {"name": "via", "type": ["null", "com.example.Point"]},
        ],
    }
    columns = record_columns(schema)
    assert [(c.name, glue_type(c.type), c.nullable) for c in columns] == [
        ("start", "struct<x:int>", False),
        ("end", "struct<x:int>", False),
        ("via", "struct<x:int>", True),
    ]


def test_docs_become_column_docs() -> None:
    columns = record_columns({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", "doc": "An a."}]})
    assert columns[0].doc == "An a."


@pytest.mark.parametrize(
    ("avro", "fragment"),
    [
        (["int", "string"], "union of 2 non-null types"),
        (["null", "int", "long"], "union of 2 non-null types"),
        ("null", "type null"),
        (logical("long", "timestamp-nanos"), "timestamp-nanos"),
        (logical("long", "local-timestamp-nanos"), "local-timestamp-nanos"),
        ({"type": "fixed", "name": "D", "size": 12, "logicalType": "duration"}, "duration"),
        (logical("long", "timestamp-milis"), "'timestamp-milis'"),
        (logical("string", "date"), "'date' on string"),
        (logical("bytes", "decimal", precision=2, scale=5), "decimal(2,5)"),
        (logical("bytes", "decimal", precision=39, scale=0), "decimal(39,0)"),
        (logical("bytes", "decimal"), "precision"),
        ({"type": "fixed", "name": "U", "size": 8, "logicalType": "uuid"}, "size 16"),
    ],
)
def test_types_without_a_safe_mapping_are_errors_naming_the_field(avro: Any, fragment: str) -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "outer", "type": {"type": "record", "name": "In", "fields": [{"name": "x", "type": avro}]}}
        ],
    }
    with pytest.raises(CatalogError) as caught:
        record_columns(schema)
    assert "field outer.x:" in str(caught.value)
    assert fragment in str(caught.value)


def test_an_unknown_named_type_is_refused_by_the_parser() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": "com.example.Nowhere"}]}
    with pytest.raises(CatalogError, match=r"not a valid Avro schema: .*com\.example\.Nowhere"):
        record_columns(schema)


def test_error_paths_name_array_elements_and_map_values() -> None:
    with pytest.raises(CatalogError, match=r"field tags\[\]\{\}"):
        record_columns(
            {
                "type": "record",
                "name": "R",
                "fields": [
                    {"name": "tags", "type": {"type": "array", "items": {"type": "map", "values": ["int", "string"]}}}
                ],
            }
        )


def test_a_recursive_record_is_refused() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [{"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"]}],
    }
    with pytest.raises(CatalogError, match="field next: record Node refers to itself"):
        record_columns(node)


def test_names_differing_only_in_case_are_refused() -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [{"name": "Speed", "type": "int"}, {"name": "speed", "type": "int"}],
    }
    with pytest.raises(CatalogError, match="field speed: clashes with 'Speed'"):
        record_columns(schema)


def test_every_project_schema_and_the_lake_columns_map() -> None:
    for stream in load_catalog().streams:
        columns = record_columns(stream.schema, METADATA_FIELDS)
        assert [c.name for c in columns] == [*stream.field_names, *(f["name"] for f in METADATA_FIELDS)]
    quarantine = record_columns({"type": "record", "name": "Q", "fields": list(QUARANTINE_FIELDS)})
    assert {c.name: glue_type(c.type) for c in quarantine}["raw_value"] == "binary"

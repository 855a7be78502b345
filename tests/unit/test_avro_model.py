"""One schema model for every stage: a named type reused across namespaces reads the same everywhere.

The schema below has two records called ``Point``: ``com.a.Point`` (defined in ``start``, used again
by short name in ``end`` and ``via`` and by full name from inside ``com.b``) and ``com.b.Point``
(defined in ``place.point``, used by short name inside ``com.b`` and by full name from ``com.a``).
Governance, compatibility, the catalog's types, the producer's serializer and the decoder's
required fields must all tell them apart the same way.
"""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest

from core.avro_lake import record_columns
from core.avro_model import Enum, Primitive, Record, Union, non_null, parse_schema, to_json
from core.errors import SchemaError, SerializationError
from core.evolution import key_gaps
from glue.glue_types import glue_type
from governance.compat import check_versions, parse
from governance.lint import errors, lint_schemas
from lakesql.duckdb_types import duckdb_type
from producer.serializer import WireSerializer, find_mismatch
from streaming.reasons import required_fields


def _field(name: str, kind: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "doc": f"The {name}.", **extra}


A_POINT = {
    "type": "record",
    "name": "Point",
    "doc": "A point on the map.",
    "fields": [_field("x", "double"), _field("y", "double")],
}
B_POINT = {"type": "record", "name": "Point", "doc": "A labelled point.", "fields": [_field("label", "string")]}
PLACE = {
    "type": "record",
    "name": "Place",
    "namespace": "com.b",
    "doc": "A place with two labelled points.",
    "fields": [_field("point", B_POINT), _field("again", "Point"), _field("origin", "com.a.Point")],
}
TRIP = {
    "type": "record",
    "name": "Trip",
    "namespace": "com.a",
    "doc": "A trip.",
    "fields": [
        _field("id", "string"),
        _field("vehicle_id", "string"),
        _field("event_time", {"type": "long", "logicalType": "timestamp-millis"}),
        _field("start", A_POINT),
        _field("end", "Point"),
        _field("place", PLACE),
        _field("marker", ["null", "com.b.Point"], default=None),
        _field("via", ["null", "Point"], default=None),
    ],
}
A_PATHS = ("start", "end", "place.origin", "via")
B_PATHS = ("place.point", "place.again", "marker")
RECORD = {
    "id": "t1",
    "vehicle_id": "v1",
    "event_time": datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
    "start": {"x": 1.0, "y": 2.0},
    "end": {"x": 3.0, "y": 4.0},
    "place": {"point": {"label": "p"}, "again": {"label": "q"}, "origin": {"x": 5.0, "y": 6.0}},
    "marker": {"label": "m"},
    "via": None,
}


def _at(record: Record, path: str) -> Any:
    node: Any = record
    for name in path.split("."):
        node = non_null(node.field(name).type)[0]
    return node


def test_a_reused_named_type_is_one_node_and_same_short_names_in_two_namespaces_are_two() -> None:
    trip = parse_schema(TRIP).record
    a_point, b_point = _at(trip, "start"), _at(trip, "place.point")
    assert (a_point.fullname, b_point.fullname) == ("com.a.Point", "com.b.Point")
    assert all(_at(trip, p) is a_point for p in A_PATHS)
    assert all(_at(trip, p) is b_point for p in B_PATHS)
    assert list(parse_schema(TRIP).named) == ["com.a.Trip", "com.a.Point", "com.b.Place", "com.b.Point"]


def test_the_model_keeps_docs_defaults_logical_types_and_custom_properties() -> None:
    schema = {**TRIP, "rules": [{"name": "r", "expr": "true", "doc": "d"}]}
    trip = parse_schema(schema).record
    assert trip.props["rules"] == schema["rules"]
    assert (trip.field("marker").has_default, trip.field("marker").default) == (True, None)
    assert trip.field("start").has_default is False
    time = trip.field("event_time").type
    assert isinstance(time, Primitive)
    assert (time.type, time.logical_type) == ("long", "timestamp-millis")
    fuel = parse_schema({"type": "enum", "name": "Fuel", "symbols": ["A", "UNKNOWN"], "default": "UNKNOWN"}).root
    assert isinstance(fuel, Enum)
    assert (fuel.symbols, fuel.default) == (("A", "UNKNOWN"), "UNKNOWN")


def test_to_json_writes_each_named_type_once_and_fastavro_reads_it_back() -> None:
    written = to_json(parse_schema(TRIP).root)
    assert json.dumps(written).count('"name": "com.a.Point"') == 1
    assert json.dumps(written).count('"name": "com.b.Point"') == 1
    assert fastavro.validate(RECORD, written)
    assert to_json(_at(parse_schema(TRIP).record, "place"), nested_by_name=True)["fields"][0]["type"] == "com.b.Point"


def test_a_schema_that_is_not_avro_is_one_schema_error() -> None:
    with pytest.raises(SchemaError, match=r"trip\.avsc is not a valid Avro schema"):
        parse_schema({**TRIP, "fields": [_field("x", "com.c.Point")]}, what="trip.avsc")


def test_governance_lint_tells_the_points_apart_and_checks_each_where_it_is_defined() -> None:
    namespace = [("com.b.Place", "namespace"), ("com.b.Point", "namespace")]  # the one-namespace rule, not a clash
    assert [(v.path, v.rule) for v in errors(lint_schemas({"trip.avsc": TRIP}))] == namespace
    undocumented = copy.deepcopy(TRIP)
    del undocumented["fields"][5]["type"]["fields"][0]["type"]["doc"]  # com.b.Point, where it is defined
    found = errors(lint_schemas({"trip.avsc": undocumented}))
    assert [(v.path, v.rule) for v in found] == [("place.point", "doc-missing"), *namespace]


def test_compat_reports_a_change_of_one_point_where_that_point_is_used_only() -> None:
    changed = copy.deepcopy(TRIP)
    changed["fields"][3]["type"]["fields"][0]["type"] = "float"  # com.a.Point.x: double -> float
    assert check_versions(parse(TRIP), [("v1", parse(TRIP))], "FULL_TRANSITIVE") == []
    problems = check_versions(parse(changed), [("v1", parse(TRIP))], "BACKWARD")
    assert "start.x" in {p.path for p in problems}
    assert all(p.path.split(".")[0] in {"start", "end", "via"} for p in problems), problems
    assert {p.rule for p in problems} == {"incompatible"}


def test_the_catalog_types_both_points_by_their_own_definition() -> None:
    columns = {c.name: c for c in record_columns(TRIP)}
    place = {f.name: f for f in columns["place"].type.fields}  # type: ignore[union-attr]
    a_types = [columns["start"].type, columns["end"].type, place["origin"].type, columns["via"].type]
    b_types = [place["point"].type, place["again"].type, columns["marker"].type]
    assert {glue_type(t) for t in a_types} == {"struct<x:double,y:double>"}
    assert {duckdb_type(t) for t in a_types} == {'STRUCT("x" DOUBLE, "y" DOUBLE)'}
    assert {glue_type(t) for t in b_types} == {"struct<label:string>"}
    assert {duckdb_type(t) for t in b_types} == {'STRUCT("label" VARCHAR)'}
    assert (columns["marker"].nullable, columns["via"].nullable, columns["end"].nullable) == (True, True, False)


def test_the_serializer_round_trips_the_record_and_names_the_right_point() -> None:
    serializer = WireSerializer("trip-value", 7, TRIP)
    message = serializer.serialize(RECORD)
    assert fastavro.schemaless_reader(io.BytesIO(message[5:]), serializer.parsed) == RECORD
    assert find_mismatch(RECORD, TRIP) is None
    with pytest.raises(SerializationError, match=r"at field marker: \{'label': 1\.5\} \(dict\) is not null or record"):
        serializer.serialize({**RECORD, "marker": {"label": 1.5}})
    assert (
        find_mismatch({**RECORD, "marker": {"x": 1.0, "y": 2.0}}, TRIP) is not None
    )  # a com.a.Point is no com.b.Point
    assert find_mismatch({**RECORD, "via": {"x": 1.0, "y": 2.0}}, TRIP) is None
    wrong_origin = {**RECORD, "place": {**RECORD["place"], "origin": {"label": "x"}}}
    assert find_mismatch(wrong_origin, TRIP) == "place.origin.label: not a field of the schema"


def test_the_decoder_and_the_key_rules_agree_on_what_is_required() -> None:
    assert required_fields(json.dumps(TRIP)) == ("id", "vehicle_id", "event_time", "start", "end", "place")
    assert key_gaps(parse_schema(TRIP).record) == {}
    optional_time = copy.deepcopy(TRIP)
    optional_time["fields"][2]["type"] = ["null", optional_time["fields"][2]["type"]]
    assert key_gaps(parse_schema(optional_time).record) == {"event_time": "optional"}
    assert isinstance(parse_schema(optional_time).record.field("event_time").type, Union)  # type: ignore[union-attr]

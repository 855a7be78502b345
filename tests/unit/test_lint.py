"""Lint rules on the real schemas and on deliberately broken copies of them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.catalog import project_root
from governance.lint import errors, lint_dir, lint_schemas

SCHEMAS = project_root() / "schemas"


def _load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def test_the_project_schemas_follow_every_rule() -> None:
    found = lint_dir(SCHEMAS)
    assert errors(found) == [], "\n".join(map(str, found))


def _no_field_doc(s: dict[str, Any]) -> None:
    del _field(s, "speed_kmh")["doc"]


def _no_type_doc(s: dict[str, Any]) -> None:
    del _field(s, "location")["type"]["doc"]


def _enum_without_default(s: dict[str, Any]) -> None:
    del _field(s, "fuel_type")["type"]["default"]


def _optional_without_default(s: dict[str, Any]) -> None:
    s["fields"].append({"name": "plate", "type": ["null", "string"], "doc": "Number plate."})


def _optional_null_last(s: dict[str, Any]) -> None:
    s["fields"].append({"name": "plate", "type": ["string", "null"], "default": "none", "doc": "Number plate."})


def _camel_field(s: dict[str, Any]) -> None:
    _field(s, "make")["name"] = "makeName"  # a field no data rule reads: the rename breaks only the name rule


def _lower_type(s: dict[str, Any]) -> None:
    _field(s, "fuel_type")["type"]["name"] = "fuel_type_enum"


def _lower_symbol(s: dict[str, Any]) -> None:
    _field(s, "fuel_type")["type"]["symbols"].append("hydrogen")


def _two_type_union(s: dict[str, Any]) -> None:
    s["fields"].append({"name": "reading", "type": ["null", "string", "double"], "default": None, "doc": "A reading."})


def _recursive(s: dict[str, Any]) -> None:
    loc = _field(s, "location")["type"]
    loc["fields"].append({"name": "previous", "type": ["null", "Location"], "default": None, "doc": "Earlier fix."})


def _lake_column(s: dict[str, Any]) -> None:
    s["fields"].append({"name": "dt", "type": "string", "doc": "A date."})


def _case_clash(s: dict[str, Any]) -> None:
    s["fields"].append({"name": "Make", "type": "string", "doc": "Again."})


def _time_not_timestamp(s: dict[str, Any]) -> None:
    s["fields"].append({"name": "parked_at", "type": "long", "doc": "When it parked."})


def _local_timestamp(s: dict[str, Any]) -> None:
    # A field no data rule reads: the time rules on event_time would also (rightly) fail on a local time.
    local = {"type": "long", "logicalType": "local-timestamp-millis"}
    s["fields"].append({"name": "parked_at", "type": local, "doc": "When it parked."})


def _logical_on_wrong_base(s: dict[str, Any]) -> None:
    _field(s, "make")["type"] = {"type": "string", "logicalType": "date"}


def _null_field(s: dict[str, Any]) -> None:
    s["fields"].append({"name": "nothing", "type": "null", "doc": "Nothing."})


def _no_vehicle_id(s: dict[str, Any]) -> None:
    s["fields"] = [f for f in s["fields"] if f["name"] != "vehicle_id"]


def _optional_id(s: dict[str, Any]) -> None:
    _field(s, "id").update({"type": ["null", "string"], "default": None})


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    # (case, change to vehicle.avsc, field path reported, rule)
    ("field without doc", _no_field_doc, "speed_kmh", "doc-missing"),
    ("named type without doc", _no_type_doc, "location", "doc-missing"),
    ("enum without default", _enum_without_default, "fuel_type", "enum-default"),
    ("optional without null default", _optional_without_default, "plate", "optional-default"),
    ("optional with null last", _optional_null_last, "plate", "optional-null-first"),
    ("camelCase field", _camel_field, "makeName", "field-name-case"),
    ("snake_case type name", _lower_type, "fuel_type", "type-name-case"),
    ("lower-case enum symbol", _lower_symbol, "fuel_type", "enum-symbol-case"),
    ("union of two non-null types", _two_type_union, "reading", "lake-union"),
    ("recursive type", _recursive, "location.previous", "lake-recursive"),
    ("field named like a lake column", _lake_column, "dt", "lake-column-clash"),
    ("time field that is not a timestamp", _time_not_timestamp, "parked_at", "event-time"),
    ("timestamp without time zone", _local_timestamp, "parked_at", "utc-time"),
    ("logical type on the wrong base type", _logical_on_wrong_base, "make", "logical-type"),
    ("field of type null", _null_field, "nothing", "lake-null"),
    ("no vehicle_id", _no_vehicle_id, "vehicle_id", "key-field"),
    ("optional id", _optional_id, "id", "key-field"),
]


@pytest.mark.parametrize(("mutate", "path", "rule"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_each_rule_names_file_field_rule_and_fix(
    mutate: Callable[[dict[str, Any]], None], path: str, rule: str
) -> None:
    schema = _load("vehicle.avsc")
    mutate(schema)
    found = errors(lint_schemas({"vehicle.avsc": schema}))
    assert [(v.file, v.path, v.rule) for v in found] == [("vehicle.avsc", path, rule)]
    assert found[0].fix
    assert str(found[0]).startswith(f"vehicle.avsc: {path}: {rule}: ")


def test_fields_differing_only_in_case_are_both_reported() -> None:
    schema = _load("vehicle.avsc")
    _case_clash(schema)
    found = errors(lint_schemas({"vehicle.avsc": schema}))
    assert sorted((v.path, v.rule) for v in found) == [
        ("Make", "field-name-case"),
        ("Make", "lake-case-clash"),
        ("make", "lake-case-clash"),
    ]


def test_map_is_allowed_with_a_note_on_what_glue_makes_of_it() -> None:
    schema = _load("vehicle.avsc")
    schema["fields"].append({"name": "tyre_pressure_bar", "type": {"type": "map", "values": "double"}, "doc": "Bar."})
    found = lint_schemas({"vehicle.avsc": schema})
    assert errors(found) == []
    assert [(v.path, v.rule, v.severity) for v in found] == [("tyre_pressure_bar", "lake-map", "note")]
    assert "map<string" in found[0].problem


def test_a_shared_type_defined_differently_in_one_file_is_reported_there() -> None:
    schemas = {name: _load(name) for name in ("vehicle.avsc", "gps.avsc", "weather.avsc")}
    _field(_field(schemas["gps.avsc"], "location")["type"], "latitude")["doc"] = "Latitude, somehow."
    found = errors(lint_schemas(schemas))
    assert [(v.file, v.path, v.rule) for v in found] == [
        ("gps.avsc", "com.smartcity.telemetry.Location", "shared-type-differs")
    ]


def test_a_second_namespace_is_reported() -> None:
    schemas = {name: _load(name) for name in ("vehicle.avsc", "gps.avsc", "weather.avsc")}
    schemas["weather.avsc"]["namespace"] = "org.example.weather"
    _field(schemas["weather.avsc"], "location")["type"]["namespace"] = "org.example.weather"
    _field(schemas["weather.avsc"], "condition")["type"]["namespace"] = "org.example.weather"
    found = errors(lint_schemas(schemas))
    assert {(v.file, v.rule) for v in found} == {("weather.avsc", "namespace")}
    assert {v.path for v in found} == {
        "org.example.weather.WeatherObservation",
        "org.example.weather.Location",
        "org.example.weather.WeatherCondition",
    }


@pytest.fixture
def schemas_copy(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, target)
    return target


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "governance", *args], capture_output=True, text=True, cwd=project_root(), check=False
    )


def test_cli_lint_passes_on_a_clean_copy(schemas_copy: Path) -> None:
    done = _run("lint", "--schemas-dir", str(schemas_copy))
    assert done.returncode == 0, done.stderr
    assert "lint: 5 schema(s)" in done.stdout


def test_cli_lint_prints_each_violation_and_fails_with_one_line(schemas_copy: Path) -> None:
    schema = json.loads((schemas_copy / "gps.avsc").read_text(encoding="utf-8"))
    del _field(schema, "satellites")["doc"]
    (schemas_copy / "gps.avsc").write_text(json.dumps(schema), encoding="utf-8")
    (schemas_copy / "weather.avsc").write_text("{not json", encoding="utf-8")
    done = _run("lint", "--schemas-dir", str(schemas_copy))
    assert done.returncode == 1
    assert "gps.avsc: satellites: doc-missing: field satellites has no doc; fix: add" in done.stdout
    assert "weather.avsc: <file>: parse: not JSON" in done.stdout
    assert done.stderr.strip().splitlines() == [f"error: lint: 2 violation(s) in 2 file(s) of {schemas_copy}"]


def test_cli_usage_error_is_one_line_exit_2() -> None:
    done = _run("lint", "--no-such-option")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("error: ")

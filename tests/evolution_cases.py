"""Schema changes shared by the evolution tests (unit: offline checker; integration: the real registry).

Each change edits a parsed copy of schemas/vehicle.avsc in place; a version is the file with one change.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.catalog import project_root

SCHEMAS = project_root() / "schemas"
Schema = dict[str, Any]
Change = Callable[[Schema], None]


def vehicle() -> Schema:
    """vehicle.avsc as parsed JSON: the base of every case."""
    return json.loads((SCHEMAS / "vehicle.avsc").read_text(encoding="utf-8"))


def field(schema: Schema, name: str) -> Schema:
    return next(f for f in schema["fields"] if f["name"] == name)


def same(s: Schema) -> None:
    """No change."""
    del s


def add_optional(s: Schema) -> None:
    s["fields"].append({"name": "odometer_km", "type": ["null", "double"], "default": None, "doc": "Odometer, km."})


def add_required(s: Schema) -> None:
    s["fields"].append({"name": "odometer_km", "type": "double", "doc": "Odometer, km."})


def rename(s: Schema) -> None:
    field(s, "speed_kmh")["name"] = "speed"


def rename_with_alias(s: Schema) -> None:
    rename(s)
    field(s, "speed")["aliases"] = ["speed_kmh"]


def string_to_int(s: Schema) -> None:
    field(s, "make")["type"] = "int"


def drop_enum_default(s: Schema) -> None:
    del field(s, "fuel_type")["type"]["default"]


def remove_symbol(s: Schema) -> None:
    field(s, "fuel_type")["type"]["symbols"].remove("LPG")


def remove_symbol_no_default(s: Schema) -> None:
    drop_enum_default(s)
    remove_symbol(s)


def add_symbol(s: Schema) -> None:
    field(s, "fuel_type")["type"]["symbols"].append("HYDROGEN")


def remove_field(s: Schema) -> None:
    s["fields"].remove(field(s, "model"))


def year_long(s: Schema) -> None:
    field(s, "year")["type"] = "long"


def year_double(s: Schema) -> None:
    field(s, "year")["type"] = "double"


def latitude_float(s: Schema) -> None:
    field(field(s, "location")["type"], "latitude")["type"] = "float"


def make_optional(s: Schema) -> None:
    field(s, "make")["type"] = ["null", "string"]
    field(s, "make")["default"] = None


def drop_timestamp(s: Schema) -> None:
    field(s, "event_time")["type"] = "long"


def remove_vehicle_id(s: Schema) -> None:
    s["fields"].remove(field(s, "vehicle_id"))


def event_time_optional(s: Schema) -> None:
    field(s, "event_time")["type"] = ["null", field(s, "event_time")["type"]]
    field(s, "event_time")["default"] = None


def version(change: Change) -> Schema:
    """vehicle.avsc with ``change`` applied."""
    schema = vehicle()
    change(schema)
    return schema


def schemas_with(folder: Path, change: Change) -> Path:
    """A copy of schemas/ in ``folder`` whose vehicle.avsc has ``change`` applied; returns the copy."""
    shutil.copytree(SCHEMAS, folder)
    (folder / "vehicle.avsc").write_text(json.dumps(version(change)), encoding="utf-8")
    return folder

"""Lint of the data rules: every expression parses, stays in the subset and names only fields the schema has."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.catalog import project_root
from core.cel_subset import compile_rule
from core.errors import SchemaError
from governance.lint import errors, lint_dir, lint_schemas

SCHEMAS = project_root() / "schemas"


def _schemas() -> dict[str, Any]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMAS.glob("*.avsc"))}


def _with_rule(expr: str) -> dict[str, Any]:
    schemas = _schemas()
    schemas["vehicle.avsc"]["rules"].append({"name": "extra", "expr": expr, "doc": "d", "onFailure": "ERROR"})
    return schemas


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("message.speed > 0.0", "the record has no field 'speed'"),
        ("message.location.altitude > 0.0", "location has no field 'altitude'"),
        ("message.speed_kmh >", "not valid CEL"),
        ("message.speed_kmh * 2.0 < 600.0", "outside the rule subset"),
        ("message.speed_kmh", "a rule must be a bool condition"),
        ("message.speed_kmh >= 0", "compare values of one type (write 0.0 for a double)"),
        ("size(message.make) > 0 && message.make.matches('^[A-Z]')", "outside the rule subset"),
        ("vehicle.speed_kmh >= 0.0", "must start at message"),
        ("message.year == null", "only an optional field can be null"),
        ("[1, 2].all(x, x > 0)", "outside the rule subset"),
        ("size(message.make) <= 40", "CEL engines count code points or UTF-8 bytes"),
    ],
)
def test_an_expression_outside_the_subset_or_the_schema_fails_lint(expr: str, problem: str) -> None:
    found = errors(lint_schemas(_with_rule(expr)))
    assert [(v.file, v.path, v.rule) for v in found] == [("vehicle.avsc", "rules.extra", "data-rule-expr")]
    assert problem in found[0].problem


_OPTIONAL = {
    "type": "record",
    "name": "Opt",
    "fields": [
        {"name": "x", "type": "double"},
        {"name": "ox", "type": ["null", "double"], "default": None},
        {"name": "s", "type": "string"},
        {
            "name": "loc",
            "type": ["null", {"type": "record", "name": "Loc", "fields": [{"name": "lat", "type": "double"}]}],
        },
    ],
}


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        # Where Spark's NULL could not tell CEL's null from CEL's error, the subset stops (the SQL would differ).
        ("(message.x > 0.0 ? message.ox : 1.0) == 1.0", "a branch of c ? a : b is an optional field"),
        ("message.x in [message.ox, 1.0]", "'in' needs a list of literal values"),
        ("message.loc.lat > 0.0", "loc is an optional record"),
        ("message.x < 1e999", "beyond the range of a double"),
        ("message.x > 0.0 || 9223372036854775808 > 0", "literal 9223372036854775808 cannot be evaluated: overflow"),
    ],
)
def test_what_spark_sql_cannot_say_as_cel_does_is_outside_the_subset(expr: str, problem: str) -> None:
    with pytest.raises(SchemaError, match=re.escape(problem)):
        compile_rule(expr, _OPTIONAL)


def test_a_shared_rule_defined_differently_fails_lint() -> None:
    schemas = _schemas()
    rule = next(r for r in schemas["gps.avsc"]["rules"] if r["name"] == "location-in-range")
    rule["expr"] = rule["expr"].replace("90.0", "89.0")
    found = errors(lint_schemas(schemas))
    assert [(v.file, v.rule) for v in found] == [("gps.avsc", "shared-rule-differs")]


def test_a_malformed_rules_property_fails_lint() -> None:
    schemas = copy.deepcopy(_schemas())
    schemas["weather.avsc"]["rules"][0]["onFailure"] = "IGNORE"
    found = errors(lint_schemas(schemas))
    assert [(v.file, v.path, v.rule) for v in found] == [("weather.avsc", "<rules>", "data-rule")]


def test_the_lint_command_fails_in_one_line_on_a_bad_rule(tmp_path: Path) -> None:
    for name, schema in _with_rule("message.nope == 1").items():
        (tmp_path / name).write_text(json.dumps(schema, indent=2), encoding="utf-8")
    (tmp_path / "streams.toml").write_text((SCHEMAS / "streams.toml").read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "governance", "lint", "--schemas-dir", str(tmp_path)],
        capture_output=True, text=True, check=False, cwd=project_root(),
    )  # fmt: skip
    assert done.returncode == 1
    assert "vehicle.avsc: rules.extra: data-rule-expr: rule extra: message.nope" in done.stdout
    assert done.stderr.strip().count("\n") == 0
    assert "Traceback" not in done.stderr


def test_the_project_rules_pass_lint() -> None:
    assert errors(lint_dir(SCHEMAS)) == []


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        capture_output=True, check=True,
    )  # fmt: skip


def test_the_offline_check_names_a_rule_change_against_git_history(tmp_path: Path) -> None:
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "schemas")
    _git(tmp_path, "commit", "-q", "-m", "v1")
    path = tmp_path / "schemas" / "vehicle.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["rules"] = [r for r in schema["rules"] if r["name"] != "heading-in-range"]
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "governance", "check", "vehicle", "--against", "HEAD",
         "--schemas-dir", str(tmp_path / "schemas")],
        capture_output=True, text=True, check=False, cwd=project_root(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "  note: data rules differ from git " in done.stdout
    assert done.stdout.rstrip().splitlines()[-2].endswith(": retired heading-in-range")

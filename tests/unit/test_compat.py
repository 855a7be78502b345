"""Offline compatibility: Avro resolution rules, lake safety, levels, and git history as the baseline."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.catalog import project_root
from governance.compat import check_versions, parse
from tests.evolution_cases import (
    SCHEMAS,
    Change,
    Schema,
    add_optional,
    add_required,
    add_symbol,
    drop_enum_default,
    drop_timestamp,
    event_time_optional,
    field,
    latitude_float,
    make_optional,
    remove_field,
    remove_symbol,
    remove_symbol_no_default,
    remove_vehicle_id,
    rename,
    rename_with_alias,
    same,
    string_to_int,
    vehicle,
    version,
    year_double,
    year_long,
)

# (case, old version, new version, [(field path, rule, words in the reason)]); versions are changes to vehicle.avsc
CASES: list[tuple[str, Change, Change, list[tuple[str, str, str]]]] = [
    ("add optional field with default", same, add_optional, []),
    ("add field without default", same, add_required, [("odometer_km", "incompatible", "no default")]),
    ("rename without alias", same, rename, [("speed", "incompatible", "renamed from speed_kmh, keep that name")]),
    ("rename with alias", same, rename_with_alias, [("speed", "lake-unsafe", "reads null for speed")]),
    ("string to int", same, string_to_int, [("make", "incompatible", "from string to int")]),
    (
        "remove symbol from enum without default",
        drop_enum_default,
        remove_symbol_no_default,
        [("fuel_type", "incompatible", "lacks symbol(s) LPG")],
    ),
    ("remove symbol from enum with default", same, remove_symbol, []),
    ("add enum symbol", same, add_symbol, []),
    ("remove field", same, remove_field, []),
    ("make field optional", same, make_optional, []),
    ("optional back to required", make_optional, same, [("make", "incompatible", "[null, string] to string")]),
    ("nested double to float", same, latitude_float, [("location.latitude", "incompatible", "double to float")]),
    ("int to long: an Iceberg promotion", same, year_long, []),
    ("int to double", same, year_double, [("year", "lake-unsafe", "DOUBLE (Glue double)")]),
    ("float to double: an Iceberg promotion", latitude_float, same, []),
    ("timestamp to plain long", same, drop_timestamp, [("event_time", "lake-unsafe", "logical type changed")]),
    ("remove a key field", same, remove_vehicle_id, [("vehicle_id", "key-field", "vehicle_id is removed")]),
    ("make event_time optional", same, event_time_optional, [("event_time", "key-field", "partitions each table")]),
]


@pytest.mark.parametrize(("old_change", "new_change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_evolution_cases_under_backward_transitive(
    old_change: Change, new_change: Change, expected: list[tuple[str, str, str]]
) -> None:
    old, new = version(old_change), version(new_change)
    problems = check_versions(parse(new), [("version 1", parse(old))], "BACKWARD_TRANSITIVE")
    assert [(p.path, p.rule) for p in problems] == [(path, rule) for path, rule, _ in expected]
    for problem, (_, _, words) in zip(problems, expected, strict=True):
        assert words in problem.reason
        assert problem.against == "version 1"


def _three_versions() -> list[tuple[str, Any]]:
    v1 = vehicle()
    v2 = copy.deepcopy(v1)
    remove_field(v2)  # model goes away...
    return [("v1", parse(v1)), ("v2", parse(v2))]


def model_back_as_int(s: Schema) -> None:
    field(s, "model").update({"type": "int", "default": 0})  # ...and comes back with another type


def _model_back_as_int() -> Any:
    return parse(version(model_back_as_int))


def test_transitive_level_checks_every_earlierversion() -> None:
    problems = check_versions(_model_back_as_int(), _three_versions(), "BACKWARD_TRANSITIVE")
    assert [(p.against, p.path, p.rule) for p in problems] == [("v1", "model", "incompatible")]


def test_non_transitive_level_checks_only_the_latestversion() -> None:
    assert check_versions(_model_back_as_int(), _three_versions(), "BACKWARD") == []


def test_forward_means_old_readers_read_new_data() -> None:
    old, new = parse(vehicle()), parse(version(remove_field))
    problems = check_versions(new, [("v1", old)], "FORWARD")
    assert [(p.path, p.rule) for p in problems] == [("model", "incompatible")]
    assert "the earlier version requires field model" in problems[0].reason
    assert check_versions(new, [("v1", old)], "BACKWARD") == []


def test_level_none_still_guards_the_lake() -> None:
    problems = check_versions(parse(version(year_double)), [("v1", parse(vehicle()))], "NONE")
    assert [(p.path, p.rule) for p in problems] == [("year", "lake-unsafe")]


# --- the CLI against git history -----------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a copy of schemas/, committed once."""
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "schemas")
    _git(tmp_path, "commit", "-q", "-m", "v1")
    return tmp_path


def _write(repo: Path, schema: Schema) -> None:
    (repo / "schemas" / "vehicle.avsc").write_text(json.dumps(schema, indent=2), encoding="utf-8")


def _check(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "governance", "check", "--schemas-dir", str(repo / "schemas"), *args],
        capture_output=True,
        text=True,
        cwd=project_root(),
        check=False,
    )


def test_cli_check_against_head_passes_a_compatible_change(repo: Path) -> None:
    _write(repo, version(add_optional))
    done = _check(repo, "--against", "HEAD")
    assert done.returncode == 0, done.stderr
    assert "vehicle_data-value (vehicle.avsc, BACKWARD_TRANSITIVE) against HEAD: compatible" in done.stdout
    assert "check: 5 subject(s) compatible" in done.stdout


def test_cli_check_against_head_names_field_and_reason(repo: Path) -> None:
    _write(repo, version(string_to_int))
    done = _check(repo, "--against", "HEAD", "vehicle")
    assert done.returncode == 1
    sha = _git(repo, "rev-parse", "--short=7", "HEAD")
    assert "vehicle.avsc: make: incompatible: type changed from string to int" in done.stdout
    assert f"(against git {sha})" in done.stdout
    assert done.stderr.strip().splitlines() == [
        "error: check: 1 subject(s) not compatible with git history up to HEAD: vehicle_data-value"
    ]


def test_cli_check_compares_with_every_committedversion(repo: Path) -> None:
    first = _git(repo, "rev-parse", "--short=7", "HEAD")
    _write(repo, version(remove_field))
    _git(repo, "commit", "-q", "-am", "v2: drop model")
    _write(repo, version(model_back_as_int))
    done = _check(repo, "--against", "HEAD", "vehicle")
    assert done.returncode == 1
    assert "vehicle.avsc: model: incompatible: type changed from string to int" in done.stdout
    assert f"(against git {first})" in done.stdout
    assert _check(repo, "--against", "HEAD~1", "vehicle").returncode == 1


def test_cli_check_lake_unsafe_promotion_fails(repo: Path) -> None:
    _write(repo, version(year_double))
    done = _check(repo, "--against", "HEAD", "vehicle")
    assert done.returncode == 1
    assert (
        "vehicle.avsc: year: lake-unsafe: int -> double is a legal Avro promotion, but not one Iceberg" in done.stdout
    )


def test_cli_check_unknown_revision_is_a_usage_error(repo: Path) -> None:
    done = _check(repo, "--against", "no-such-branch")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: --against no-such-branch: no such git revision in {(repo / 'schemas').resolve()} "
        "(try HEAD, main or main~3)"
    ]


def test_cli_check_outside_git_is_a_usage_error(tmp_path: Path) -> None:
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    done = _check(tmp_path, "--against", "HEAD")
    assert done.returncode == 2
    assert "is not in a git repository" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_cli_check_new_schema_file_has_nothing_to_break(repo: Path) -> None:
    shutil.copy(repo / "schemas" / "gps.avsc", repo / "schemas" / "gps2.avsc")
    with (repo / "schemas" / "streams.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[streams.gps2]\ntopic = "gps2_data"\nschema = "gps2.avsc"\n')
    done = _check(repo, "--against", "HEAD", "gps2")
    assert done.returncode == 0, done.stderr
    assert "gps2_data-value (gps2.avsc, BACKWARD_TRANSITIVE) against HEAD: new, no earlier version" in done.stdout


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ((10, 2), (18, 2), None),  # widened at the same scale: an Iceberg promotion
        ((10, 2), (10, 3), "decimal scale changed from 2 to 3"),
        ((18, 2), (10, 2), "decimal precision narrowed from 18 to 10"),
    ],
)
def test_a_decimal_widens_at_the_same_scale_and_any_other_change_is_lake_unsafe(
    old: tuple[int, int], new: tuple[int, int], words: str | None
) -> None:
    from core.avro_model import parse_schema
    from core.evolution import lake_changes

    def record(precision: int, scale: int) -> Any:
        price = {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale}
        return parse_schema({"type": "record", "name": "R", "fields": [{"name": "price", "type": price}]}).record

    found = lake_changes(record(*new), record(*old))
    assert [(path, words in why) for path, why in found] == ([] if words is None else [("price", True)])

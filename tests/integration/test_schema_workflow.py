"""The schema workflow against the real local registry: check, register, status, and the registry's own rules.

Every test works on a copy of schemas/ in a temporary git repository and on subjects under a unique
prefix, and runs the CLI as a user would (``python -m governance ...``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.catalog import project_root
from core.errors import RegistryError
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from tests.evolution_cases import (
    SCHEMAS,
    Change,
    Schema,
    add_optional,
    add_required,
    drop_enum_default,
    remove_field,
    remove_symbol_no_default,
    rename,
    same,
    string_to_int,
    vehicle,
    version,
    year_double,
)

pytestmark = pytest.mark.integration


@dataclass
class Workspace:
    """A git repository with a copy of schemas/, and the CLI pointed at the test's registry subjects."""

    root: Path
    settings: ConnectionSettings
    registry: RegistryClient

    @property
    def subject(self) -> str:
        return self.settings.subject("vehicle_data-value")

    def write(self, change: Change) -> Schema:
        schema = version(change)
        (self.root / "schemas" / "vehicle.avsc").write_text(json.dumps(schema, indent=2), encoding="utf-8")
        return schema

    def commit(self) -> None:
        _git(self.root, "add", "schemas")
        _git(self.root, "commit", "-q", "-m", "schemas")

    def gov(self, *args: str) -> subprocess.CompletedProcess[str]:
        command, *rest = args
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "governance",
                command,
                "--schemas-dir",
                str(self.root / "schemas"),
                "--registry-url",
                self.settings.registry_url,
                "--topic-prefix",
                self.settings.topic_prefix,
                *rest,
            ],
            capture_output=True,
            text=True,
            cwd=project_root(),
            check=False,
        )


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        capture_output=True,
        check=True,
    )


@pytest.fixture
def ws(tmp_path: Path, stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str) -> Iterator[Workspace]:
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    _git(tmp_path, "init", "-q", "-b", "main")
    settings = ConnectionSettings.from_env(registry_url=stack.registry_url, topic_prefix=topic_prefix)
    yield Workspace(tmp_path, settings, registry)
    for subject in registry.subjects():
        if subject.startswith(topic_prefix):
            registry.delete_subject(subject, permanent=True)


def _findings(output: str) -> set[tuple[str, str]]:
    """(field path, rule) of every problem line a check printed."""
    return set(re.findall(r"^  vehicle\.avsc: (\S+): (incompatible|lake-unsafe): ", output, flags=re.MULTILINE))


def _start(ws: Workspace, v1: Change) -> None:
    """Version 1 registered through the workflow and committed to git."""
    ws.write(v1)
    ws.commit()
    done = ws.gov("register", "vehicle")
    assert done.returncode == 0, done.stderr
    assert f"{ws.subject}: registered version 1" in done.stdout


def test_adding_an_optional_field_is_checked_and_registered_as_version_2(ws: Workspace) -> None:
    _start(ws, same)
    ws.write(add_optional)
    online, offline = ws.gov("check", "vehicle"), ws.gov("check", "vehicle", "--against", "HEAD")
    assert (online.returncode, offline.returncode) == (0, 0), online.stdout + offline.stdout
    assert f"{ws.subject} (vehicle.avsc, BACKWARD_TRANSITIVE): compatible (registered versions: 1)" in online.stdout
    done = ws.gov("register", "vehicle")
    assert done.returncode == 0, done.stderr
    assert f"{ws.subject}: registered version 2" in done.stdout
    assert ws.registry.versions(ws.subject) == [1, 2]
    assert "odometer_km" in ws.registry.latest(ws.subject).schema
    assert f"{ws.subject}: in sync: version 2" in ws.gov("status", "vehicle").stdout


def test_register_sets_the_level_and_is_idempotent(ws: Workspace) -> None:
    first = ws.gov("register")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("registered version 1") == 5
    second = ws.gov("register")
    assert second.returncode == 0, second.stderr
    ids = re.findall(r": unchanged \(version 1, id (\d+)\)", second.stdout)
    assert len(ids) == 5
    assert int(ids[0]) == ws.registry.latest(ws.subject).schema_id
    for stream in ("vehicle", "gps", "traffic", "weather", "emergency"):
        subject = ws.settings.subject(f"{stream}_data-value")
        assert ws.registry.versions(subject) == [1]
        assert ws.registry.compatibility(subject) == "BACKWARD_TRANSITIVE"


def test_status_shows_in_sync_local_change_and_missing(ws: Workspace) -> None:
    assert ws.gov("register", "vehicle", "gps").returncode == 0
    ws.write(add_optional)
    done = ws.gov("status")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"{ws.settings.subject('gps_data-value')}: in sync: version 1" in "\n".join(lines)
    assert any(line.startswith(f"{ws.subject}: local change: vehicle.avsc differs") for line in lines)
    assert any(line.startswith(f"{ws.settings.subject('weather_data-value')}: missing: ") for line in lines)


def _fails_check_in_both_modes(
    ws: Workspace, v1: Change, v2: Change, finding: tuple[str, str]
) -> tuple[Schema, subprocess.CompletedProcess[str]]:
    """Register v1, write v2: ``check`` against the registry and against git both fail with ``finding``.

    Returns the new schema and the registry check's result.
    """
    _start(ws, v1)
    new = ws.write(v2)
    online, offline = ws.gov("check", "vehicle"), ws.gov("check", "vehicle", "--against", "HEAD")
    assert (online.returncode, offline.returncode) == (1, 1)
    assert _findings(online.stdout) == _findings(offline.stdout) == {finding}
    return new, online


INCOMPATIBLE = [
    # (case, version 1, version 2, field path, words of the reason)
    ("add field without default", same, add_required, "odometer_km", "no default"),
    ("rename without alias", same, rename, "speed", "renamed from speed_kmh"),
    ("string to int", same, string_to_int, "make", "from string to int"),
    ("remove symbol from enum without default", drop_enum_default, remove_symbol_no_default, "fuel_type", "LPG"),
]


@pytest.mark.parametrize(("v1", "v2", "path", "words"), [c[1:] for c in INCOMPATIBLE], ids=[c[0] for c in INCOMPATIBLE])
def test_breaking_change_fails_check_in_both_modes_and_the_registry_refuses_it(
    ws: Workspace, v1: Change, v2: Change, path: str, words: str
) -> None:
    new, online = _fails_check_in_both_modes(ws, v1, v2, (path, "incompatible"))
    assert re.search(rf"^  vehicle\.avsc: {re.escape(path)}: incompatible: .*{re.escape(words)}", online.stdout, re.M)
    assert online.stderr.strip().splitlines() == [
        f"error: check: 1 subject(s) not compatible with the registered versions: {ws.subject}"
    ]
    refused = ws.gov("register", "vehicle")
    assert refused.returncode == 1
    assert f"{ws.subject}: refused" in refused.stdout
    with pytest.raises(RegistryError) as direct:  # the registry's own rule, without the workflow in between
        ws.registry.register(ws.subject, json.dumps(new))
    assert direct.value.status == 409
    assert ws.registry.versions(ws.subject) == [1]


def test_removing_a_field_is_compatible(ws: Workspace) -> None:
    _start(ws, same)
    ws.write(remove_field)
    assert ws.gov("check", "vehicle").returncode == 0
    assert ws.gov("check", "vehicle", "--against", "HEAD").returncode == 0
    done = ws.gov("register", "vehicle")
    assert f"{ws.subject}: registered version 2" in done.stdout


LAKE_UNSAFE = [
    ("int to double", same, year_double, "year", "DOUBLE (Glue double)"),
]


@pytest.mark.parametrize(("v1", "v2", "path", "words"), [c[1:] for c in LAKE_UNSAFE], ids=[c[0] for c in LAKE_UNSAFE])
def test_lake_unsafe_promotion_fails_check_though_the_registry_allows_it(
    ws: Workspace, v1: Change, v2: Change, path: str, words: str
) -> None:
    new, online = _fails_check_in_both_modes(ws, v1, v2, (path, "lake-unsafe"))
    assert words in online.stdout
    assert "refused" in ws.gov("register", "vehicle").stdout
    # Avro allows the promotion, so the registry would accept it: only the workflow guards the lake.
    assert ws.registry.check_compatibility(ws.subject, json.dumps(new))[0] is True


def test_check_reports_a_subject_whose_level_was_never_set(ws: Workspace) -> None:
    ws.registry.register(ws.subject, json.dumps(vehicle()))
    ws.write(string_to_int)
    done = ws.gov("check", "vehicle")
    assert done.returncode == 1
    assert _findings(done.stdout) == {("make", "incompatible")}
    assert "streams.toml declares BACKWARD_TRANSITIVE; `make schema-register` sets it" in done.stdout
    assert "not enforced there" in done.stdout


def test_unreachable_registry_is_one_line_exit_2(ws: Workspace) -> None:
    for command in ("check", "register", "status"):
        done = subprocess.run(
            [sys.executable, "-m", "governance", command, "--registry-url", "http://127.0.0.1:9/apis/ccompat/v7"],
            capture_output=True,
            text=True,
            cwd=project_root(),
            check=False,
        )
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "error: schema registry at http://127.0.0.1:9/apis/ccompat/v7 is unreachable (ConnectionError); "
            "is it up? try `make up`"
        ]

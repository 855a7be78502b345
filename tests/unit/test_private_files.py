"""Every file the stacks write that holds a secret is 0600 and its folders 0700, whatever the umask.

The files are made by the code the stacks run (`stack up`'s preparation of the secured stack, `dashboards
up`'s preparation of Superset's folder) under umask 022, some over older world-readable files, and then
every file under the home that holds a secret is listed by its content, not from a list kept here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.secrets import child_env, keep_private, private_dir, write_private
from dashboards.server import admin_password, prepare_home, watcher_env
from dashboards.settings import DashboardSettings
from stack.secured import PRINCIPALS, password_file
from stack.services import prepare_registry, write_kafka_configs
from stack.settings import StackSettings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def _holding(home: Path, secrets: list[str]) -> list[Path]:
    """Every file under ``home`` whose content holds one of ``secrets`` or a private key."""
    markers = [s.encode() for s in secrets] + [b"PRIVATE KEY"]
    return sorted(p for p in home.rglob("*") if p.is_file() and any(m in p.read_bytes() for m in markers))


def test_write_private_makes_an_owner_only_file_even_over_a_world_readable_one(tmp_path: Path, umask_022: None) -> None:
    old = tmp_path / "server.properties"
    old.write_text("old")
    old.chmod(0o644)
    write_private(old, "password=s3cret")
    assert (old.read_text(), _mode(old)) == ("password=s3cret", 0o600)
    assert [p.name for p in tmp_path.iterdir()] == ["server.properties"]  # no temporary file left behind
    kept = tmp_path / "kept.password"
    kept.write_text("made earlier\n")
    kept.chmod(0o644)
    assert keep_private(kept, lambda: "never used") == "made earlier"
    assert _mode(kept) == 0o600
    assert keep_private(tmp_path / "new.password", lambda: "made now") == "made now"
    assert _mode(tmp_path / "new.password") == 0o600


def test_private_dir_makes_and_narrows_every_folder_it_makes(tmp_path: Path, umask_022: None) -> None:
    tmp_path.chmod(0o755)
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    private_dir(existing / "a" / "b")
    assert [_mode(p) for p in (tmp_path, existing, existing / "a", existing / "a" / "b")] == [
        0o755,
        0o755,
        0o700,
        0o700,
    ]
    private_dir(existing)
    assert _mode(existing) == 0o700


def test_the_secured_stack_writes_every_secret_owner_only(tmp_path: Path, umask_022: None) -> None:
    root = tmp_path / "local"
    settings = StackSettings(brokers=3, home=root / "secured", security="sasl_ssl", root=root)
    stale = settings.home / "kafka" / "node-1" / "server.properties"
    stale.parent.mkdir(parents=True)
    stale.write_text("written by an earlier version\n")
    stale.chmod(0o644)
    # What `stack up` writes before it starts a process (all of prepare_kafka but Kafka's storage tool).
    write_kafka_configs(settings)
    prepare_registry(settings)

    passwords = [password_file(settings.home, p).read_text() for p in PRINCIPALS]
    found = _holding(root, passwords)
    relative = {str(p.relative_to(settings.home)) for p in found}
    assert relative == {
        *(f"secrets/{p}.password" for p in PRINCIPALS),
        *(f"kafka/node-{n}/server.properties" for n in (1, 2, 3)),
        "registry/kafkasql.properties",
        "tls/kafka-node.pem",
    }
    assert {str(p): _mode(p) for p in found} == {str(p): 0o600 for p in found}
    folders = [root, settings.home, settings.home / "secrets", settings.home / "tls", settings.home / "registry"]
    assert {str(f): _mode(f) for f in folders} == {str(f): 0o700 for f in folders}


def test_superset_keeps_its_secret_and_password_owner_only(tmp_path: Path, umask_022: None) -> None:
    settings = DashboardSettings.from_env({"TELEMETRY_HOME": str(tmp_path / "local")})
    settings.home.mkdir(parents=True)
    (settings.home / "secret-key").write_text("from an earlier version")
    (settings.home / "secret-key").chmod(0o644)
    prepare_home(settings)
    password = admin_password(settings)
    secret = (settings.home / "secret-key").read_text()
    assert _holding(tmp_path, [password, secret]) == [settings.home / "admin-password", settings.home / "secret-key"]
    assert [_mode(settings.home / n) for n in ("admin-password", "secret-key")] == [0o600, 0o600]
    assert [_mode(p) for p in (settings.home.parent, settings.home)] == [0o700, 0o700]


def test_a_child_gets_the_basics_and_what_it_names_only() -> None:
    parent = {"PATH": "/bin", "LC_ALL": "C.UTF-8", "TELEMETRY_LAKE": "/lake", "TELEMETRY_SUPERSET_PASSWORD": "a",
              "TELEMETRY_KAFKA_SASL_PASSWORD": "b", "AWS_SECRET_ACCESS_KEY": "c", "AWS_REGION": "x"}  # fmt: skip
    assert child_env(parent) == {"PATH": "/bin", "LC_ALL": "C.UTF-8"}
    assert child_env(parent, ("AWS_*",), EXTRA="1") == {
        "PATH": "/bin", "LC_ALL": "C.UTF-8", "AWS_SECRET_ACCESS_KEY": "c", "AWS_REGION": "x", "EXTRA": "1"
    }  # fmt: skip
    assert watcher_env(parent) == {"PATH": "/bin", "LC_ALL": "C.UTF-8", "TELEMETRY_LAKE": "/lake"}

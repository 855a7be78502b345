"""The secured stack end to end: TLS, SCRAM-SHA-512 and least-privilege ACLs, and what a refused client sees.

Starts its own secured stack (``TELEMETRY_SECURITY=sasl_ssl``) in a tmp ``TELEMETRY_HOME`` on the secured
ports (Kafka 9192-9194, registry 8181, moto 5100), so the plain shared stack is never touched, and stops it
at the end; it starts under umask 022, over a world-readable ``server.properties`` left by an earlier
version, with a secret in its environment that no service needs. Each client runs as its principal, with
the settings ``python -m stack env`` prints.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from core.catalog import load_catalog, project_root
from core.settings import PREFIX, ConnectionSettings
from producer.producer import TelemetryProducer
from producer.simulator import SimulationConfig, simulate
from stack.secured import PRINCIPALS, REGISTRY_TOPICS
from stack.services import services
from stack.settings import StackSettings
from streaming.job import run
from streaming.settings import StreamingSettings
from tests.integration.streaming_support import assert_lake_holds_exactly, shared_spark

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATALOG = load_catalog()
TOPIC_PREFIX = f"s{uuid.uuid4().hex[:8]}_"
SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"  # public CAs: none signed the stack's certificate
UNNEEDED_SECRET = secrets.token_hex(8)  # in `stack up`'s environment: no service may inherit it


def _cli(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], env=env, cwd=project_root(), capture_output=True, text=True, timeout=timeout
    )


class Secured:
    """The running secured stack and the environment of a client as each principal."""

    def __init__(self, settings: StackSettings, base: dict[str, str]) -> None:
        self.settings = settings
        self.base = base

    def env(self, principal: str, **changes: str | None) -> dict[str, str]:
        """A client's environment as ``principal``; a change of None removes that variable."""
        env = {**self.base, **self.settings.client_env(principal)}
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def connection(self, principal: str) -> ConnectionSettings:
        """Connection settings as ``principal``."""
        return self.settings.connection(principal)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    home = tmp_path_factory.mktemp("secured-home")
    base = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    base |= {
        "TELEMETRY_HOME": str(home),
        "TELEMETRY_SECURITY": "sasl_ssl",
        "TELEMETRY_TOPIC_PREFIX": TOPIC_PREFIX,
        "TELEMETRY_STACK_TIMEOUT": "360",
    }  # a busy machine starts the registry slowly; `up` below waits 400 s
    settings = StackSettings.from_env(base)
    stale = settings.home / "kafka" / "node-1" / "server.properties"
    stale.parent.mkdir(parents=True)
    stale.write_text("# written by an earlier version\n")
    stale.chmod(0o644)
    umask = os.umask(0o022)
    try:
        started = _cli({**base, "TELEMETRY_SUPERSET_PASSWORD": UNNEEDED_SECRET}, "stack", "up", timeout=400)
    finally:
        os.umask(umask)
    try:
        assert started.returncode == 0, started.stderr + started.stdout
        yield Secured(settings, base)
    finally:
        stopped = _cli(base, "stack", "down", timeout=120)
        assert stopped.returncode == 0, stopped.stderr


@pytest.fixture(scope="module")
def registered(secured: Secured) -> Secured:
    """The secured stack with the schemas registered under the prefix (governance, as the operator)."""
    result = _cli(secured.env("operator"), "governance", "register")
    assert result.returncode == 0, result.stderr + result.stdout
    return secured


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_every_client_works_over_tls_and_scram_and_the_lake_gets_exactly_what_was_produced(
    registered: Secured, tmp_path: Path
) -> None:
    secured = registered
    # The stack never puts a password on a command line (ps shows those to every local user).
    passwords = [(secured.settings.home / "secrets" / f"{p}.password").read_text() for p in PRINCIPALS]
    for service in services(secured.settings):
        pid = service.pid()
        assert pid is not None, service.name
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
        assert not [p for p in passwords if p in command_line], service.name

    # The operator's command sees the topics `stack up` created (as the operator) under the prefix.
    topics = _cli(secured.env("operator"), "stack", "topics")
    assert topics.returncode == 0, topics.stderr
    assert "every topic as streams.toml says" in topics.stdout
    assert f"{TOPIC_PREFIX}vehicle_data" in topics.stdout

    events = list(simulate(SimulationConfig(vehicles=2, max_steps=40, emergency_probability=0.05), CATALOG))
    assert {e.stream for e in events} == set(CATALOG.names)
    with TelemetryProducer(ConnectionSettings.from_env(secured.env("producer")), CATALOG) as producer:
        for event in events:
            producer.produce(event)
    assert producer.failed == 0

    job_env = secured.env("streaming")
    settings = StreamingSettings.from_env(
        job_env, lake=str(tmp_path / "lake"), checkpoints=str(tmp_path / "checkpoints"), available_now=True
    )
    assert settings.connection.sasl_username == "streaming"
    run(settings, spark=shared_spark(), catalog=CATALOG)

    assert_lake_holds_exactly(settings, CATALOG, events, lambda stream: f"{TOPIC_PREFIX}{stream.topic}")


def _kafka_failures(config: dict[str, Any]) -> list[str]:
    """What librdkafka logs while a client with ``config`` asks for the cluster's metadata (which must fail)."""
    lines: list[str] = []
    logger = logging.getLogger(f"test_security.{uuid.uuid4().hex}")
    logger.addHandler(type("Keep", (logging.Handler,), {"emit": lambda _self, r: lines.append(r.getMessage())})())
    logger.setLevel(logging.DEBUG)
    admin = AdminClient({**config, "logger": logger})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=10)
    admin.poll(1)  # serves the log queue
    return lines


def test_a_client_without_credentials_is_refused(registered: Secured) -> None:
    secured = registered
    operator = secured.connection("operator")
    assert AdminClient(operator.kafka_config()).list_topics(timeout=30).topics  # the same client with credentials
    # TLS to the stack's CA, but no SASL: the handshake succeeds, then the broker closes the connection.
    no_sasl = {k: v for k, v in operator.kafka_config().items() if not k.startswith("sasl.")}
    failures = _kafka_failures({**no_sasl, "security.protocol": "SSL"})
    assert any("SSL connection closed by peer" in line and "in state UP" in line for line in failures), failures
    assert not [line for line in failures if "handshake failed" in line], failures
    # Unlike a client that does not trust the brokers' certificate, which never gets that far:
    mistrusting = _kafka_failures({**no_sasl, "security.protocol": "SSL", "ssl.ca.location": SYSTEM_CAS})
    assert any("SSL handshake failed" in line for line in mistrusting), mistrusting
    env = secured.env(
        "operator",
        TELEMETRY_KAFKA_SECURITY_PROTOCOL="SSL",
        TELEMETRY_KAFKA_SASL_MECHANISM=None,
        TELEMETRY_KAFKA_SASL_USERNAME=None,
        TELEMETRY_KAFKA_SASL_PASSWORD_FILE=None,
    )
    line = _one_line_error(_cli(env, "stack", "topics"))
    assert f"Kafka at {secured.settings.bootstrap_servers}" in line
    # The registry: no credentials, no answer; the operator's get one.
    subjects = f"{secured.settings.registry_url}/subjects"
    assert requests.get(subjects, timeout=30).status_code == 401
    assert requests.get(subjects, auth=operator.registry_auth(), timeout=30).status_code == 200


def test_nobody_deletes_in_the_registry_and_only_the_operator_changes_a_subjects_rules(registered: Secured) -> None:
    secured = registered
    url = secured.settings.registry_url
    subject = f"{TOPIC_PREFIX}{CATALOG.get('vehicle').subject}"
    operator, producer = (secured.connection(p).registry_auth() for p in ("operator", "producer"))
    headers = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
    rules = f"{url}/config/{subject}"
    level = requests.get(rules, auth=producer, timeout=30).json()["compatibilityLevel"]
    for auth, status in ((None, 401), (producer, 403), (secured.connection("streaming").registry_auth(), 403)):
        changed = requests.put(rules, json={"compatibility": "NONE"}, headers=headers, auth=auth, timeout=30)
        assert changed.status_code == status, changed.text
    for auth in (None, producer, operator):
        for path in (f"/subjects/{subject}", f"/subjects/{subject}/versions/1", f"/subjects/{subject}?permanent=true"):
            deleted = requests.delete(f"{url}{path}", auth=auth, timeout=30)
            assert deleted.status_code in (401, 403), (path, deleted.status_code, deleted.text)
    assert requests.get(f"{url}/subjects/{subject}/versions", auth=producer, timeout=30).json() == [1]
    assert requests.get(rules, auth=producer, timeout=30).json() == {"compatibilityLevel": level}
    kept = requests.put(rules, json={"compatibility": level}, headers=headers, auth=operator, timeout=30)
    assert kept.status_code == 200, kept.text  # the operator's registration sets it: the operator may
    everything = requests.put(f"{url}/config", json={"compatibility": "NONE"}, headers=headers, auth=operator,
                              timeout=30)  # fmt: skip
    assert everything.status_code == 403  # the global rules: nobody


def test_every_file_holding_a_secret_is_owner_only_and_no_service_inherits_one(registered: Secured) -> None:
    home = registered.settings.home
    passwords = [(home / "secrets" / f"{p}.password").read_text() for p in PRINCIPALS]
    markers = [p.encode() for p in passwords] + [b"PRIVATE KEY"]
    holding = sorted(p for p in home.rglob("*") if p.is_file() and any(m in p.read_bytes() for m in markers))
    names = {str(p.relative_to(home)) for p in holding}
    assert {"kafka/node-1/server.properties", "registry/kafkasql.properties", "tls/kafka-node.pem"} <= names
    assert {f"secrets/{p}.password" for p in PRINCIPALS} <= names
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in holding} == {str(p): "0o600" for p in holding}
    for folder in (home.parent, home, home / "secrets", home / "tls", home / "registry"):
        assert oct(stat.S_IMODE(folder.stat().st_mode)) == "0o700", folder
    for service in services(registered.settings):
        environ = Path(f"/proc/{service.pid()}/environ").read_bytes()
        assert UNNEEDED_SECRET.encode() not in environ, service.name
        assert not [v for v in environ.split(b"\0") if v.startswith((b"TELEMETRY_", b"AWS_"))], service.name


def test_a_wrong_password_is_refused(registered: Secured, tmp_path: Path) -> None:
    secured = registered
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password\n")
    env = secured.env("producer", TELEMETRY_KAFKA_SASL_PASSWORD_FILE=str(wrong))
    line = _one_line_error(_cli(env, "producer", "--vehicles", "1", "--count", "5"))
    assert "refused the producer: SASL authentication error" in line
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in line


def test_the_producer_cannot_write_a_topic_outside_its_acl(secured: Secured) -> None:
    errors: list[str] = []

    def delivered(error: Any, _message: Any) -> None:
        errors.append(error.str() if error is not None else "delivered")

    producer = Producer({**secured.connection("producer").kafka_config(), "acks": "all"})
    producer.produce(REGISTRY_TOPICS[0], b"not the registry's record", on_delivery=delivered)
    producer.flush(30)
    assert errors == ["Broker: Topic authorization failed"]


def test_the_jobs_principal_cannot_write_anywhere(registered: Secured) -> None:
    secured = registered
    line = _one_line_error(_cli(secured.env("streaming"), "producer", "--vehicles", "1", "--count", "5"))
    assert "refused principal streaming" in line
    assert "Cluster authorization failed" in line
    errors: list[str] = []
    producer = Producer({**secured.connection("streaming").kafka_config(), "enable.idempotence": False})
    producer.produce(
        f"{TOPIC_PREFIX}vehicle_data", b"x", on_delivery=lambda error, _m: errors.append(error.str() if error else "")
    )
    producer.flush(30)
    assert errors == ["Broker: Topic authorization failed"]

"""The secured stack's configuration: its own ports and folder, broker security, least-privilege ACLs, certificates."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from confluent_kafka.admin import AclOperation, ResourceType
from cryptography import x509

from core.catalog import load_catalog
from core.errors import ConfigError
from stack.secured import acl_bindings, password_file
from stack.services import _kafka_properties
from stack.settings import StackSettings
from stack.tls import ensure_tls

CATALOG = load_catalog()


def test_the_secured_stack_has_its_own_ports_and_folder(tmp_path: Path) -> None:
    default = StackSettings.from_env({"TELEMETRY_SECURITY": "sasl_ssl"})
    assert default.home.name == "secured"
    settings = StackSettings.from_env({"TELEMETRY_SECURITY": "SASL_SSL", "TELEMETRY_HOME": str(tmp_path)})
    assert settings.home == tmp_path / "secured"  # never the plain stack's folder, even in one TELEMETRY_HOME
    assert settings.private_dirs == (tmp_path, tmp_path / "secured")
    assert settings.bootstrap_servers == "127.0.0.1:9192,127.0.0.1:9193,127.0.0.1:9194"
    assert settings.registry_url == "http://127.0.0.1:8181/apis/ccompat/v7"
    assert (settings.moto_port, settings.registry_management_port) == (5100, 9181)
    plain = StackSettings.from_env({"TELEMETRY_HOME": str(tmp_path)})
    assert (plain.bootstrap_servers.split(",")[0], plain.moto_port) == ("127.0.0.1:9092", 5000)
    with pytest.raises(ConfigError, match="TELEMETRY_SECURITY must be one of plaintext, sasl_ssl"):
        StackSettings.from_env({"TELEMETRY_SECURITY": "ssl"})


def test_each_node_takes_clients_only_over_sasl_ssl_and_denies_what_no_acl_allows(tmp_path: Path) -> None:
    settings = StackSettings(brokers=3, home=tmp_path, security="sasl_ssl")
    lines = _kafka_properties(settings, 1, tmp_path / "data").splitlines()
    props = dict(line.split("=", 1) for line in lines if line)
    assert props["listeners"] == "SASL_SSL://127.0.0.1:9193,CONTROLLER://127.0.0.1:19193"
    assert props["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SSL"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19192,2@127.0.0.1:19193,3@127.0.0.1:19194"
    assert (props["inter.broker.listener.name"], props["sasl.mechanism.inter.broker.protocol"]) == (
        "SASL_SSL",
        "SCRAM-SHA-512",
    )
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:broker;User:CN=telemetry-kafka"
    broker_password = password_file(tmp_path, "broker").read_text()
    assert (
        f'username="broker" password="{broker_password}";'
        in props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    )
    assert stat.S_IMODE(password_file(tmp_path, "broker").stat().st_mode) == 0o600


def test_each_principal_gets_only_what_it_needs() -> None:
    rights: dict[str, set[tuple[str, str, str]]] = {}
    for binding in acl_bindings(list(CATALOG.streams), "p1_"):
        rights.setdefault(binding.principal, set()).add((binding.restype.name, binding.name, binding.operation.name))
    topics = {f"p1_{s.topic}" for s in CATALOG.streams}
    assert rights["User:producer"] == {("TOPIC", t, op) for t in topics for op in ("WRITE", "DESCRIBE")}
    assert rights["User:streaming"] == {("TOPIC", t, op) for t in topics for op in ("READ", "DESCRIBE")} | {
        ("GROUP", "p1_telemetry-lake", "READ")
    }
    assert {op for _, _, op in rights["User:operator"]} == {"CREATE", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER"}
    assert {name for _, name, _ in rights["User:operator"]} == topics
    registry_topics = {name for kind, name, _ in rights["User:registry"] if kind == "TOPIC"}
    assert registry_topics.isdisjoint(topics) and "kafkasql-journal" in registry_topics
    assert set(rights) == {"User:producer", "User:streaming", "User:operator", "User:registry"}
    everything = acl_bindings(list(CATALOG.streams), "p1_")
    assert all(b.operation != AclOperation.ALL and b.restype != ResourceType.BROKER for b in everything)


def test_the_certificates_name_the_loopback_and_the_ca_key_is_not_kept(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path)
    assert sorted(p.name for p in (tmp_path / "tls").iterdir()) == ["ca.pem", "kafka-node.pem"]
    assert stat.S_IMODE(files.node_keystore.stat().st_mode) == 0o600
    chain = x509.load_pem_x509_certificates(files.node_keystore.read_bytes())
    names = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.IPv4Address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert chain[0].issuer == x509.load_pem_x509_certificate(files.ca.read_bytes()).subject


def test_a_restart_keeps_the_ca_and_the_nodes_key_and_certificate(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path)
    first = {path: path.read_bytes() for path in (files.ca, files.node_keystore)}
    assert ensure_tls(tmp_path) == files
    assert {path: path.read_bytes() for path in (files.ca, files.node_keystore)} == first

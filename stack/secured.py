"""The secured local stack (``TELEMETRY_SECURITY=sasl_ssl``): TLS everywhere, SCRAM users, least-privilege ACLs.

Each node has a SASL_SSL listener (SCRAM-SHA-512, also between brokers) for clients and a CONTROLLER
listener on mutual TLS: KRaft controllers cannot use SCRAM, whose credentials live in the metadata log
the controllers serve. ``StandardAuthorizer`` denies whatever no ACL allows. The principals:

- ``broker``: the nodes to one another, and the stack's own ACL set-up (a super user; nobody else).
- ``operator``: creates and describes the five topics, raises their partitions.
- ``producer``: writes (and describes) the five topics, nothing else.
- ``streaming``: reads the five topics, and the consumer groups ``<prefix>telemetry-lake*``.
- ``registry``: Apicurio's kafkasql storage topics and its ``apicurio-`` consumer groups.

Passwords are random, made once into ``<TELEMETRY_HOME>/secrets/<principal>.password`` (0600); they
reach Kafka's storage tool through a Java argument file, never a command line that ``ps`` shows.

The registry takes HTTP basic authentication with the same principals and passwords (Apicurio's
``quarkus.http.auth.basic`` with Quarkus' embedded users, and its role-based authorization): the
``operator`` may register versions and set a subject's compatibility (``sr-developer``), the ``producer``
and ``streaming`` may only read (``sr-readonly``), nobody may change the global rules (``sr-admin``, which
no principal has), anonymous requests are refused, and every ``DELETE`` is denied to everyone (a Quarkus
HTTP permission: Apicurio's own ``apicurio.rest.deletion.*`` switches do not cover its Confluent API).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from core.catalog import Stream
from core.errors import StackError
from core.kafka_logs import librdkafka_logger
from core.secrets import keep_private, private_dir
from core.settings import ConnectionSettings, jaas_quote
from stack.tls import TlsFiles

__all__ = [
    "MECHANISM",
    "PRINCIPALS",
    "REGISTRY_ROLES",
    "REGISTRY_TOPICS",
    "acl_bindings",
    "apply_acls",
    "broker_properties",
    "client_settings",
    "password_file",
    "registry_properties",
    "scram_arguments",
]

MECHANISM = "SCRAM-SHA-512"
PRINCIPALS = ("broker", "operator", "producer", "streaming", "registry")
REGISTRY_TOPICS = ("kafkasql-journal", "kafkasql-snapshots", "registry-events")
REGISTRY_ROLES = {"operator": "sr-developer", "producer": "sr-readonly", "streaming": "sr-readonly"}
"""The registry users and their Apicurio roles: ``sr-developer`` reads and writes, ``sr-readonly`` reads."""
_SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
_O = AclOperation


def password_file(home: Path, principal: str) -> Path:
    """The file holding ``principal``'s password, made on first use (random, mode 0600)."""
    if principal not in PRINCIPALS:
        msg = f"unknown principal {principal!r}; the secured stack has {', '.join(PRINCIPALS)}"
        raise StackError(msg)
    path = private_dir(home / "secrets") / f"{principal}.password"
    keep_private(path, lambda: secrets.token_urlsafe(24))
    return path


def _password(home: Path, principal: str) -> str:
    return password_file(home, principal).read_text().strip()


def _jaas(home: Path, principal: str) -> str:
    return f"{_SCRAM} required username={jaas_quote(principal)} password={jaas_quote(_password(home, principal))};"


def _properties_value(value: str) -> str:
    """A value as Java's ``Properties`` reads it back unchanged."""
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def broker_properties(home: Path, tls: TlsFiles, kafka_port: int, controller_port: int) -> dict[str, str]:
    """The security part of one node's ``server.properties``."""
    return {
        "listeners": f"SASL_SSL://127.0.0.1:{kafka_port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"SASL_SSL://127.0.0.1:{kafka_port}",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
        "inter.broker.listener.name": "SASL_SSL",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": _properties_value(_jaas(home, "broker")),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(tls.node_keystore),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(tls.ca),
        "listener.name.controller.ssl.client.auth": "required",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:broker;{tls.principal}",
        "allow.everyone.if.no.acl.found": "false",
    }


def scram_arguments(home: Path) -> list[str]:
    """``kafka-storage format`` arguments that create every principal's SCRAM credentials (for an argument file)."""
    arguments = []
    for principal in PRINCIPALS:
        arguments += ["--add-scram", f"{MECHANISM}=[name={principal},password={_password(home, principal)}]"]
    return arguments


def client_settings(
    home: Path, principal: str, bootstrap_servers: str, registry_url: str, prefix: str
) -> dict[str, str]:
    """The ``TELEMETRY_*`` variables a client needs to connect as ``principal`` (a password file, not the password)."""
    return {
        "TELEMETRY_BOOTSTRAP_SERVERS": bootstrap_servers,
        "TELEMETRY_REGISTRY_URL": registry_url,
        "TELEMETRY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "TELEMETRY_KAFKA_SASL_MECHANISM": MECHANISM,
        "TELEMETRY_KAFKA_SASL_USERNAME": principal,
        "TELEMETRY_KAFKA_SASL_PASSWORD_FILE": str(password_file(home, principal)),
        "TELEMETRY_KAFKA_SSL_CA_LOCATION": str(home / "tls" / "ca.pem"),
        **({"TELEMETRY_TOPIC_PREFIX": prefix} if prefix else {}),
        **(_registry_login(home, principal) if principal in REGISTRY_ROLES else {}),
    }


def _registry_login(home: Path, principal: str) -> dict[str, str]:
    # The local registry serves plain http on loopback only: basic auth there is allowed on purpose.
    return {
        "TELEMETRY_REGISTRY_USER": principal,
        "TELEMETRY_REGISTRY_PASSWORD_FILE": str(password_file(home, principal)),
        "TELEMETRY_REGISTRY_ALLOW_INSECURE_AUTH": "1",
    }


def registry_properties(home: Path, tls: TlsFiles) -> str:
    """Apicurio's settings of the secured stack, as a file's text (it holds passwords: write it private).

    Its Kafka client for the kafkasql storage (``apicurio.kafka.common.*``), and who may use its API.
    """
    props = {
        "apicurio.kafka.common.security.protocol": "SASL_SSL",
        "apicurio.kafka.common.sasl.mechanism": MECHANISM,
        "apicurio.kafka.common.sasl.jaas.config": _jaas(home, "registry"),
        "apicurio.kafka.common.ssl.truststore.type": "PEM",
        "apicurio.kafka.common.ssl.truststore.location": str(tls.ca),
        # Apicurio blanks this unless given; keep the Java client's default: check the broker's name.
        "apicurio.kafka.common.ssl.endpoint.identification.algorithm": "https",
        "quarkus.http.auth.basic": "true",
        "apicurio.auth.role-based-authorization": "true",
        "apicurio.auth.role-source": "token",  # the roles of the authenticated identity: the embedded users' below
        "quarkus.security.users.embedded.plain-text": "true",
        # Quarkus denies a method that no permission of a matched path names: every other one passes on to
        # Apicurio's own checks.
        "quarkus.http.auth.permission.no-deletes.paths": "/*",
        "quarkus.http.auth.permission.no-deletes.methods": "DELETE",
        "quarkus.http.auth.permission.no-deletes.policy": "deny",
        "quarkus.http.auth.permission.the-rest.paths": "/*",
        "quarkus.http.auth.permission.the-rest.policy": "permit",
    }
    for principal, role in REGISTRY_ROLES.items():
        props[f"quarkus.security.users.embedded.users.{principal}"] = _password(home, principal)
        props[f"quarkus.security.users.embedded.roles.{principal}"] = role
    return "".join(f"{k}={_properties_value(v)}\n" for k, v in props.items())


def _allow(kind: ResourceType, name: str, pattern: ResourcePatternType, principal: str, op: AclOperation) -> AclBinding:
    return AclBinding(kind, name, pattern, f"User:{principal}", "*", op, AclPermissionType.ALLOW)


def acl_bindings(streams: list[Stream], prefix: str) -> list[AclBinding]:
    """Every ACL of the secured stack: what each principal may do, and nothing more."""
    topic, group = ResourceType.TOPIC, ResourceType.GROUP
    literal, prefixed = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
    bindings = []
    for name in (f"{prefix}{s.topic}" for s in streams):
        bindings += [_allow(topic, name, literal, "operator", op) for op in
                     (_O.CREATE, _O.DESCRIBE, _O.DESCRIBE_CONFIGS, _O.ALTER)]  # fmt: skip
        bindings += [_allow(topic, name, literal, "producer", op) for op in (_O.WRITE, _O.DESCRIBE)]
        bindings += [_allow(topic, name, literal, "streaming", op) for op in (_O.READ, _O.DESCRIBE)]
    bindings.append(_allow(group, f"{prefix}telemetry-lake", prefixed, "streaming", _O.READ))
    for name in REGISTRY_TOPICS:
        bindings += [_allow(topic, name, literal, "registry", op) for op in
                     (_O.CREATE, _O.DESCRIBE, _O.DESCRIBE_CONFIGS, _O.READ, _O.WRITE)]  # fmt: skip
    bindings.append(_allow(group, "apicurio-", prefixed, "registry", _O.READ))
    return bindings


def apply_acls(admin_connection: ConnectionSettings, bindings: list[AclBinding], timeout: float = 30.0) -> None:
    """Create the ACLs (creating one that exists changes nothing)."""
    admin = AdminClient({**admin_connection.kafka_config(), "logger": librdkafka_logger("stack")})
    for binding, future in admin.create_acls(bindings, request_timeout=timeout).items():
        try:
            future.result()
        except KafkaException as exc:
            msg = f"cannot create the ACL {binding}: {exc}"
            raise StackError(msg) from exc

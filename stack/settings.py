"""The local stack's settings: size, state folder, security mode and the ports that follow from it.

``TELEMETRY_SECURITY=sasl_ssl`` starts the secured stack (see :mod:`stack.secured`) on its own ports,
each the plain stack's plus 100 (Kafka 9192-9194, controllers 19192-19194, registry 8181, its
management 9181, moto 5100), and in ``<TELEMETRY_HOME>/secured``, so both stacks can run side by side,
from one ``TELEMETRY_HOME`` too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ConfigError
from core.settings import ConnectionSettings, check_known, env_int, env_str, local_dir
from stack.secured import client_settings

__all__ = [
    "CONTROLLER_PORT",
    "HOST",
    "KAFKA_PORT",
    "MOTO_PORT",
    "REGISTRY_MANAGEMENT_PORT",
    "REGISTRY_PORT",
    "SECURED_PORT_OFFSET",
    "SECURITY_MODES",
    "StackSettings",
]

HOST = "127.0.0.1"
KAFKA_PORT = 9092
CONTROLLER_PORT = 19092
REGISTRY_PORT = 8081
REGISTRY_MANAGEMENT_PORT = 9081
MOTO_PORT = 5000
SECURITY_MODES = ("plaintext", "sasl_ssl")
SECURED_PORT_OFFSET = 100


@dataclass(frozen=True)
class StackSettings:
    """How big the local stack is, where it keeps its state, and whether it runs secured."""

    brokers: int = 3
    home: Path = field(default_factory=local_dir)
    timeout: float = 180.0
    kafka_heap: str = "512m"
    registry_heap: str = "512m"
    security: str = "plaintext"
    topic_prefix: str = ""
    root: Path | None = None
    """``TELEMETRY_HOME`` (``.local/``) when ``home`` is a folder inside it (the secured stack's)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackSettings:
        """Read ``TELEMETRY_BROKERS``, ``TELEMETRY_HOME``, ``TELEMETRY_SECURITY``, the timeout and the heap sizes.

        ``TELEMETRY_TOPIC_PREFIX`` names the topics the secured stack's ACLs cover.
        """
        env = os.environ if env is None else env
        check_known(env)
        brokers = env_int(env, "TELEMETRY_BROKERS", 3, minimum=1)
        if brokers not in (1, 3):
            msg = f"TELEMETRY_BROKERS must be 3 (the default) or 1 (small machines), got {brokers}"
            raise ConfigError(msg)
        security = env_str(env, "TELEMETRY_SECURITY", "plaintext").lower()
        if security not in SECURITY_MODES:
            msg = f"TELEMETRY_SECURITY must be one of {', '.join(SECURITY_MODES)}, got {security!r}"
            raise ConfigError(msg)
        root = local_dir(env)
        # Always a folder of its own: the secured stack must never rewrite the plain one's configuration.
        home = root / "secured" if security != "plaintext" else root
        return cls(
            root=root,
            brokers=brokers,
            home=home,
            timeout=float(env_int(env, "TELEMETRY_STACK_TIMEOUT", 180, minimum=10)),
            kafka_heap=env_str(env, "TELEMETRY_KAFKA_HEAP", "512m"),
            registry_heap=env_str(env, "TELEMETRY_REGISTRY_HEAP", "512m"),
            security=security,
            topic_prefix=env_str(env, "TELEMETRY_TOPIC_PREFIX", ""),
        )

    @property
    def private_dirs(self) -> tuple[Path, ...]:
        """The folders only their owner may enter: ``TELEMETRY_HOME`` and the stack's own folder in it."""
        return tuple(dict.fromkeys((self.root or self.home, self.home)))

    @property
    def secured(self) -> bool:
        """Whether this is the TLS + SCRAM + ACL stack."""
        return self.security == "sasl_ssl"

    @property
    def _offset(self) -> int:
        return SECURED_PORT_OFFSET if self.secured else 0

    def kafka_port(self, node: int) -> int:
        """Client listener of node ``node`` (0-based)."""
        return KAFKA_PORT + self._offset + node

    def controller_port(self, node: int) -> int:
        """Controller listener of node ``node`` (0-based)."""
        return CONTROLLER_PORT + self._offset + node

    @property
    def registry_port(self) -> int:
        """The registry's HTTP port."""
        return REGISTRY_PORT + self._offset

    @property
    def registry_management_port(self) -> int:
        """The registry's management (health) port."""
        return REGISTRY_MANAGEMENT_PORT + self._offset

    @property
    def moto_port(self) -> int:
        """Moto's port."""
        return MOTO_PORT + self._offset

    @property
    def bootstrap_servers(self) -> str:
        """All broker listeners, comma-separated."""
        return ",".join(f"{HOST}:{self.kafka_port(i)}" for i in range(self.brokers))

    @property
    def registry_url(self) -> str:
        """The registry's Confluent-compatible API."""
        return f"http://{HOST}:{self.registry_port}/apis/ccompat/v7"

    @property
    def replication_factor(self) -> int:
        """Replicas per partition: every broker, at most 3."""
        return min(3, self.brokers)

    @property
    def min_insync_replicas(self) -> int:
        """Two of three replicas must acknowledge an acks=all write (one on a single broker)."""
        return min(2, self.brokers)

    def client_env(self, principal: str) -> dict[str, str]:
        """The ``TELEMETRY_*`` variables of a client of this stack; ``principal`` matters on the secured one."""
        if not self.secured:
            return {"TELEMETRY_BOOTSTRAP_SERVERS": self.bootstrap_servers, "TELEMETRY_REGISTRY_URL": self.registry_url}
        return client_settings(self.home, principal, self.bootstrap_servers, self.registry_url, self.topic_prefix)

    def connection(self, principal: str = "broker") -> ConnectionSettings:
        """Connection settings of a client of this stack as ``principal`` (the stack's own calls: ``broker``)."""
        return ConnectionSettings.from_env(self.client_env(principal))

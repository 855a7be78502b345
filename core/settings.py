"""Settings shared by the stages, read from environment variables and validated on load.

The project's own variables carry the ``TELEMETRY_`` prefix; AWS ones keep their standard names
(``AWS_REGION``, ``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_S3``), which boto3 and hadoop-aws read
themselves. Stage settings build on :class:`ConnectionSettings` and are turned into client
configuration dicts only at the edge.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from core.catalog import project_root
from core.errors import ConfigError
from core.kafka_security import SASL_MECHANISMS, SECURITY_PROTOCOLS, check_kafka_security
from core.lake import LakeLocation
from core.secrets import Secret, jaas_quote, read_secret

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "DEFAULT_DATABASE",
    "DEFAULT_REGISTRY_URL",
    "PREFIX",
    "SASL_MECHANISMS",
    "SECURITY_PROTOCOLS",
    "ConnectionSettings",
    "Secret",
    "check_known",
    "database_name",
    "env_int",
    "env_str",
    "jaas_quote",
    "jvm_dir",
    "lake_location",
    "local_dir",
]

PREFIX = "TELEMETRY_"
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_REGISTRY_URL = "http://127.0.0.1:8081/apis/ccompat/v7"
DEFAULT_DATABASE = "smartcity"
"""The Glue database of the lake's tables, and the DuckDB schema of its local views (``TELEMETRY_GLUE_DATABASE``)."""

# Every TELEMETRY_ variable the project reads; an unknown one is refused (a typo would be silently ignored).
KNOWN_VARIABLES = frozenset(
    {
        "TELEMETRY_BOOTSTRAP_SERVERS",
        "TELEMETRY_REGISTRY_URL",
        "TELEMETRY_REGISTRY_USER",
        "TELEMETRY_REGISTRY_PASSWORD",
        "TELEMETRY_KAFKA_SECURITY_PROTOCOL",
        "TELEMETRY_KAFKA_SASL_MECHANISM",
        "TELEMETRY_KAFKA_SASL_USERNAME",
        "TELEMETRY_KAFKA_SASL_PASSWORD",
        "TELEMETRY_KAFKA_SASL_PASSWORD_FILE",
        "TELEMETRY_KAFKA_SSL_CA_LOCATION",
        "TELEMETRY_REGISTRY_PASSWORD_FILE",
        "TELEMETRY_REGISTRY_ALLOW_INSECURE_AUTH",
        "TELEMETRY_SECURITY",
        "TELEMETRY_QUERY_SQL",
        "TELEMETRY_TOPIC_PREFIX",
        "TELEMETRY_LAKE",
        "TELEMETRY_CHECKPOINTS",
        "TELEMETRY_HOME",
        "TELEMETRY_SCHEMAS_DIR",
        "TELEMETRY_BROKERS",
        "TELEMETRY_STACK_TIMEOUT",
        "TELEMETRY_KAFKA_HEAP",
        "TELEMETRY_REGISTRY_HEAP",
        "TELEMETRY_SPARK_MASTER",
        "TELEMETRY_SPARK_DRIVER_MEMORY",
        "TELEMETRY_GLUE_DATABASE",
        "TELEMETRY_ATHENA_RESULTS",
        "TELEMETRY_FLEET_MOVING_KMH",
        "TELEMETRY_FLEET_SILENT_AFTER_S",
        "TELEMETRY_MAP_TILES",
        "TELEMETRY_PROJECTION_START",
        "TELEMETRY_FAILPOINT",
        "TELEMETRY_BUILD_DIR",
        "TELEMETRY_LOG_LEVEL",
        "TELEMETRY_SUPERSET_PORT",
        "TELEMETRY_SUPERSET_PASSWORD",
        "TELEMETRY_DASHBOARD_ENGINE",
        "TELEMETRY_ATHENA_WORKGROUP",
        "TELEMETRY_SNAPSHOT_RETENTION_HOURS",
        "TELEMETRY_ORPHAN_FILE_AGE_HOURS",
        "TELEMETRY_MAINTENANCE_INTERVAL_MINUTES",
        "TELEMETRY_CATALOG",
        "TELEMETRY_CATALOG_DB",
    }
)


def check_known(env: Mapping[str, str]) -> None:
    """Refuse ``TELEMETRY_*`` variables the project does not read (most likely a typo)."""
    unknown = sorted(k for k in env if k.startswith(PREFIX) and k not in KNOWN_VARIABLES)
    if unknown:
        msg = f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_VARIABLES))}"
        raise ConfigError(msg)


def env_str(env: Mapping[str, str], name: str, default: str) -> str:
    """A string setting; empty counts as unset."""
    value = env.get(name, "").strip()
    return value or default


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int | None = None) -> int:
    """An integer setting, refused with a clear message when it is not one."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        msg = f"{name} must be a whole number, got {raw!r}"
        raise ConfigError(msg) from exc
    if minimum is not None and value < minimum:
        msg = f"{name} must be at least {minimum}, got {value}"
        raise ConfigError(msg)
    return value


def local_dir(env: Mapping[str, str] | None = None) -> Path:
    """The ignored folder for local state (stack data, logs, lake, checkpoints): ``TELEMETRY_HOME``."""
    env = os.environ if env is None else env
    return Path(env_str(env, "TELEMETRY_HOME", str(project_root() / ".local")))


def lake_location(env: Mapping[str, str] | None = None, override: str | None = None) -> LakeLocation:
    """The lake: ``override`` (a CLI flag) when given, else ``TELEMETRY_LAKE``, else ``<TELEMETRY_HOME>/lake``.

    Raises:
        ConfigError: the location is malformed.
    """
    env = os.environ if env is None else env
    if override is not None and override.strip():
        return LakeLocation.parse(override)
    return LakeLocation.parse(env_str(env, "TELEMETRY_LAKE", str(local_dir(env) / "lake")))


_DATABASE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,254}$")


def database_name(env: Mapping[str, str] | None = None, override: str | None = None) -> str:
    """The lake's database: ``override`` when given, else ``TELEMETRY_GLUE_DATABASE``, else ``smartcity``.

    Raises:
        ConfigError: a name Glue, Athena or DuckDB would refuse or change.
    """
    env = os.environ if env is None else env
    name = (override or "").strip() or env_str(env, "TELEMETRY_GLUE_DATABASE", DEFAULT_DATABASE)
    if not _DATABASE_NAME.match(name):
        msg = (
            f"Glue database name {name!r} is not allowed: use lower-case letters, digits and underscores, "
            "starting with a letter (Athena lower-cases names anyway)"
        )
        raise ConfigError(msg)
    return name


def jvm_dir(profile: str) -> Path:
    """Where `make setup` put the jars of one pom.xml profile (``kafka``, ``apicurio``, ``spark``)."""
    return project_root() / ".cache" / "jvm" / profile


def _check_url(name: str, url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        msg = f"{name} must be an http(s) URL such as {DEFAULT_REGISTRY_URL}, got {url!r}"
        raise ConfigError(msg)
    return url.rstrip("/")


@dataclass(frozen=True)
class ConnectionSettings:
    """Where Kafka and the Schema Registry are, and how to authenticate to them."""

    bootstrap_servers: str = DEFAULT_BOOTSTRAP
    registry_url: str = DEFAULT_REGISTRY_URL
    registry_user: str | None = None
    registry_password: Secret | None = None
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: Secret | None = None
    ssl_ca_location: str | None = None
    topic_prefix: str = ""
    allow_insecure_registry_auth: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: str | None) -> ConnectionSettings:
        """Read the ``TELEMETRY_*`` variables; keyword overrides (CLI flags) win over them when not None."""
        env = os.environ if env is None else env
        check_known(env)

        def pick(key: str, var: str, default: str | None) -> str | None:
            given = overrides.get(key)
            if given is not None:
                return given
            return env.get(var, "").strip() or default

        password = read_secret(env, "TELEMETRY_REGISTRY_PASSWORD", "TELEMETRY_REGISTRY_PASSWORD_FILE")
        sasl_password = read_secret(env, "TELEMETRY_KAFKA_SASL_PASSWORD", "TELEMETRY_KAFKA_SASL_PASSWORD_FILE")
        protocol = pick("security_protocol", "TELEMETRY_KAFKA_SECURITY_PROTOCOL", None)
        mechanism = pick("sasl_mechanism", "TELEMETRY_KAFKA_SASL_MECHANISM", None)
        settings = cls(
            bootstrap_servers=pick("bootstrap_servers", "TELEMETRY_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP) or "",
            registry_url=_check_url(
                "TELEMETRY_REGISTRY_URL",
                pick("registry_url", "TELEMETRY_REGISTRY_URL", DEFAULT_REGISTRY_URL) or "",
            ),
            registry_user=pick("registry_user", "TELEMETRY_REGISTRY_USER", None),
            registry_password=password,
            security_protocol=protocol.upper() if protocol else None,
            sasl_mechanism=mechanism.upper() if mechanism else None,
            sasl_username=pick("sasl_username", "TELEMETRY_KAFKA_SASL_USERNAME", None),
            sasl_password=sasl_password,
            ssl_ca_location=pick("ssl_ca_location", "TELEMETRY_KAFKA_SSL_CA_LOCATION", None),
            topic_prefix=pick("topic_prefix", "TELEMETRY_TOPIC_PREFIX", "") or "",
            allow_insecure_registry_auth=env.get("TELEMETRY_REGISTRY_ALLOW_INSECURE_AUTH", "").strip() == "1",
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse contradictory settings."""
        if not self.bootstrap_servers:
            msg = "TELEMETRY_BOOTSTRAP_SERVERS is empty; give host:port[,host:port...]"
            raise ConfigError(msg)
        if bool(self.registry_user) != bool(self.registry_password):
            msg = "TELEMETRY_REGISTRY_USER and TELEMETRY_REGISTRY_PASSWORD go together; set both or neither"
            raise ConfigError(msg)
        insecure = urlparse(self.registry_url).scheme != "https"
        if self.registry_user and insecure and not self.allow_insecure_registry_auth:
            msg = (
                f"registry basic auth over plain http would send the password in clear to {self.registry_url}; "
                "use an https TELEMETRY_REGISTRY_URL (or set TELEMETRY_REGISTRY_ALLOW_INSECURE_AUTH=1 to allow it)"
            )
            raise ConfigError(msg)
        check_kafka_security(
            self.security_protocol, self.sasl_mechanism, self.sasl_username, self.sasl_password, self.ssl_ca_location
        )

    def topic(self, name: str) -> str:
        """The physical topic name, with the configured prefix."""
        return f"{self.topic_prefix}{name}"

    def subject(self, subject: str) -> str:
        """The registry subject for a declared subject, with the topic prefix (TopicNameStrategy)."""
        return f"{self.topic_prefix}{subject}"

    def kafka_config(self) -> dict[str, str]:
        """Librdkafka dotted-key configuration for these connection settings (the edge)."""
        config = {"bootstrap.servers": self.bootstrap_servers}
        if self.security_protocol:
            config["security.protocol"] = self.security_protocol
        if self.sasl_mechanism and self.sasl_username and self.sasl_password:
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username
            config["sasl.password"] = self.sasl_password.get()
        if self.ssl_ca_location:
            config["ssl.ca.location"] = self.ssl_ca_location
        return config

    def registry_auth(self) -> tuple[str, str] | None:
        """HTTP basic auth for the registry, if configured."""
        if self.registry_user and self.registry_password:
            return (self.registry_user, self.registry_password.get())
        return None

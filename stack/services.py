"""The services of the local stack and how each is started and checked.

Kafka runs as N nodes in KRaft combined mode (each broker and controller; N=3 by default, or 1 with
``TELEMETRY_BROKERS=1`` for small machines), Apicurio Registry with Kafka-backed (kafkasql) storage so
schema ids survive a restart, and moto's server as a stand-in AWS endpoint. All bind to 127.0.0.1.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

from core import procs
from core.errors import StackError
from core.secrets import child_env, private_dir, write_private
from core.settings import jvm_dir
from stack.secured import broker_properties, registry_properties, scram_arguments
from stack.settings import HOST, MOTO_PORT, StackSettings
from stack.tls import ensure_tls, tls_files

__all__ = [
    "MOTO_PORT",
    "Service",
    "StackSettings",
    "new_cluster_id",
    "prepare_kafka",
    "registry_caught_up",
    "services",
    "write_kafka_configs",
]


@dataclass(frozen=True)
class Service:
    """One process of the stack."""

    name: str
    port: int
    address: str
    command: list[str]
    env: dict[str, str]
    state_dir: Path

    @property
    def pid_file(self) -> Path:
        """Where its pid is kept."""
        return self.state_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        """Where its output goes."""
        return self.state_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """Its pid while it runs."""
        return procs.read_pid(self.pid_file, self.command)


def _java() -> str:
    java = shutil.which("java")
    if not java:
        msg = "java is not on PATH; the stack needs Java 17+ (run `make setup` for details)"
        raise StackError(msg)
    return java


def _need(path: Path) -> Path:
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        msg = f"{path} is missing; run `make setup` first"
        raise StackError(msg)
    return path


def _registry_jar() -> Path:
    app = _need(jvm_dir("apicurio") / "quarkus-app")
    # Apicurio 3.0 ships a runner jar; later 3.x a quarkus-run.jar.
    jars = sorted(app.glob("*-runner.jar")) or [app / "quarkus-run.jar"]
    return jars[0]


def _kafka_properties(settings: StackSettings, node: int, data_dir: Path) -> str:
    voters = ",".join(f"{i + 1}@{HOST}:{settings.controller_port(i)}" for i in range(settings.brokers))
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node + 1),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{HOST}:{settings.kafka_port(node)},CONTROLLER://{HOST}:{settings.controller_port(node)}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{settings.kafka_port(node)}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        "default.replication.factor": str(settings.replication_factor),
        "min.insync.replicas": str(settings.min_insync_replicas),
        "offsets.topic.replication.factor": str(settings.replication_factor),
        "transaction.state.log.replication.factor": str(settings.replication_factor),
        "transaction.state.log.min.isr": str(settings.min_insync_replicas),
        "share.coordinator.state.topic.replication.factor": str(settings.replication_factor),
        "share.coordinator.state.topic.min.isr": str(settings.min_insync_replicas),
        "group.initial.rebalance.delay.ms": "0",
        # Topics are created by the stack with their declared partitions and replication, never by a typo.
        "auto.create.topics.enable": "false",
        "log.retention.hours": "168",
    }
    if settings.secured:
        tls = tls_files(settings.home)
        props |= broker_properties(settings.home, tls, settings.kafka_port(node), settings.controller_port(node))
    return "".join(f"{k}={v}\n" for k, v in props.items())


_LOG4J2 = """\
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


def new_cluster_id() -> str:
    """A random KRaft cluster id: a UUID in URL-safe base64, never starting with "-" (as Kafka's own ids)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def write_kafka_configs(settings: StackSettings) -> list[Path]:
    """Write the stack's folders (0700), certificates (secured) and each node's configuration (0600); runs nothing.

    Returns:
        Each node's ``server.properties``, in node order.
    """
    for folder in settings.private_dirs:
        private_dir(folder)
    base = settings.home / "kafka"
    base.mkdir(parents=True, exist_ok=True)
    cluster_file = base / "cluster.id"
    if not cluster_file.exists():
        cluster_file.write_text(new_cluster_id())
    (base / "log4j2.properties").write_text(_LOG4J2)
    if settings.secured:
        ensure_tls(settings.home)
    configs = []
    for node in range(settings.brokers):
        config = base / f"node-{node + 1}" / "server.properties"
        config.parent.mkdir(parents=True, exist_ok=True)
        # The secured one holds the brokers' password; an earlier, wider file is replaced, not reused.
        configs.append(write_private(config, _kafka_properties(settings, node, config.parent / "data")))
    return configs


def prepare_kafka(settings: StackSettings) -> None:
    """Write each node's configuration and format its storage once (a kept cluster keeps its id)."""
    configs = write_kafka_configs(settings)
    base = settings.home / "kafka"
    cluster_id = (base / "cluster.id").read_text().strip()
    classpath = f"{_need(jvm_dir('kafka'))}/*"
    for node, config in enumerate(configs):
        if (config.parent / "data" / "meta.properties").exists():
            continue
        arguments = ["format", f"--cluster-id={cluster_id}", "-c", str(config)]  # "=": an id may start with "-"
        if settings.secured:
            arguments += scram_arguments(settings.home)
        result = _storage_tool(classpath, base, arguments)
        if result.returncode != 0:
            msg = f"formatting Kafka storage of node {node + 1} failed: {(result.stderr or result.stdout)[-400:]}"
            raise StackError(msg)


def _storage_tool(classpath: str, base: Path, arguments: list[str]) -> subprocess.CompletedProcess[str]:
    """Run Kafka's storage tool with its arguments in a Java argument file: SCRAM passwords never show in ``ps``."""
    lines = [f'"{a}"' for a in ["kafka.tools.StorageTool", *arguments]]
    argfile = write_private(base / "storage-tool.args", "\n".join(lines) + "\n")
    try:
        return subprocess.run(
            [_java(), "-cp", classpath, f"-Dlog4j2.configurationFile={base / 'log4j2.properties'}", f"@{argfile}"],
            capture_output=True, text=True, check=False, env=child_env(os.environ),
        )  # fmt: skip
    finally:
        argfile.unlink(missing_ok=True)


def prepare_registry(settings: StackSettings) -> Path | None:
    """The secured registry's Kafka client settings file (0600; it holds its password), or None on the plain stack."""
    if not settings.secured:
        return None
    path = private_dir(settings.home / "registry") / "kafkasql.properties"
    return write_private(path, registry_properties(settings.home, tls_files(settings.home)))


def services(settings: StackSettings) -> list[Service]:
    """The stack's processes in start order (Kafka nodes, then the registry, then moto)."""
    state = settings.home / "run"
    base = settings.home / "kafka"
    env = child_env(os.environ)  # the services read their settings from files and the variables named here
    found: list[Service] = []
    for node in range(settings.brokers):
        found.append(
            Service(
                name=f"kafka-{node + 1}",
                port=settings.kafka_port(node),
                address=f"{HOST}:{settings.kafka_port(node)}",
                command=[
                    _java(),
                    f"-Xms{settings.kafka_heap}",
                    f"-Xmx{settings.kafka_heap}",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    f"-Dlog4j2.configurationFile={base / 'log4j2.properties'}",
                    "-cp",
                    f"{jvm_dir('kafka')}/*",
                    "kafka.Kafka",
                    str(base / f"node-{node + 1}" / "server.properties"),
                ],
                env=env,
                state_dir=state,
            )
        )
    # The secured registry's Kafka settings come from a file (its password with them), named here.
    kafkasql = settings.home / "registry" / "kafkasql.properties"
    registry_config = [f"-Dquarkus.config.locations={kafkasql.as_uri()}"] if settings.secured else []
    registry_env = {
        **env,
        "QUARKUS_HTTP_HOST": HOST,
        "QUARKUS_HTTP_PORT": str(settings.registry_port),
        "QUARKUS_MANAGEMENT_HOST": HOST,
        "QUARKUS_MANAGEMENT_PORT": str(settings.registry_management_port),
        "APICURIO_STORAGE_KIND": "kafkasql",
        "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
    }
    if not settings.secured:  # the plain stack's tests clean up after themselves; the secured one refuses deletes
        registry_env |= {
            "APICURIO_REST_DELETION_ARTIFACT_ENABLED": "true",
            "APICURIO_REST_DELETION_ARTIFACT_VERSION_ENABLED": "true",
            "APICURIO_REST_DELETION_GROUP_ENABLED": "true",
        }
    found.append(
        Service(
            name="registry",
            port=settings.registry_port,
            address=settings.registry_url,
            command=[
                _java(),
                f"-Xms{settings.registry_heap}",
                f"-Xmx{settings.registry_heap}",
                *registry_config,
                "-jar",
                str(_registry_jar()),
            ],
            env=registry_env,
            state_dir=state,
        )
    )
    moto = Path(sys.executable).parent / "moto_server"
    found.append(
        Service(
            name="moto",
            port=settings.moto_port,
            address=f"http://{HOST}:{settings.moto_port}",
            command=[str(moto), "-H", HOST, "-p", str(settings.moto_port)],
            env=env,
            state_dir=state,
        )
    )
    return found


def registry_ready(settings: StackSettings) -> bool:
    """Whether the registry answers its Confluent API (the secured one: to the operator)."""
    auth = settings.connection("operator").registry_auth() if settings.secured else None
    try:
        return requests.get(f"{settings.registry_url}/subjects", timeout=2, auth=auth).status_code == 200
    except requests.RequestException:
        return False


def registry_caught_up(log_file: Path) -> bool:
    """Whether the registry's kafkasql storage has replayed its journal since it last started.

    Apicurio answers its API while it replays: until then it shows a past state (subjects deleted
    since, versions missing), so a client would take a registered schema for an unknown one.
    """
    text = log_file.read_text(errors="replace") if log_file.exists() else ""
    return text.rfind("KafkaSQL storage bootstrapped") > text.rfind("Starting KSQL consumer thread")


def moto_ready(settings: StackSettings) -> bool:
    """Whether moto answers."""
    try:
        return requests.get(f"http://{HOST}:{settings.moto_port}/moto-api/", timeout=2).status_code < 500
    except requests.RequestException:
        return False

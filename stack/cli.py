"""`python -m stack up|down|status|clean`: run the local stack as background processes; `topics` on any cluster.

``python -m stack env PRINCIPAL`` prints the ``export TELEMETRY_*=...`` lines of a client of the
stack (on the secured one, as that principal: a password file, never the password).
``python -m stack topics`` checks the five topics of the cluster that ``TELEMETRY_BOOTSTRAP_SERVERS``
(and the SASL settings) point at against streams.toml, with the topic prefix; ``--create`` creates what
is missing and ``--partitions vehicle=6`` raises a topic's partitions.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import time
from collections.abc import Callable
from functools import partial

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from core import procs
from core.catalog import load_catalog
from core.cli import run_cli
from core.errors import StackError
from core.kafka_logs import librdkafka_logger
from core.settings import ConnectionSettings
from core.topics import check_topics, ensure_topics, raise_partitions, topic_states
from stack.secured import PRINCIPALS, acl_bindings, apply_acls
from stack.services import (
    Service,
    StackSettings,
    moto_ready,
    prepare_kafka,
    prepare_registry,
    registry_caught_up,
    registry_ready,
    services,
)

__all__ = ["down", "is_up", "main", "up"]


def _say(message: str) -> None:
    print(message, flush=True)  # noqa: T201 - this is a CLI


def _live_brokers(settings: StackSettings) -> int:
    admin = AdminClient({**settings.connection("broker").kafka_config(), "socket.timeout.ms": "2000",
                         "logger": librdkafka_logger("stack")})  # fmt: skip
    try:
        return len(admin.list_topics(timeout=2).brokers)
    except KafkaException:
        return 0


def _ready(settings: StackSettings, service: Service) -> bool:
    if service.name.startswith("kafka"):
        return procs.port_open(service.port)
    if service.name == "registry":
        return registry_ready(settings) and registry_caught_up(service.log_file)
    return moto_ready(settings)


def is_up(settings: StackSettings) -> bool:
    """Whether every service of the stack runs and answers."""
    return all(s.pid() is not None and _ready(settings, s) for s in services(settings))


def _wait(what: str, check: Callable[[], bool], deadline: float, service: Service) -> None:
    while time.monotonic() < deadline:
        if service.pid() is None:
            log = procs.tail(service.log_file)
            msg = f"{service.name} exited while starting; last lines of {service.log_file}:\n{log}"
            raise StackError(msg)
        if check():
            return
        time.sleep(0.5)
    msg = (
        f"{service.name} not ready in time ({what}); last lines of {service.log_file}:\n{procs.tail(service.log_file)}"
    )
    raise StackError(msg)


def up(settings: StackSettings) -> bool:
    """Start what is not running, wait until it serves, create the topics; False when all was up already."""
    all_services = services(settings)
    if is_up(settings):
        return False
    for service in all_services:
        if service.pid() is None and procs.port_open(service.port):
            msg = (
                f"port {service.port} ({service.name}) is in use by a process this stack did not start; "
                "stop it, or point the platform at that service instead (see README)"
            )
            raise StackError(msg)
    prepare_kafka(settings)
    prepare_registry(settings)
    deadline = time.monotonic() + settings.timeout
    kafka = [s for s in all_services if s.name.startswith("kafka")]
    for service in kafka:
        if service.pid() is None:
            procs.start(service.command, pid_file=service.pid_file, log_file=service.log_file,
                        env=service.env, cwd=settings.home)  # fmt: skip
    for service in kafka:
        _wait("broker listener", partial(procs.port_open, service.port), deadline, service)
    _wait(
        f"{settings.brokers} live brokers",
        lambda: _live_brokers(settings) >= settings.brokers,
        deadline,
        kafka[0],
    )
    if settings.secured:
        apply_acls(settings.connection("broker"), acl_bindings(list(load_catalog().streams), settings.topic_prefix))
        connection = settings.connection("operator")
    else:
        connection = ConnectionSettings(bootstrap_servers=settings.bootstrap_servers)
    ensure_topics(
        connection,
        load_catalog().streams,
        replication_factor=settings.replication_factor,
        min_insync_replicas=settings.min_insync_replicas,
    )
    for service in all_services[len(kafka) :]:
        if service.pid() is None:
            procs.start(service.command, pid_file=service.pid_file, log_file=service.log_file,
                        env=service.env, cwd=settings.home)  # fmt: skip
    for service in all_services[len(kafka) :]:
        _wait("answering", partial(_ready, settings, service), deadline, service)
    return True


def down(settings: StackSettings) -> list[str]:
    """Stop exactly the processes the stack started (by pid and start time), all together; returns their names."""
    found = services(settings)
    stopped = set(procs.stop([s.pid_file for s in found], commands=[s.command for s in found]))
    return [s.name for s in reversed(found) if s.pid_file in stopped]


def _addresses(settings: StackSettings) -> None:
    _say(f"  Kafka bootstrap servers: {settings.bootstrap_servers}")
    _say(f"  Schema Registry (Confluent API): {settings.registry_url}")
    _say(f"  AWS endpoint (moto): http://127.0.0.1:{settings.moto_port}")
    if settings.secured:
        _say(f"  TLS, SCRAM-SHA-512 and ACLs; CA {settings.home / 'tls' / 'ca.pem'}")
        _say(f"  principals {', '.join(PRINCIPALS)}; their passwords in {settings.home / 'secrets'}")
        _say('  a client as one principal: eval "$(TELEMETRY_SECURITY=sasl_ssl python -m stack env producer)"')


def _env(principal: str | None) -> int:
    settings = StackSettings.from_env()
    if principal not in PRINCIPALS:
        msg = f"`stack env` takes a principal: {', '.join(PRINCIPALS)}"
        raise StackError(msg)
    for name, value in settings.client_env(principal).items():
        _say(f"export {name}={shlex.quote(value)}")
    return 0


def _status(settings: StackSettings) -> int:
    any_down = False
    for service in services(settings):
        pid = service.pid()
        state = "up" if pid is not None and _ready(settings, service) else "down"
        any_down |= state == "down"
        detail = f"pid {pid}" if pid else "not running"
        _say(f"{service.name:<10} {state:<5} {service.address:<42} {detail}")
    return 3 if any_down else 0


def _topics(args: argparse.Namespace) -> int:
    connection = ConnectionSettings.from_env()
    catalog = load_catalog()
    if args.create:
        created = ensure_topics(connection, catalog.streams)
        _say(f"created {', '.join(created)}" if created else "every topic exists")
    for spec in args.partitions or []:
        name, _, count = spec.partition("=")
        if not count.isdigit():
            msg = f"--partitions takes ENTITY=COUNT (vehicle=6), got {spec!r}"
            raise StackError(msg)
        before = raise_partitions(connection, catalog.get(name), int(count))
        _say(f"{connection.topic(catalog.get(name).topic)}: {before} -> {int(count)} partitions")
    states = topic_states(connection, catalog.streams)
    _say(f"{'topic':<32} {'partitions':>10} {'replicas':>8} {'min ISR':>7}")
    for state in states:
        _say(f"{state.topic:<32} {state.partitions or '-':>10} {state.replication_factor or '-':>8} "
             f"{state.min_insync_replicas or '-':>7}")  # fmt: skip
    problems = check_topics(catalog.streams, states)
    for problem in problems:
        _say(f"differs: {problem}")
    _say("every topic as streams.toml says" if not problems else f"{len(problems)} difference(s) from streams.toml")
    return 1 if problems else 0


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "clean", "topics", "env"])
    parser.add_argument("principal", nargs="?", help="env: the principal whose client settings to print")
    parser.add_argument("--create", action="store_true", help="topics: create the missing topics")
    parser.add_argument("--partitions", action="append", metavar="ENTITY=N", help="topics: raise a topic's partitions")
    args = parser.parse_args()
    if args.command == "topics":
        return _topics(args)
    if args.command == "env":
        return _env(args.principal)
    settings = StackSettings.from_env()
    if args.command == "up":
        started = time.monotonic()
        if not up(settings):
            _say("stack is already up; nothing changed")
        else:
            _say(f"stack is up ({settings.brokers} Kafka nodes) in {time.monotonic() - started:.1f}s")
        _addresses(settings)
        return 0
    if args.command == "down":
        stopped = down(settings)
        _say(f"stopped {', '.join(stopped)}; data kept in {settings.home}" if stopped else "stack was not running")
        return 0
    if args.command == "clean":
        down(settings)
        # The secured stack's CA, certificates and passwords go with its data: the next `up` makes new ones.
        for part in ("kafka", "run", *(("tls", "secrets", "registry") if settings.secured else ())):
            shutil.rmtree(settings.home / part, ignore_errors=True)
        _say(f"stack stopped and its data removed from {settings.home}")
        return 0
    return _status(settings)


if __name__ == "__main__":
    run_cli(main)

"""The streaming job's registry look-ups over HTTP: caching, retries, made-up ids, outages, lake-unsafe versions.

The registry here is a small scripted HTTP server speaking the Confluent API (the real client and
``requests`` run against it), so that 429 and 5xx answers and call counts can be set and seen; the
real registry's outage is in the faults suite.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core.errors import RegistryError, SchemaError
from core.registry import RegistryClient
from streaming.resolver import SchemaResolver

SUBJECT = "t_vehicle_data-value"


def _schema(year: str = "int") -> str:
    fields = [
        {"name": "id", "type": "string"},
        {"name": "vehicle_id", "type": "string"},
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "year", "type": year},
    ]
    return json.dumps({"type": "record", "name": "Vehicle", "fields": fields})


class Registry:
    """Versions of one subject, scripted failures (HTTP statuses served before the real answers), call counts."""

    def __init__(self) -> None:
        self.versions: dict[int, tuple[int, str]] = {1: (1, _schema())}  # version -> (id, schema)
        self.failures: list[int] = []
        self.calls: Counter[str] = Counter()

    def answer(self, path: str) -> tuple[int, Any]:
        self.calls[path] += 1
        if self.failures:
            return self.failures.pop(0), {"error_code": 50001, "message": "scripted failure"}
        base = f"/subjects/{SUBJECT}/versions"
        if path == base:
            return 200, sorted(self.versions)
        if path.startswith(base + "/"):
            number = max(self.versions) if path.endswith("/latest") else int(path.rsplit("/", 1)[1])
            schema_id, schema = self.versions[number]
            return 200, {"subject": SUBJECT, "version": number, "id": schema_id, "schema": schema}
        return 404, {"error_code": 40403, "message": "Schema not found"}


@pytest.fixture
def registry() -> Iterator[tuple[Registry, str]]:
    state = Registry()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = state.answer(self.path.split("?")[0])  # the client sends query parameters (deleted=...)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            del args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _resolver(url: str, **options: Any) -> SchemaResolver:
    # retries=0 as the job makes it: the resolver retries (and the test counts) each call itself
    return SchemaResolver(RegistryClient(url, timeout=2, retries=0), backoff=0.01, **options)


def test_429_and_5xx_are_retried_with_backoff_then_answered(registry: tuple[Registry, str]) -> None:
    state, url = registry
    state.failures = [429, 503, 500]
    plan = _resolver(url).plan("vehicle", "t_vehicle_data", SUBJECT)
    assert set(plan.writers) == {1}
    assert state.calls[f"/subjects/{SUBJECT}/versions/latest"] == 4


def test_a_404_is_not_retried_and_a_lasting_5xx_fails_the_batch(registry: tuple[Registry, str]) -> None:
    state, url = registry
    resolver = _resolver(url, refresh=3600)
    resolver.plan("vehicle", "t_vehicle_data", SUBJECT, [7])  # id 7 is nobody's: the registry answers 404
    assert state.calls["/schemas/ids/7"] == 1
    state.failures = [404]  # a subject not registered (yet): the first look-up fails at once, untried again
    with pytest.raises(RegistryError, match="has no registered version"):
        _resolver(url).plan("vehicle", "t_vehicle_data", SUBJECT)
    assert state.calls[f"/subjects/{SUBJECT}/versions/latest"] == 2  # one by each resolver
    state.calls.clear()
    state.failures = [503] * 4
    with pytest.raises(RegistryError, match="HTTP 503"):
        _resolver(url).plan("vehicle", "t_vehicle_data", SUBJECT)
    assert state.calls[f"/subjects/{SUBJECT}/versions/latest"] == 4


def test_versions_are_cached_between_batches_and_refreshed_after_the_interval(registry: tuple[Registry, str]) -> None:
    state, url = registry
    cached = _resolver(url, refresh=3600)
    for _ in range(5):
        cached.plan("vehicle", "t_vehicle_data", SUBJECT)
    assert state.calls[f"/subjects/{SUBJECT}/versions"] == 1
    state.versions[2] = (2, _schema())
    refreshed = _resolver(url, refresh=0)
    refreshed.plan("vehicle", "t_vehicle_data", SUBJECT)
    assert set(refreshed.plan("vehicle", "t_vehicle_data", SUBJECT).writers) == {1, 2}


def test_made_up_ids_cost_a_bounded_number_of_lookups_once_and_leave_the_plan_unchanged(
    registry: tuple[Registry, str],
) -> None:
    state, url = registry
    resolver = _resolver(url, refresh=3600, max_lookups=8)
    plain = resolver.plan("vehicle", "t_vehicle_data", SUBJECT)
    made_up = range(1000, 1100)  # headerless values that start with byte 0: 100 ids nobody registered
    with_garbage = resolver.plan("vehicle", "t_vehicle_data", SUBJECT, made_up)
    again = resolver.plan("vehicle", "t_vehicle_data", SUBJECT, made_up)
    lookups = sum(n for path, n in state.calls.items() if path.startswith("/schemas/ids/"))
    assert lookups == 8
    assert plain == with_garbage == again  # same plan, so the same compiled columns: no branch per id


def test_the_cached_versions_carry_the_batches_through_a_registry_outage(registry: tuple[Registry, str]) -> None:
    state, url = registry
    resolver = _resolver(url, refresh=0)
    before = resolver.plan("vehicle", "t_vehicle_data", SUBJECT)
    state.failures = [503] * 100
    calls = sum(state.calls.values())
    assert resolver.plan("vehicle", "t_vehicle_data", SUBJECT) == before
    assert sum(state.calls.values()) == calls + 1  # one try per refresh while down, no retries holding the batch


def test_a_subject_missing_for_a_while_keeps_its_cached_versions(registry: tuple[Registry, str]) -> None:
    state, url = registry
    resolver = _resolver(url, refresh=0)
    before = resolver.plan("vehicle", "t_vehicle_data", SUBJECT)
    state.failures = [404] * 10  # a registry replaying its storage after a restart shows a past state
    assert resolver.plan("vehicle", "t_vehicle_data", SUBJECT) == before


def test_a_latest_version_that_changes_a_lake_column_type_is_refused(registry: tuple[Registry, str]) -> None:
    state, url = registry
    state.versions[2] = (2, _schema(year="double"))  # a legal Avro promotion, registered by another tool
    refused = r"version 2 \(schema id 2\) cannot be written to the lake: year: int -> double"
    with pytest.raises(SchemaError, match=refused):
        _resolver(url).plan("vehicle", "t_vehicle_data", SUBJECT)

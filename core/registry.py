"""The schema registry as the stages use it: ``confluent_kafka.schema_registry`` plus what it lacks.

Works against Confluent Schema Registry and against Apicurio's Confluent-compatible API
(``/apis/ccompat/v7``) alike. Every call that ``SchemaRegistryClient`` makes is made by it (it
caches ids and versions, retries 408/429/5xx with backoff and sends basic auth): subjects,
versions, a version or the latest, a schema by id, the versions using an id, lookup, register
(with a Confluent ``ruleSet``), the subject's compatibility level (read and set) and deleting a
subject. Schema text comes back as the registry stored it, byte for byte, so the data rules kept
as properties inside the schema JSON (:mod:`core.data_rules`) round-trip verbatim.

What is our own, and why:

* :meth:`RegistryClient.check_compatibility` posts to the compatibility endpoint itself with
  ``requests``: ``SchemaRegistryClient.test_compatibility`` returns only a bool and drops the
  registry's ``messages``, which ``make schema-check`` shows.
* Error mapping: the library's ``SchemaRegistryError`` and httpx's transport errors become
  :class:`~core.errors.RegistryError` (with HTTP status and Confluent error code, one line:
  ``GET /subjects/x/versions/latest: HTTP 404: ...``) and
  :class:`~core.errors.RegistryUnavailableError` ("unreachable; is it up? try `make up`").
* 404 answers that mean "nothing there" become an empty list, None, or a message saying to run
  ``make schema-register``.
* The latest version is always asked (``get_version(subject, "latest")``), never the library's
  latest-version cache, which keeps an answer until its TTL and would hide a new version.
* Lookups and registrations go through a second library client: the library caches *our* text
  under the id and version they return, and a registry that matches schemas by canonical form
  may hold other text; the reads' client caches only what the registry sent, so reads stay verbatim.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import requests

with warnings.catch_warnings(record=True):
    # authlib, which the library imports, warns about its own httpx module on import (and forces its warnings
    # to "always"); recorded here and dropped, so that a CLI's stderr stays one line
    from confluent_kafka.schema_registry import RuleSet, Schema, SchemaRegistryClient, SchemaRegistryError

from core.errors import RegistryError, RegistryUnavailableError

__all__ = ["RegisteredSchema", "RegistryClient"]


T = TypeVar("T")
_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
# Confluent error codes the callers branch on.
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
INCOMPATIBLE = 409
# The exception names users have always seen in the unreachable message (those of requests).
_FAILURE_NAMES = {"ConnectError": "ConnectionError", "ConnectTimeout": "ConnectTimeout", "ReadTimeout": "ReadTimeout"}


@dataclass(frozen=True)
class RegisteredSchema:
    """A schema as the registry knows it (``schema`` is the stored text, verbatim)."""

    subject: str
    version: int
    schema_id: int
    schema: str


class RegistryClient:
    """Calls to one registry. Create one per process; it keeps pooled HTTP sessions and the library's caches.

    Args:
        url: the registry's Confluent API, e.g. ``http://127.0.0.1:8081/apis/ccompat/v7``.
        auth: basic-auth user and password, or None.
        timeout: seconds per HTTP request.
        retries: the library's retries of a 408/429/5xx answer; 0 for a caller that retries itself
            (the streaming job's resolver retries, and counts, every failure of its own).
    """

    def __init__(
        self, url: str, *, auth: tuple[str, str] | None = None, timeout: float = 10.0, retries: int = 3
    ) -> None:
        """Point at ``url``; nothing is asked until the first call."""
        self.url = url.rstrip("/")
        conf: dict[str, Any] = {"url": self.url, "timeout": timeout, "max.retries": retries}
        if auth is not None:
            conf["basic.auth.user.info"] = f"{auth[0]}:{auth[1]}"
        self._client = SchemaRegistryClient(conf)
        self._writes = SchemaRegistryClient(conf)  # its caches hold our text, never read back (see the module)
        self._session = requests.Session()
        self._session.auth = auth
        self._session.headers["Accept"] = _CONTENT_TYPE
        self._timeout = timeout

    def _unreachable(self, exc: Exception) -> RegistryUnavailableError:
        name = _FAILURE_NAMES.get(type(exc).__name__, type(exc).__name__)
        msg = f"schema registry at {self.url} is unreachable ({name}); is it up? try `make up`"
        return RegistryUnavailableError(msg)

    def _ask(self, what: str, call: Callable[[], T]) -> T:
        """Run one library call; ``what`` (``GET /subjects``) heads the error message."""
        try:
            return call()
        except SchemaRegistryError as exc:
            msg = f"{what}: HTTP {exc.http_status_code}: {exc.error_message}"
            raise RegistryError(msg, status=exc.http_status_code, code=exc.error_code) from exc
        except (httpx.TransportError, OSError) as exc:
            raise self._unreachable(exc) from exc

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        """One POST of our own (what the library cannot ask), with the same error mapping."""
        try:
            response = self._session.post(
                f"{self.url}{path}",
                data=json.dumps(body),
                headers={"Content-Type": _CONTENT_TYPE},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise self._unreachable(exc) from exc
        if response.status_code >= 400:
            try:
                payload = response.json()
            except ValueError:
                payload = {}
            code = payload.get("error_code") if isinstance(payload, dict) else None
            text = payload.get("message") if isinstance(payload, dict) else None
            msg = f"POST {path}: HTTP {response.status_code}: {text or response.text[:300]}"
            raise RegistryError(msg, status=response.status_code, code=code)
        return response.json()

    @staticmethod
    def _path(subject: str) -> str:
        return f"/subjects/{quote(subject, safe='')}"

    # --- reads ---
    def subjects(self) -> list[str]:
        """All subjects."""
        return list(self._ask("GET /subjects", self._client.get_subjects))

    def versions(self, subject: str) -> list[int]:
        """Registered version numbers of ``subject``; empty when the subject does not exist."""
        try:
            found = self._ask(f"GET {self._path(subject)}/versions", lambda: self._client.get_versions(subject))
        except RegistryError as exc:
            if exc.status == 404:
                return []
            raise
        return [int(v) for v in found]

    def version(self, subject: str, version: int | str = "latest") -> RegisteredSchema:
        """One version of ``subject`` (``latest`` by default)."""
        what = f"GET {self._path(subject)}/versions/{version}"
        found = self._ask(what, lambda: self._client.get_version(subject, version))
        return RegisteredSchema(
            subject=found.subject or subject,
            version=int(found.version or 0),
            schema_id=int(found.schema_id or 0),
            schema=str(found.schema.schema_str),
        )

    def latest(self, subject: str) -> RegisteredSchema:
        """The latest version of ``subject``; a clear error when none is registered."""
        try:
            return self.version(subject, "latest")
        except RegistryError as exc:
            if exc.status == 404:
                msg = f"subject {subject} has no registered version; run `make schema-register`"
                raise RegistryError(msg, status=404, code=exc.code) from exc
            raise

    def schema_by_id(self, schema_id: int) -> str:
        """The schema text registered under global id ``schema_id``, verbatim."""
        found = self._ask(f"GET /schemas/ids/{int(schema_id)}", lambda: self._client.get_schema(int(schema_id)))
        return str(found.schema_str)

    def subject_versions_of_id(self, schema_id: int) -> list[tuple[str, int]]:
        """The (subject, version) pairs that use schema id ``schema_id``."""
        what = f"GET /schemas/ids/{int(schema_id)}/versions"
        found = self._ask(what, lambda: self._client.get_schema_versions(int(schema_id)))
        return [(str(v.subject), int(v.version or 0)) for v in found]

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        """The registered version of ``subject`` equal to ``schema``, or None."""
        try:
            found = self._ask(
                f"POST {self._path(subject)}", lambda: self._writes.lookup_schema(subject, Schema(schema, "AVRO"))
            )
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise
        return RegisteredSchema(subject, int(found.version or 0), int(found.schema_id or 0), schema)

    def compatibility(self, subject: str) -> str | None:
        """The subject's own compatibility level, or None when it has none set."""
        try:
            return str(
                self._ask(f"GET /config/{quote(subject, safe='')}", lambda: self._client.get_compatibility(subject))
            )
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise

    # --- checks and writes ---
    def check_compatibility(self, subject: str, schema: str, version: int | str = "latest") -> tuple[bool, list[str]]:
        """Ask the registry whether ``schema`` may follow ``version`` of ``subject``; (ok, reasons)."""
        path = f"/compatibility{self._path(subject)}/versions/{version}?verbose=true"
        data = self._post(path, {"schema": schema})
        return bool(data.get("is_compatible")), [str(m) for m in data.get("messages") or []]

    def set_compatibility(self, subject: str, level: str) -> None:
        """Set the subject's compatibility level, so the registry itself refuses a breaking version."""
        self._ask(f"PUT /config/{quote(subject, safe='')}", lambda: self._client.set_compatibility(subject, level))

    def register(self, subject: str, schema: str, *, rule_set: dict[str, Any] | None = None) -> int:
        """Register ``schema`` under ``subject``; returns its id (the existing one when unchanged).

        ``rule_set`` is sent as the version's Confluent ``ruleSet``; registries without data-contract
        support (Apicurio's Confluent API) accept it and drop it.
        """
        rules = RuleSet.from_dict(rule_set) if rule_set else None
        body = Schema(schema, "AVRO", rule_set=rules)
        return int(
            self._ask(f"POST {self._path(subject)}/versions", lambda: self._writes.register_schema(subject, body))
        )

    def delete_subject(self, subject: str, *, permanent: bool = False) -> None:
        """Delete a subject (soft, then hard when ``permanent``); for tests and clean-up tools.

        Both clients' caches are emptied: a subject registered again after this must be sent again.
        """
        self._ask(f"DELETE {self._path(subject)}", lambda: self._client.delete_subject(subject))
        if permanent:
            what = f"DELETE {self._path(subject)}?permanent=true"
            self._ask(what, lambda: self._client.delete_subject(subject, permanent=True))
        self._client.clear_caches()
        self._writes.clear_caches()

"""A thin client of the Confluent Schema Registry REST API.

Works against Confluent Schema Registry and against Apicurio's Confluent-compatible API
(``/apis/ccompat/v7``) alike; nothing here is specific to either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from core.errors import RegistryError, RegistryUnavailableError

__all__ = ["RegisteredSchema", "RegistryClient"]

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
# Confluent error codes the callers branch on.
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
INCOMPATIBLE = 409


@dataclass(frozen=True)
class RegisteredSchema:
    """A schema as the registry knows it."""

    subject: str
    version: int
    schema_id: int
    schema: str


class RegistryClient:
    """Calls to one registry. Create one per process; it keeps a pooled HTTP session."""

    def __init__(self, url: str, *, auth: tuple[str, str] | None = None, timeout: float = 10.0) -> None:
        """Point at ``url`` (e.g. ``http://127.0.0.1:8081/apis/ccompat/v7``)."""
        self.url = url.rstrip("/")
        self._session = requests.Session()
        self._session.auth = auth
        self._session.headers["Accept"] = _CONTENT_TYPE
        self._timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        target = f"{self.url}{path}"
        try:
            response = self._session.request(
                method,
                target,
                data=json.dumps(body) if body is not None else None,
                headers={"Content-Type": _CONTENT_TYPE} if body is not None else None,
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            msg = f"schema registry at {self.url} is unreachable ({type(exc).__name__}); is it up? try `make up`"
            raise RegistryUnavailableError(msg) from exc
        if response.status_code >= 400:
            try:
                payload = response.json()
            except ValueError:
                payload = {}
            code = payload.get("error_code") if isinstance(payload, dict) else None
            text = payload.get("message") if isinstance(payload, dict) else None
            msg = f"{method} {path}: HTTP {response.status_code}: {text or response.text[:300]}"
            raise RegistryError(msg, status=response.status_code, code=code)
        if not response.content:
            return None
        return response.json()

    # --- reads ---
    def subjects(self) -> list[str]:
        """All subjects."""
        return list(self._call("GET", "/subjects"))

    def versions(self, subject: str) -> list[int]:
        """Registered version numbers of ``subject``; empty when the subject does not exist."""
        try:
            return [int(v) for v in self._call("GET", f"/subjects/{quote(subject, safe='')}/versions")]
        except RegistryError as exc:
            if exc.status == 404:
                return []
            raise

    def version(self, subject: str, version: int | str = "latest") -> RegisteredSchema:
        """One version of ``subject`` (``latest`` by default)."""
        data = self._call("GET", f"/subjects/{quote(subject, safe='')}/versions/{version}")
        return RegisteredSchema(
            subject=data["subject"], version=int(data["version"]), schema_id=int(data["id"]), schema=data["schema"]
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
        """The schema text registered under global id ``schema_id``."""
        return str(self._call("GET", f"/schemas/ids/{int(schema_id)}")["schema"])

    def subject_versions_of_id(self, schema_id: int) -> list[tuple[str, int]]:
        """The (subject, version) pairs that use schema id ``schema_id``."""
        data = self._call("GET", f"/schemas/ids/{int(schema_id)}/versions")
        return [(str(d["subject"]), int(d["version"])) for d in data]

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        """The registered version of ``subject`` equal to ``schema``, or None."""
        try:
            data = self._call("POST", f"/subjects/{quote(subject, safe='')}", {"schema": schema})
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise
        return RegisteredSchema(
            subject=subject, version=int(data["version"]), schema_id=int(data["id"]), schema=data["schema"]
        )

    def compatibility(self, subject: str) -> str | None:
        """The subject's own compatibility level, or None when it has none set."""
        try:
            data = self._call("GET", f"/config/{quote(subject, safe='')}")
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise
        return data.get("compatibilityLevel") or data.get("compatibility")

    # --- checks and writes ---
    def check_compatibility(self, subject: str, schema: str, version: int | str = "latest") -> tuple[bool, list[str]]:
        """Ask the registry whether ``schema`` may follow ``version`` of ``subject``; (ok, reasons)."""
        path = f"/compatibility/subjects/{quote(subject, safe='')}/versions/{version}?verbose=true"
        data = self._call("POST", path, {"schema": schema})
        return bool(data.get("is_compatible")), [str(m) for m in data.get("messages") or []]

    def set_compatibility(self, subject: str, level: str) -> None:
        """Set the subject's compatibility level, so the registry itself refuses a breaking version."""
        self._call("PUT", f"/config/{quote(subject, safe='')}", {"compatibility": level})

    def register(self, subject: str, schema: str, *, rule_set: dict[str, Any] | None = None) -> int:
        """Register ``schema`` under ``subject``; returns its id (the existing one when unchanged).

        ``rule_set`` is sent as the version's Confluent ``ruleSet``; registries without data-contract
        support (Apicurio's Confluent API) accept it and drop it.
        """
        body: dict[str, Any] = {"schema": schema, **({"ruleSet": rule_set} if rule_set else {})}
        data = self._call("POST", f"/subjects/{quote(subject, safe='')}/versions", body)
        return int(data["id"])

    def delete_subject(self, subject: str, *, permanent: bool = False) -> None:
        """Delete a subject (soft, then hard when ``permanent``); for tests and clean-up tools."""
        self._call("DELETE", f"/subjects/{quote(subject, safe='')}")
        if permanent:
            self._call("DELETE", f"/subjects/{quote(subject, safe='')}?permanent=true")

"""Registry look-ups of the streaming job: writer schemas by id, their subjects, the latest reader schema.

Ids are immutable in a schema registry, so writer schemas are cached for the life of the job. Each
micro-batch asks for the subject's latest schema and its list of versions (two calls per subject;
a version not seen before costs one more), so a version registered while the job runs is used from
the next batch on, without a restart, and the batch decodes every id of the subject's versions
without first surveying which ids it holds. Any other id found in a batch is looked up by id. Only
"this id does not exist" (HTTP 404) makes a record a quarantine case; any other registry failure
stops the batch (after a few retries), so the batch is replayed from its checkpointed offsets rather
than quarantined by mistake.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TypeVar

import fastavro

from core.errors import RegistryError
from core.registry import RegisteredSchema, RegistryClient
from streaming.decode import MAX_SCHEMA_ID, EntityPlan, reason_foreign_id, reason_not_avro, reason_unknown_id

__all__ = ["SchemaResolver"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class SchemaResolver:
    """Resolves the schema ids of a batch into an :class:`EntityPlan`, with caching and retries.

    Args:
        client: the registry client.
        attempts: tries per registry call before the batch fails (transient errors only).
        backoff: seconds before the first retry; doubled each time.
    """

    def __init__(self, client: RegistryClient, *, attempts: int = 4, backoff: float = 0.5) -> None:
        self._client = client
        self._attempts = attempts
        self._backoff = backoff
        self._writers: dict[int, str | None] = {}
        self._members: set[tuple[int, str]] = set()
        self._versions: dict[tuple[str, int], int] = {}  # (subject, version) -> schema id
        self._checked: dict[int, str] = {}  # schema id -> "" (usable) or why not, for member ids
        self._lock = threading.RLock()  # the job plans its entities from several threads

    def _call(self, what: str, call: Callable[[], T]) -> T:
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            try:
                return call()
            except RegistryError as exc:
                transient = exc.status is None or exc.status >= 500
                if not transient or attempt == self._attempts:
                    raise
                log.warning("registry %s failed (%s); retry %d in %.1fs", what, exc, attempt, delay)
                time.sleep(delay)
                delay *= 2
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def latest(self, subject: str) -> RegisteredSchema:
        """The subject's latest version (never cached); a clear error when it has none."""
        return self._call(f"latest of {subject}", lambda: self._client.latest(subject))

    def writer(self, schema_id: int) -> str | None:
        """The schema text of ``schema_id``, or None when the registry does not know it (404)."""
        if schema_id in self._writers:
            return self._writers[schema_id]
        try:
            text: str | None = self._call(f"schema id {schema_id}", lambda: self._client.schema_by_id(schema_id))
        except RegistryError as exc:
            if exc.status != 404:
                raise
            return None  # not cached: an id can be registered later
        self._writers[schema_id] = text
        return text

    def belongs(self, schema_id: int, subject: str) -> tuple[bool, list[str]]:
        """Whether ``schema_id`` is a version of ``subject``; and the subjects it is registered for."""
        if (schema_id, subject) in self._members:
            return True, [subject]
        pairs = self._call(f"subjects of schema id {schema_id}", lambda: self._client.subject_versions_of_id(schema_id))
        subjects = sorted({name for name, _ in pairs})
        if subject in subjects:
            self._members.add((schema_id, subject))
            return True, subjects
        return False, subjects

    def version_ids(self, subject: str, latest: RegisteredSchema | None = None) -> set[int]:
        """The schema ids of every registered version of ``subject`` (one call when no version is new)."""
        versions = self._call(f"versions of {subject}", lambda: self._client.versions(subject))
        if latest is not None:
            if self._versions.get((subject, latest.version), latest.schema_id) != latest.schema_id:
                # The subject was deleted and registered again: its version numbers mean other schemas now.
                self._versions = {k: v for k, v in self._versions.items() if k[0] != subject}
            self._remember(latest)
        ids = set()
        for version in versions:
            if (subject, version) not in self._versions:
                self._remember(self._call(f"{subject} v{version}", partial(self._client.version, subject, version)))
            ids.add(self._versions[(subject, version)])
        return ids

    def _remember(self, registered: RegisteredSchema) -> None:
        self._versions[(registered.subject, registered.version)] = registered.schema_id
        self._writers[registered.schema_id] = registered.schema
        self._members.add((registered.schema_id, registered.subject))

    def plan(self, entity: str, topic: str, subject: str, schema_ids: Iterable[int] = ()) -> EntityPlan:
        """Decide, for each id of the subject's versions and of ``schema_ids``, its writer schema or its reason."""
        with self._lock:
            reader = self.latest(subject)
            writers: dict[int, str] = {}
            rejected: dict[int, str] = {}
            extra = set(schema_ids)
            # Ids found to be the subject's in earlier batches too (a soft-deleted version is no longer listed).
            members = {schema_id for schema_id, owner in self._members if owner == subject}
            for schema_id in sorted(self.version_ids(subject, reader) | {reader.schema_id} | members | extra):
                writer, reason = self._check(schema_id, subject)
                if writer is not None:
                    writers[schema_id] = writer
                else:
                    rejected[schema_id] = reason
            if rejected.keys() & extra:
                log.warning("%s: quarantining ids %s", topic, {k: v.split(":")[0] for k, v in rejected.items()})
            return EntityPlan(entity, topic, subject, reader.schema, writers, rejected)

    def _check(self, schema_id: int, subject: str) -> tuple[str | None, str]:
        """(writer schema JSON, "") when the id is usable, else (None, quarantine reason)."""
        if schema_id > MAX_SCHEMA_ID:
            return None, reason_unknown_id(schema_id)
        writer = self.writer(schema_id)
        if writer is None:
            return None, reason_unknown_id(schema_id)
        ok, subjects = self.belongs(schema_id, subject)
        if not ok:
            return None, reason_foreign_id(schema_id, subject, subjects)
        if schema_id not in self._checked:  # the text of an id never changes: parse it once
            self._checked[schema_id] = _not_avro(writer)
        if self._checked[schema_id]:
            return None, reason_not_avro(schema_id, self._checked[schema_id])
        return writer, ""


def _not_avro(writer: str) -> str:
    """Why ``writer`` is not a usable Avro record schema, or "" when it is."""
    try:
        parsed = json.loads(writer)
        fastavro.parse_schema(parsed)
    except Exception as exc:  # json and fastavro raise many types for one meaning: not Avro
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        return "not a record schema"
    return ""

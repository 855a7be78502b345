"""Registry look-ups of the streaming job: writer schemas by id, their subjects, the latest reader schema.

The registry is kept off each micro-batch's critical path. Ids are immutable in a schema registry,
so writer schemas are cached for the life of the job. A subject's latest schema and its list of
versions are cached too and asked again at most every ``refresh`` seconds (or at once when a batch
holds an id that turns out to be a new version of the subject), so a version registered while the
job runs is used within that time, without a restart. When the registry cannot be reached, the
cached versions keep the batches going; only a job that never reached it stops.

Any other id found in a batch is looked up by id, at most ``max_lookups`` per batch: a value that is
not Confluent-framed but starts with byte 0 carries a made-up id, and a batch of them must not cost
one registry call each. Ids the registry does not know are remembered for ``refresh`` seconds. Only
"this id does not exist" (HTTP 404) makes a record a quarantine case; 429 and 5xx answers and
connection failures are retried with backoff and then stop the batch, so it is replayed from its
checkpointed offsets rather than quarantined by mistake.

A latest schema that the lake cannot take (a field's Parquet type changed against an earlier
version, or a key field removed or made optional; see :mod:`core.evolution`) stops the job with a
:class:`~core.errors.SchemaError` before its batch writes anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from core.avro_model import Record, parse_schema
from core.errors import RegistryError, SchemaError
from core.evolution import key_gaps, key_reason, lake_changes
from core.lake import DEFAULT_PROJECTION_START
from core.registry import RegisteredSchema, RegistryClient
from streaming.decode import MAX_SCHEMA_ID, EntityPlan
from streaming.reasons import reason_foreign_id, reason_not_avro

__all__ = ["SchemaResolver"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class _Subject:
    """What the registry said of a subject, and when (monotonic seconds)."""

    latest: RegisteredSchema
    ids: frozenset[int]
    fetched: float


def _transient(exc: RegistryError) -> bool:
    return exc.status is None or exc.status == 429 or exc.status >= 500


class SchemaResolver:
    """Resolves the schema ids of a batch into an :class:`EntityPlan`, with caching and retries.

    Args:
        client: the registry client.
        attempts: tries per registry call before the batch fails (transient errors only).
        backoff: seconds before the first retry; doubled each time.
        refresh: seconds a subject's versions (and an unknown id) are used before the registry is asked again.
        max_lookups: ids outside the subject's versions looked up per batch; the rest are quarantined unasked.
        first_day: the first event date the lake takes (the catalog's projection start), for the plans.
    """

    def __init__(
        self,
        client: RegistryClient,
        *,
        attempts: int = 4,
        backoff: float = 0.5,
        refresh: float = 30.0,
        max_lookups: int = 8,
        first_day: str = DEFAULT_PROJECTION_START,
    ) -> None:
        self._first_day = first_day
        self._client = client
        self._attempts = attempts
        self._backoff = backoff
        self._refresh = refresh
        self._max_lookups = max_lookups
        self._writers: dict[int, str] = {}
        self._unknown: dict[int, float] = {}  # schema id -> when the registry said 404
        self._members: set[tuple[int, str]] = set()
        self._owners: dict[int, tuple[float, list[str]]] = {}  # schema id -> (when asked, its subjects)
        self._versions: dict[tuple[str, int], int] = {}  # (subject, version) -> schema id
        self._subjects: dict[str, _Subject] = {}
        self._checked: dict[int, str] = {}  # schema id -> "" (usable) or why not, for member ids
        self._safe: set[tuple[int, int]] = set()  # (reader id, writer id) pairs the lake can take
        self._lock = threading.RLock()  # the job plans its entities from several threads

    def _call(self, what: str, call: Callable[[], T], attempts: int | None = None) -> T:
        delay = self._backoff
        attempts = attempts or self._attempts
        for attempt in range(1, attempts + 1):
            try:
                return call()
            except RegistryError as exc:
                if not _transient(exc) or attempt == attempts:
                    raise
                log.warning("registry %s failed (%s); retry %d in %.1fs", what, exc, attempt, delay)
                time.sleep(delay)
                delay *= 2
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def latest(self, subject: str) -> RegisteredSchema:
        """The subject's latest version (cached for ``refresh`` seconds); a clear error when it has none."""
        with self._lock:
            return self._subject(subject).latest

    def check_latest(self, subject: str) -> None:
        """Refuse a latest schema that records of any registered version could not be written with.

        Run before the job creates or evolves a table from the latest schema: a table made from a lake-unsafe
        latest (``int -> double``) would hold the wrong type from its first commit, and Iceberg could not take
        it back. A batch checks its own writers again (:meth:`plan`).

        Raises:
            SchemaError: as :meth:`plan` does, naming the field and the version it cannot take.
        """
        latest = self.latest(subject)
        versions = self._call(f"versions of {subject}", partial(self._client.versions, subject))
        writers = {}
        for number in versions:
            found = self._call(f"{subject} version {number}", partial(self._client.version, subject, number))
            writers[found.schema_id] = found.schema
        with self._lock:
            self._check_lake(subject, latest, writers)

    def _subject(self, subject: str, *, force: bool = False) -> _Subject:
        cached = self._subjects.get(subject)
        now = time.monotonic()
        if cached is not None and not force and now - cached.fetched < self._refresh:
            return cached
        try:
            # With versions in hand, one try: a registry outage must not hold every batch in retries.
            latest = self._call(f"latest of {subject}", partial(self._client.latest, subject), 1 if cached else None)
            ids = self.version_ids(subject, latest)
        except RegistryError as exc:
            if cached is None:
                raise
            # Also a 404: a registry replaying its storage after a restart answers from a past state for a while.
            log.warning("registry unreachable or behind (%s); %s goes on with its cached versions", exc, subject)
            self._subjects[subject] = _Subject(cached.latest, cached.ids, now)
            return self._subjects[subject]
        self._subjects[subject] = _Subject(latest, frozenset(ids | {latest.schema_id}), now)
        return self._subjects[subject]

    def writer(self, schema_id: int) -> str | None:
        """The schema text of ``schema_id``, or None when the registry does not know it (404)."""
        if schema_id in self._writers:
            return self._writers[schema_id]
        if time.monotonic() - self._unknown.get(schema_id, -self._refresh) < self._refresh:
            return None
        try:
            text: str = self._call(f"schema id {schema_id}", partial(self._client.schema_by_id, schema_id))
        except RegistryError as exc:
            if exc.status != 404:
                raise
            self._unknown[schema_id] = time.monotonic()  # asked again later: an id can be registered
            return None
        self._writers[schema_id] = text
        return text

    def belongs(self, schema_id: int, subject: str) -> tuple[bool, list[str]]:
        """Whether ``schema_id`` is a version of ``subject``; and the subjects it is registered for."""
        if (schema_id, subject) in self._members:
            return True, [subject]
        asked, subjects = self._owners.get(schema_id, (-self._refresh, []))
        if time.monotonic() - asked >= self._refresh:  # another subject's id may become ours too: ask again later
            pairs = self._call(
                f"subjects of schema id {schema_id}", partial(self._client.subject_versions_of_id, schema_id)
            )
            subjects = sorted({name for name, _ in pairs})
            self._owners[schema_id] = (time.monotonic(), subjects)
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
        """Decide, for each id of the subject's versions and of ``schema_ids``, its writer schema or its reason.

        Ids of ``schema_ids`` that are not registered (or beyond ``max_lookups``) get no entry: the
        plan's columns quarantine every id it does not name as not a version of the subject, so a
        batch of made-up ids neither grows the plan nor asks the registry for each.

        Raises:
            SchemaError: the subject's latest schema would change a lake column's type (see the module).
        """
        with self._lock:
            state = self._subject(subject)
            extra = sorted(set(schema_ids) - state.ids)[: self._max_lookups]
            # Ids found to be the subject's in earlier batches too (a soft-deleted version is no longer listed).
            members = {schema_id for schema_id, owner in self._members if owner == subject}
            known, rejected = {i: self._check(i, subject) for i in sorted(state.ids | members)}, {}
            for schema_id in extra:
                writer, reason = self._check(schema_id, subject)
                if writer is not None and schema_id not in state.ids:
                    state = self._subject(subject, force=True)  # a new version: its latest may be new too
                if writer is not None or reason:
                    known[schema_id] = (writer, reason)
            writers = {i: w for i, (w, _) in known.items() if w is not None}
            rejected = {i: r for i, (w, r) in known.items() if w is None and r}
            if extra:
                log.warning(
                    "%s: quarantining ids %s", topic, {i: rejected.get(i, "unknown").split(":")[0] for i in extra}
                )
            self._check_lake(subject, state.latest, writers)
            return EntityPlan(entity, topic, subject, state.latest.schema, writers, rejected, self._first_day)

    def _check_lake(self, subject: str, latest: RegisteredSchema, writers: dict[int, str]) -> None:
        """Refuse a latest schema that would give a lake column a second type, or drop a key field."""
        reader = None
        for schema_id, writer in sorted(writers.items()):
            if (latest.schema_id, schema_id) in self._safe or schema_id == latest.schema_id:
                continue
            reader = reader or parse_schema(latest.schema).record
            old = parse_schema(writer).record
            found = lake_changes(reader, old)
            had = key_gaps(old)
            found += [(n, key_reason(n, g)) for n, g in key_gaps(reader).items() if n not in had]
            if found:
                path, why = found[0]
                msg = (
                    f"{subject} version {latest.version} (schema id {latest.schema_id}) cannot be written to the "
                    f"lake: {path}: {why} (against schema id {schema_id}); nothing was written. Register a "
                    "lake-safe version (`make schema-check` shows why) and run the job again"
                )
                raise SchemaError(msg)
            self._safe.add((latest.schema_id, schema_id))

    def _check(self, schema_id: int, subject: str) -> tuple[str | None, str]:
        """(writer schema JSON, "") when the id is usable, (None, reason) when not, (None, "") when unregistered."""
        if schema_id > MAX_SCHEMA_ID:
            return None, ""
        writer = self.writer(schema_id)
        if writer is None:
            return None, ""
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
        parsed = parse_schema(writer)
    except SchemaError as exc:
        cause = exc.__cause__ or exc
        return f"{type(cause).__name__}: {str(cause)[:120]}"
    if not isinstance(parsed.root, Record):
        return "not a record schema"
    return ""

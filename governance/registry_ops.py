"""Online steps of the workflow: check against, register in, and compare with the Schema Registry.

Each function handles one subject and returns what happened; the CLI prints it. The registry's
own verdict is asked for (its compatibility endpoint), and the offline checker runs on the
registered texts too: it gives the field paths the registry's messages lack, and catches what the
registry does not enforce (lake-unsafe promotions; a subject whose level was never set).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from core.avro_model import AvroSchema
from core.catalog import Stream
from core.data_rules import confluent_rule_set, rule_changes_between, rules_of
from core.errors import RegistryError
from core.registry import RegisteredSchema, RegistryClient
from governance.compat import LEVELS, Problem, check_versions, merge_problems, parse
from governance.paths import field_path

__all__ = ["CheckReport", "RegisterOutcome", "StatusReport", "check_subject", "register_subject", "subject_status"]


@dataclass(frozen=True)
class CheckReport:
    """The working copy of one stream against the versions registered under its subject."""

    subject: str
    level: str
    versions: tuple[int, ...]
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No incompatibility and nothing lake-unsafe."""
        return not self.problems


@dataclass(frozen=True)
class RegisterOutcome:
    """What ``register`` did for one subject: ``unchanged``, ``registered`` or ``refused``."""

    subject: str
    action: str
    version: int | None = None
    schema_id: int | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class StatusReport:
    """How the working copy relates to the registry: ``in sync``, ``local change`` or ``missing``."""

    subject: str
    state: str
    detail: str


def _registered(client: RegistryClient, subject: str) -> list[RegisteredSchema]:
    return [client.version(subject, v) for v in sorted(client.versions(subject))]


def _same_as(
    client: RegistryClient, stream: Stream, subject: str, registered: list[RegisteredSchema]
) -> RegisteredSchema | None:
    """The registered version holding the working copy: the registry's lookup, else equal JSON.

    Apicurio's lookup matches the exact text, and it registers a re-indented copy as a new
    version, so a version registered by another tool is compared as parsed JSON too.
    """
    found = client.lookup(subject, stream.schema_str)
    if found is not None:
        return found
    for reg in reversed(registered):
        try:
            if json.loads(reg.schema) == stream.schema:
                return reg
        except ValueError:
            continue
    return None


def _rules_note(stream: Stream, latest: RegisteredSchema) -> str:
    """``; rules: added x, retired y`` when the data rules differ from the latest version's, else ""."""
    changes = rule_changes_between(latest.schema, stream.schema)
    return f"; rules: {changes}" if changes else ""


def _registry_refusal(exc: RegistryError, new: AvroSchema) -> str:
    """The registry's 409 message, with the field paths of the locations it names (``/fields/6/type``)."""
    paths = sorted({field_path(new.avro, loc) for loc in re.findall(r" at (/[\w/]*)", str(exc))})
    where = f" at {', '.join(paths)}" if paths else ""
    return f"the registry refused it{where}: {exc}"


def _level_note(client: RegistryClient, subject: str, declared: str) -> list[str]:
    actual = client.compatibility(subject)
    if actual == declared:
        return []
    shown = actual or "not set (the registry's global default applies)"
    return [
        f"the registry's compatibility level for {subject} is {shown}, streams.toml declares {declared}; "
        "`make schema-register` sets it"
    ]


def check_subject(client: RegistryClient, stream: Stream, subject: str) -> CheckReport:
    """Check the working copy of ``stream`` against every version registered under ``subject``.

    The registry is asked through its compatibility endpoint (against every version for
    ``_TRANSITIVE`` levels, the latest otherwise); the offline checker adds field paths and the
    lake-safety rules. When the two disagree, both verdicts are reported.
    """
    registered = _registered(client, subject)
    if not registered:
        return CheckReport(subject, stream.compatibility, (), notes=("not registered yet: it will be version 1",))
    new = parse(stream.schema, what=str(stream.schema_path))
    earlier = [(f"version {r.version}", parse(r.schema, what=f"{subject} version {r.version}")) for r in registered]
    problems = merge_problems(check_versions(new, earlier, stream.compatibility))
    notes = _level_note(client, subject, stream.compatibility)
    rule_changes = rule_changes_between(registered[-1].schema, stream.schema)
    if rule_changes:
        notes.append(f"data rules differ from version {registered[-1].version}: {rule_changes}")
    transitive = LEVELS[stream.compatibility][2]
    verdicts: dict[bool, list[str]] = {True: [], False: []}
    reasons: list[str] = []
    for reg in registered if transitive else registered[-1:]:
        label = f"version {reg.version}"
        ok, messages = client.check_compatibility(subject, stream.schema_str, reg.version)
        verdicts[ok].append(label)
        reasons += messages
        ours = any(label in p.against.split(", ") and p.rule == "incompatible" for p in problems)
        if not ok and not ours:
            reason = "; ".join(messages) or "no reason given"
            problems.append(Problem(label, "<registry>", "incompatible", f"the registry says: {reason}"))
        elif ok and ours:
            notes.append(f"the registry accepts it after {label}: the rule is not enforced there (level not set?)")
    said = [
        f"{'compatible' if ok else 'incompatible'} with {', '.join(labels)}"
        for ok, labels in verdicts.items()
        if labels
    ]
    detail = f" ({'; '.join(reasons)})" if reasons else ""
    notes.append(f"the registry's compatibility endpoint says: {', '.join(said)}{detail}")
    return CheckReport(
        subject, stream.compatibility, tuple(r.version for r in registered), tuple(problems), tuple(notes)
    )


def register_subject(client: RegistryClient, stream: Stream, subject: str) -> RegisterOutcome:
    """Set the subject's compatibility level, then register the working copy unless it is already there.

    The level is set first so that the registry itself refuses a version that breaks it. A change
    the offline checker finds incompatible or lake-unsafe is refused before it is sent.
    """
    client.set_compatibility(subject, stream.compatibility)
    registered = _registered(client, subject)
    existing = _same_as(client, stream, subject, registered)
    if existing is not None:
        return RegisterOutcome(subject, "unchanged", existing.version, existing.schema_id)
    new = parse(stream.schema, what=str(stream.schema_path))
    if registered:
        earlier = [(f"version {r.version}", parse(r.schema, what=f"{subject} version {r.version}")) for r in registered]
        problems = merge_problems(check_versions(new, earlier, stream.compatibility))
        if problems:
            return RegisterOutcome(subject, "refused", reasons=tuple(str(p) for p in problems))
    try:
        schema_id = client.register(subject, stream.schema_str, rule_set=confluent_rule_set(rules_of(stream.schema)))
    except RegistryError as exc:
        if exc.status in (409, 422):
            return RegisterOutcome(subject, "refused", reasons=(_registry_refusal(exc, new),))
        raise
    found = client.lookup(subject, stream.schema_str)
    version = found.version if found is not None else None
    return RegisterOutcome(subject, "registered", version, schema_id)


def subject_status(client: RegistryClient, stream: Stream, subject: str) -> StatusReport:
    """Whether ``subject`` holds the working copy as its latest version."""
    registered = _registered(client, subject)
    versions = [r.version for r in registered]
    if not versions:
        return StatusReport(
            subject,
            "missing",
            f"no version registered; `make schema-register` creates it from {stream.schema_path.name}",
        )
    found = _same_as(client, stream, subject, registered)
    level_note = _level_note(client, subject, stream.compatibility)
    suffix = f"; {level_note[0]}" if level_note else ""
    if found is None:
        return StatusReport(
            subject,
            "local change",
            f"{stream.schema_path.name} differs from every registered version "
            f"(latest is {versions[-1]}{_rules_note(stream, registered[-1])}); "
            f"check, then `make schema-register`{suffix}",
        )
    if found.version != versions[-1]:
        return StatusReport(
            subject,
            "local change",
            f"{stream.schema_path.name} equals version {found.version}, but the latest is {versions[-1]}{suffix}",
        )
    return StatusReport(subject, "in sync", f"version {found.version}, id {found.schema_id}{suffix}")

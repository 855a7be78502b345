"""Offline compatibility: Avro schema resolution (Apache Avro's checker) plus what the lake can take.

``BACKWARD`` means the new schema can read data written with the previous one; ``_TRANSITIVE``
levels compare with every earlier version. Separately from Avro, a change the Avro rules allow can
still break the lake's Iceberg tables: Iceberg promotes int -> long, float -> double and widens a
decimal in place, but any other type change (int -> double, a narrower type) is one the table cannot
make. Those are reported as ``lake-unsafe`` whatever the compatibility level, and so is removing a key field (``id``,
``vehicle_id``, ``event_time``) or making it optional (``key-field``); the rules themselves live in
:mod:`core.evolution`, which the streaming job applies to a latest schema registered by another tool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from avro.schema import Schema

from core.avro_model import AvroSchema, parse_schema
from core.errors import SchemaError
from core.evolution import key_gaps, key_reason, lake_changes
from governance.paths import explain

__all__ = ["LEVELS", "Problem", "check_versions", "lake_problems", "merge_problems", "parse", "resolution_problems"]

# level -> (new reads old, old reads new, against every earlier version)
LEVELS: dict[str, tuple[bool, bool, bool]] = {
    "NONE": (False, False, False),
    "BACKWARD": (True, False, False),
    "BACKWARD_TRANSITIVE": (True, False, True),
    "FORWARD": (False, True, False),
    "FORWARD_TRANSITIVE": (False, True, True),
    "FULL": (True, True, False),
    "FULL_TRANSITIVE": (True, True, True),
}


@dataclass(frozen=True)
class Problem:
    """One reason a schema may not follow an earlier version.

    Attributes:
        against: which earlier version (``version 2``, ``git 1a2b3c4``).
        path: the field path (``location.latitude``; ``tags[]`` for array items).
        rule: ``incompatible`` (Avro resolution fails) or ``lake-unsafe`` (Avro allows it, the lake does not).
        reason: why, and what to do instead.
    """

    against: str
    path: str
    rule: str
    reason: str

    def __str__(self) -> str:
        """``path: rule: reason (against ...)`` on one line."""
        return f"{self.path}: {self.rule}: {self.reason} (against {self.against})"


def parse(schema: str | dict[str, Any], *, what: str = "schema") -> AvroSchema:
    """Parse schema text or JSON into the schema model (:mod:`core.avro_model`); SchemaError names ``what``."""
    return parse_schema(schema, what=what)


class _LocatingChecker(ReaderWriterCompatibilityChecker):
    """Avro's checker, but nested calls that Avro makes without a location keep the current one.

    Avro drops the location when it resolves a writer union against a reader branch, so an
    optional field made required would be reported at ``/`` instead of at the field.
    """

    def __init__(self) -> None:
        super().__init__()
        self._where: list[str] = []

    def get_compatibility(
        self,
        reader: Schema,
        writer: Schema,
        reference_token: str = ReaderWriterCompatibilityChecker.ROOT_REFERENCE_TOKEN,
        location: Any = None,
    ) -> Any:
        return super().get_compatibility(
            reader, writer, reference_token, list(self._where) if location is None else location
        )

    def calculate_compatibility(self, reader: Schema, writer: Schema, location: list[str]) -> Any:
        saved, self._where = self._where, location
        try:
            return super().calculate_compatibility(reader, writer, location)
        finally:
            self._where = saved


def resolution_problems(
    reader: AvroSchema, writer: AvroSchema, *, against: str, reader_is_new: bool = True
) -> list[Problem]:
    """Why ``reader`` cannot read data written with ``writer`` (empty when it can), by Avro's rules."""
    result = _LocatingChecker().get_compatibility(reader.avro, writer.avro)
    if result.compatibility is not SchemaCompatibilityType.incompatible:
        return []
    # Avro's merge adds the root "/" beside real locations; it only means something when alone.
    locations = sorted(result.locations - {"/"}) or ["/"]
    problems = []
    for location in locations:
        path, detail = explain(reader.avro, writer.avro, location, reader_is_new=reader_is_new)
        problems.append(Problem(against, path, "incompatible", detail))
    return problems


def lake_problems(new: AvroSchema, old: AvroSchema, *, against: str) -> list[Problem]:
    """Type changes between ``old`` and ``new`` that Avro resolves but the Parquet/Glue lake cannot."""
    return [Problem(against, path, "lake-unsafe", reason) for path, reason in lake_changes(new.root, old.root)]


def check_versions(new: AvroSchema, earlier: Sequence[tuple[str, AvroSchema]], level: str) -> list[Problem]:
    """Check ``new`` against earlier versions (oldest first) under a compatibility ``level``.

    Avro resolution is checked against the latest version, or every version for ``_TRANSITIVE``
    levels; lake safety is checked against every version, whatever the level, because the lake
    keeps files of all of them.

    Args:
        new: the candidate schema (the working copy).
        earlier: (label, schema) of the versions before it, oldest first.
        level: a compatibility level such as ``BACKWARD_TRANSITIVE``.
    """
    if level not in LEVELS:
        msg = f"compatibility level {level!r} is not one of {', '.join(LEVELS)}"
        raise SchemaError(msg)
    backward, forward, transitive = LEVELS[level]
    targets = list(earlier) if transitive else list(earlier[-1:])
    problems: list[Problem] = []
    for label, old in targets:
        if backward:
            problems += resolution_problems(new, old, against=label, reader_is_new=True)
        if forward:
            problems += resolution_problems(old, new, against=label, reader_is_new=False)
    for label, old in earlier:
        problems += lake_problems(new, old, against=label)
        had = key_gaps(old.record)
        dropped = {name: gap for name, gap in key_gaps(new.record).items() if name not in had}
        problems += [Problem(label, name, "key-field", key_reason(name, gap)) for name, gap in dropped.items()]
    return problems


def merge_problems(problems: Sequence[Problem]) -> list[Problem]:
    """The same problem found against several versions, once, with the versions joined (``version 1, version 2``)."""
    merged: dict[tuple[str, str, str], list[str]] = {}
    for problem in problems:
        labels = merged.setdefault((problem.path, problem.rule, problem.reason), [])
        if problem.against not in labels:
            labels.append(problem.against)
    return [Problem(", ".join(labels), path, rule, reason) for (path, rule, reason), labels in merged.items()]

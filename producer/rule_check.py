"""The data rules of a writer schema, checked on each record before it is sent (compiled once per schema).

The rules are the ones in the registered writer schema the producer writes with (see
:mod:`core.data_rules`), so a record is held to exactly the rules its schema id stands for. Every rule
of the stream is compiled into one Python predicate (:mod:`core.cel_py`) that decides a record as CEL
does from the fields the rules read, with no conversion into CEL values. Only a record the predicate
refuses or cannot decide (a value of another type than its field's, a null where a number belongs) goes
to ``common-expression-language`` (CEL in Rust, the rules' reference evaluator: :mod:`core.cel_subset`),
which gives the verdict and, rule by rule, names the first rule broken and the fields it reads.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import cel

from core.avro_model import Primitive, parse_schema
from core.cel_py import compile_predicate
from core.cel_subset import compile_rule, field_paths
from core.data_rules import DataRule, enforced, rules_of
from core.errors import RuleViolationError

__all__ = ["NOW_RESOLUTION_S", "RuleChecker"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOW_RESOLUTION_S = 0.001
"""``now`` is read from the clock at most once per this many seconds (reading it costs more than a check)."""


class RuleChecker:
    """Checks records of one subject against the rules (``onFailure`` ERROR) of its writer schema.

    Args:
        subject: the registry subject, for messages.
        schema: the writer schema (parsed JSON) whose rules apply.
    """

    def __init__(self, subject: str, schema: Mapping[str, Any]) -> None:
        self.subject = subject
        self.rules: tuple[DataRule, ...] = enforced(rules_of(schema, what=f"the writer schema of {subject}"))
        trees = [compile_rule(r.expr, schema, what=f"rule {r.name} of {subject}") for r in self.rules]
        self._paths = [field_paths(t) for t in trees]
        self._fields = tuple(dict.fromkeys(p[0] for paths in self._paths for p in paths))
        self._millis = frozenset(  # a nullable timestamp is a union: CEL reads it as the int it is
            f.name
            for f in parse_schema(schema, what=f"the writer schema of {subject}").record.fields
            if isinstance(f.type, Primitive) and f.type.logical_type == "timestamp-millis"
        )
        self._predicate = compile_predicate(trees, millis=self._millis) if self.rules else None
        self._programs = [cel.compile(r.expr) for r in self.rules]
        self._all = cel.compile("[" + ", ".join(f"({r.expr})" for r in self.rules) + "]") if self.rules else None
        self._now = any(not r.portable for r in self.rules)
        self._clock: tuple[float, datetime | None] = (float("-inf"), None)

    def now(self) -> datetime | None:
        """The time of the check, read anew when :data:`NOW_RESOLUTION_S` has passed; None when no rule reads it."""
        if not self._now:
            return None
        tick = time.monotonic()
        until, now = self._clock
        if tick >= until or now is None:
            now = datetime.now(UTC)
            self._clock = (tick + NOW_RESOLUTION_S, now)
        return now

    def activation(self, record: Mapping[str, Any], now: datetime | None) -> dict[str, Any]:
        """What the CEL engine reads: ``message`` (the fields the rules read, millis as times) and ``now``."""
        message = {name: record.get(name) for name in self._fields}
        for name in self._millis.intersection(message):
            value = message[name]
            if isinstance(value, int):  # Avro's own form of a timestamp-millis: CEL reads a timestamp
                try:
                    message[name] = _EPOCH + timedelta(milliseconds=value)
                except OverflowError:  # beyond any datetime: left an int, which no timestamp rule accepts
                    pass
        return {"message": message, "now": now} if self._now else {"message": message}

    def check(self, record: Mapping[str, Any], now: datetime | None = None) -> None:
        """Pass a record that meets every rule; refuse one that breaks one.

        Args:
            record: the record as the serializer takes it.
            now: the time of the check (:meth:`now` when not given).

        Raises:
            RuleViolationError: one line naming the first rule broken and the values of the fields it reads.
        """
        if self._predicate is None:
            return
        now = self.now() if now is None else now
        try:
            if self._predicate(record, now) is True:
                return
        except Exception:  # noqa: S110 - undecided (a value of another type, a null): CEL decides below
            pass
        self._check_cel(record, now)

    def _check_cel(self, record: Mapping[str, Any], now: datetime | None) -> None:
        """The verdict of the CEL engine, and the rule broken, for a record the predicate did not pass."""
        activation = self.activation(record, now)
        try:
            if all(result is True for result in self._all.execute(activation)):  # type: ignore[union-attr]
                return
        except Exception:  # noqa: S110 - a rule that cannot be evaluated (a null field) is found below, rule by rule
            pass
        for rule, program, paths in zip(self.rules, self._programs, self._paths, strict=True):
            try:
                ok, detail = program.execute(activation) is True, ""
            except Exception as exc:  # the CEL engine raises several types; each means the record fails the rule
                ok, detail = False, f" (it cannot be evaluated: {str(exc).split('.')[0]})"
            if not ok:
                values = ", ".join(f"{'.'.join(p)}={_value(record, p)}" for p in paths)
                msg = (
                    f"record of {self.subject} breaks rule {rule.name} at {values}{detail}: {rule.doc} "
                    "(not sent; the rule is in the registered schema)"
                )
                raise RuleViolationError(msg, rule=rule.name, fields=tuple(".".join(p) for p in paths))


def _value(record: Mapping[str, Any], path: tuple[str, ...]) -> str:
    value: Any = record
    for name in path:
        value = value.get(name) if isinstance(value, Mapping) else None
    if isinstance(value, bytes):
        return f"<{len(value)} bytes starting {value[:8]!r}>"
    return repr(value)[:60]

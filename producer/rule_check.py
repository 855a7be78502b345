"""The data rules of a writer schema, checked on each record before it is sent (CEL, compiled once).

The rules are the ones in the registered writer schema the producer writes with (see
:mod:`core.data_rules`), so a record is held to exactly the rules its schema id stands for. Evaluation
is by ``common-expression-language`` (CEL in Rust): every rule of the stream is compiled into one
list expression and run once per record, over only the fields the rules read (converting the rest
to CEL values would cost more than the rules). Only a record that fails is looked at rule by rule,
to name the first rule it breaks and the fields that rule reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import cel

from core.cel_subset import compile_rule, field_paths
from core.data_rules import DataRule, enforced, rules_of
from core.errors import RuleViolationError

__all__ = ["RuleChecker"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
        self._millis = frozenset(
            f["name"]
            for f in schema["fields"]
            if isinstance(f["type"], Mapping) and f["type"].get("logicalType") == "timestamp-millis"
        )
        self._programs = [cel.compile(r.expr) for r in self.rules]
        self._all = cel.compile("[" + ", ".join(f"({r.expr})" for r in self.rules) + "]") if self.rules else None
        self._now = any(not r.portable for r in self.rules)

    def _activation(self, record: Mapping[str, Any]) -> dict[str, Any]:
        message = {name: record.get(name) for name in self._fields}
        for name in self._millis.intersection(message):
            value = message[name]
            if isinstance(value, int):  # Avro's own form of a timestamp-millis: CEL reads a timestamp
                message[name] = _EPOCH + timedelta(milliseconds=value)
        return {"message": message, "now": datetime.now(UTC)} if self._now else {"message": message}

    def check(self, record: Mapping[str, Any]) -> None:
        """Pass a record that meets every rule; refuse one that breaks one.

        Raises:
            RuleViolationError: one line naming the first rule broken and the values of the fields it reads.
        """
        if self._all is None:
            return
        activation = self._activation(record)
        try:
            if all(result is True for result in self._all.execute(activation)):
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

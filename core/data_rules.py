"""Data rules: the quality conditions each stream's records must meet, kept inside the schema itself.

A schema's top-level ``"rules"`` property lists its rules, each with a ``name``, a CEL ``expr`` over
the record (``message``), a ``doc`` and an ``onFailure`` action. Keeping them in the schema makes them
travel with it: every registry stores the schema text verbatim and versions it, so the rules that held
for a record are the ones in its writer schema, found by the id in its header. Confluent's own place
for them, the ``ruleSet`` of a registered version, is sent too (:func:`confluent_rule_set`), for
registries that keep it (Apicurio's Confluent API drops it).

Pure: no registry, Kafka or Spark here. The CEL subset and its Spark SQL form are in
:mod:`core.cel_subset` and :mod:`core.cel_sql`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.catalog import Catalog
from core.cel_subset import variables
from core.errors import SchemaError

__all__ = [
    "ON_FAILURE",
    "PLATFORM_VARIABLES",
    "RULES_PROPERTY",
    "DataRule",
    "confluent_rule_set",
    "enforced",
    "rule_changes",
    "rule_changes_between",
    "rules_of",
    "stream_rules",
    "violation_reason",
]

RULES_PROPERTY = "rules"
"""The schema property holding the rules (a list of objects)."""
ON_FAILURE = {
    "ERROR": "the producer refuses the record; the streaming job quarantines it",
    "NONE": "recorded and registered, enforced nowhere (a rule on trial, or on its way out)",
}
"""The actions a rule may take when a record breaks it, and what each means on this platform."""
PLATFORM_VARIABLES = frozenset({"now"})
"""Variables this platform gives a rule besides ``message``: ``now`` is the time of the check.

Confluent's CEL executors declare only ``message``, so rules that use these are kept out of the
``ruleSet`` (a Confluent client would fail to evaluate them and refuse every record).
"""
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_KEYS = frozenset({"name", "expr", "doc", "onFailure"})


@dataclass(frozen=True)
class DataRule:
    """One rule of a stream.

    Attributes:
        name: kebab-case, unique within the schema (``speed-in-range``); quarantine reasons name it.
        expr: a CEL expression over ``message`` (the record) that is true for a good record.
        doc: what the rule means, for people (Glue descriptions, dashboards).
        on_failure: a key of :data:`ON_FAILURE`.
    """

    name: str
    expr: str
    doc: str
    on_failure: str = "ERROR"

    def as_property(self) -> dict[str, str]:
        """The rule as it is written in the schema."""
        return {"name": self.name, "expr": self.expr, "doc": self.doc, "onFailure": self.on_failure}

    @property
    def portable(self) -> bool:
        """Whether a Confluent client can evaluate it: it parses and reads no platform variable such as ``now``.

        Decided on the parse tree (:func:`core.cel_subset.variables`): ``now`` inside a string literal or
        as a field name (``message.now``) is no variable.
        """
        try:
            return not variables(self.expr) & PLATFORM_VARIABLES
        except SchemaError:
            return False


def _rule(item: Any, where: str) -> DataRule:
    if not isinstance(item, Mapping):
        msg = f"{where}: a rule must be an object with name, expr, doc and onFailure"
        raise SchemaError(msg)
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        msg = f"{where}: unknown keys {unknown}; a rule has {sorted(_KEYS)}"
        raise SchemaError(msg)
    missing = [k for k in ("name", "expr", "doc") if not str(item.get(k, "")).strip()]
    if missing:
        msg = f"{where}: missing or empty {', '.join(missing)}"
        raise SchemaError(msg)
    name = str(item["name"])
    if not _NAME.match(name):
        msg = f"{where}: rule name {name!r} is not kebab-case (e.g. speed-in-range)"
        raise SchemaError(msg)
    action = str(item.get("onFailure", "ERROR"))
    if action not in ON_FAILURE:
        msg = f"{where}: onFailure {action!r} of rule {name} is not one of {', '.join(ON_FAILURE)}"
        raise SchemaError(msg)
    return DataRule(name, str(item["expr"]), str(item["doc"]), action)


def rules_of(schema: Mapping[str, Any] | str, *, what: str = "schema") -> tuple[DataRule, ...]:
    """The rules a schema (parsed JSON or its text, as registered) carries; empty when it has none.

    Raises:
        SchemaError: the property is malformed (names ``what`` and the rule's position).
    """
    parsed = json.loads(schema) if isinstance(schema, str) else schema
    items = parsed.get(RULES_PROPERTY, []) if isinstance(parsed, Mapping) else []
    if not isinstance(items, list):
        msg = f"{what}: {RULES_PROPERTY!r} must be a list of rules"
        raise SchemaError(msg)
    rules = tuple(_rule(item, f"{what}: rules[{i}]") for i, item in enumerate(items))
    names = [r.name for r in rules]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        msg = f"{what}: rule names must be unique; {', '.join(twice)} appear more than once"
        raise SchemaError(msg)
    return rules


def enforced(rules: tuple[DataRule, ...]) -> tuple[DataRule, ...]:
    """The rules whose failure refuses or quarantines a record (``onFailure`` ERROR)."""
    return tuple(r for r in rules if r.on_failure == "ERROR")


def violation_reason(rule: str) -> str:
    """The quarantine reason of a record that breaks ``rule``: ``rule-violation: <rule>``."""
    return f"rule-violation: {rule}"


def stream_rules(catalog: Catalog) -> dict[str, tuple[DataRule, ...]]:
    """Each stream's rules (entity name -> rules, in schema order): for catalogs, docs and dashboards."""
    return {s.name: rules_of(s.schema, what=s.schema_path.name) for s in catalog.streams}


def confluent_rule_set(rules: tuple[DataRule, ...]) -> dict[str, Any] | None:
    """The Confluent ``ruleSet`` of a registration: the portable rules as CEL domain rules; None when none.

    Each is a ``CONDITION`` checked on write and read (``WRITEREAD``); ``onFailure`` applies to both.
    """
    domain = [
        {
            "name": r.name,
            "doc": r.doc,
            "kind": "CONDITION",
            "mode": "WRITEREAD",
            "type": "CEL",
            "expr": r.expr,
            "onFailure": f"{r.on_failure},{r.on_failure}",
            "disabled": False,
        }
        for r in rules
        if r.portable
    ]
    return {"domainRules": domain} if domain else None


def rule_changes(before: tuple[DataRule, ...], after: tuple[DataRule, ...]) -> list[str]:
    """What changed from ``before`` to ``after``: ``added x``, ``changed y (expr, doc)``, ``retired z``."""
    old = {r.name: r for r in before}
    new = {r.name: r for r in after}
    out = [f"added {n}" for n in new if n not in old]
    for name in (n for n in new if n in old and new[n] != old[n]):
        parts = [k for k in ("expr", "doc", "on_failure") if getattr(new[name], k) != getattr(old[name], k)]
        out.append(f"changed {name} ({', '.join(parts)})")
    out += [f"retired {n}" for n in old if n not in new]
    return out


def rule_changes_between(before: Mapping[str, Any] | str, after: Mapping[str, Any] | str) -> str:
    """:func:`rule_changes` of two schemas (parsed or text), joined with commas; "" when the rules are the same."""
    try:
        return ", ".join(rule_changes(rules_of(before), rules_of(after)))
    except (SchemaError, ValueError):
        return "the earlier version's rules cannot be read"

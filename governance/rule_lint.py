"""Lint the data rules each schema carries (its ``"rules"`` property, see :mod:`core.data_rules`).

Per file: the property is well formed (name, expr, doc, onFailure; unique kebab-case names), and
every expression parses as CEL, stays inside the subset that maps to Spark SQL and names only fields
the schema has (:mod:`core.cel_subset`). Across files: a rule of the same name (``location-in-range``)
is defined identically everywhere, as a named type shared by several files must be.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from core.cel_subset import compile_rule
from core.data_rules import DataRule, rules_of
from core.errors import SchemaError
from governance.rules import Violation

__all__ = ["lint_rules", "shared_rule_problems"]

_SUBSET = "keep to the rule subset of CEL (docs/schema-evolution.md, 'Data rules')"


def _rules(file: str, schema: Any) -> tuple[tuple[DataRule, ...], list[Violation]]:
    try:
        return rules_of(schema, what=file), []
    except SchemaError as exc:
        problem = str(exc).removeprefix(f"{file}: ")
        return (), [Violation(file, "<rules>", "data-rule", problem, "fix the rules property")]


def lint_rules(file: str, schema: Any) -> list[Violation]:
    """The problems of one schema's rules: malformed, unparsable, outside the subset, unknown fields."""
    rules, out = _rules(file, schema)
    for rule in rules:
        try:
            compile_rule(rule.expr, schema, what=f"rule {rule.name}")
        except SchemaError as exc:
            out.append(Violation(file, f"rules.{rule.name}", "data-rule-expr", str(exc), _SUBSET))
    return out


def shared_rule_problems(schemas: Mapping[str, Any]) -> list[Violation]:
    """A rule name used in several files with different definitions (the most common one is the reference)."""
    copies: dict[str, list[tuple[str, DataRule]]] = {}
    for file, schema in schemas.items():
        for rule in _rules(file, schema)[0]:
            copies.setdefault(rule.name, []).append((file, rule))
    out = []
    for name, found in copies.items():
        reference = Counter(rule for _, rule in found).most_common(1)[0][0]
        others = sorted(f for f, rule in found if rule == reference)
        out += [
            Violation(
                file,
                f"rules.{name}",
                "shared-rule-differs",
                f"rule {name} is defined differently in {', '.join(others)}",
                "make every definition identical (expr, doc, onFailure), or give this one its own name",
            )
            for file, rule in found
            if rule != reference
        ]
    return out

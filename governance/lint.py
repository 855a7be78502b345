"""Lint the schemas folder: each file's rules (governance.rules) plus the rules that span files.

Across files: one namespace for every named type, and a named type defined in several files
(such as Location) must be defined identically everywhere. Unparsable files are violations too. The
data rules each schema carries are linted by :mod:`governance.rule_lint`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fastavro

from core.avro_model import parse_schema, to_json
from core.errors import SchemaError
from governance.rule_lint import lint_rules, shared_rule_problems
from governance.rules import Violation, errors, lint_schema

__all__ = ["Violation", "errors", "lint_dir", "lint_schema", "lint_schemas"]


def lint_schemas(schemas: Mapping[str, Any]) -> list[Violation]:
    """Lint several parsed schemas (file name -> JSON), with the rules that span files.

    One namespace for every named type, and a named type defined in several files (such as
    Location) must be defined identically everywhere; so must a data rule of the same name.
    """
    out: list[Violation] = shared_rule_problems(schemas)
    definitions: dict[str, list[tuple[str, str]]] = {}
    owners: dict[str, list[tuple[str, str]]] = {}
    for file, schema in schemas.items():
        found, defined = lint_schema(file, schema)
        out.extend(found)
        out.extend(lint_rules(file, schema))
        for full, node in defined.items():
            text = json.dumps(to_json(node, nested_by_name=True), sort_keys=True)
            definitions.setdefault(full, []).append((file, text))
            owners.setdefault(node.namespace, []).append((file, full))
    if len(owners) > 1:
        expected = max(owners, key=lambda ns: len(owners[ns]))
        for namespace, where in owners.items():
            for file, full in where if namespace != expected else []:
                out.append(
                    Violation(
                        file,
                        full,
                        "namespace",
                        f"namespace {namespace or '(none)'} differs from {expected}",
                        f'use "namespace": "{expected}"',
                    )
                )
    for full, copies in definitions.items():
        texts = Counter(text for _, text in copies)
        reference = texts.most_common(1)[0][0]
        for file, text in copies:
            if text != reference:
                others = sorted({f for f, t in copies if t == reference})
                out.append(
                    Violation(
                        file,
                        full,
                        "shared-type-differs",
                        f"{full} is defined differently in {', '.join(others)}",
                        "make every definition identical (same fields, types, docs, defaults)",
                    )
                )
    return out


def lint_dir(folder: Path) -> list[Violation]:
    """Read every ``*.avsc`` in ``folder`` and lint them; unparsable files become ``parse`` violations."""
    parsed: dict[str, Any] = {}
    out: list[Violation] = []
    for path in sorted(folder.glob("*.avsc")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            fastavro.parse_schema(data)  # what the producer writes with must take it too
            parse_schema(data)
        except json.JSONDecodeError as exc:
            out.append(
                Violation(
                    path.name,
                    "<file>",
                    "parse",
                    f"not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}",
                    "fix the JSON",
                )
            )
            continue
        except Exception as exc:  # fastavro raises several unrelated types for bad schemas
            cause = exc.__cause__ if isinstance(exc, SchemaError) else exc
            out.append(Violation(path.name, "<schema>", "parse", f"not a valid Avro schema: {cause}", "fix the schema"))
            continue
        parsed[path.name] = data
    return out + lint_schemas(parsed)

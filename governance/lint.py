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

import avro.schema
import fastavro

from governance.rule_lint import lint_rules, shared_rule_problems
from governance.rules import NAMED, PRIMITIVES, Violation, errors, fullname, lint_schema

__all__ = ["Violation", "errors", "lint_dir", "lint_schema", "lint_schemas"]


def _normalized(schema: Any, namespace: str) -> Any:
    """A named type's definition with every name fully qualified, for comparing definitions across files."""
    if isinstance(schema, list):
        return [_normalized(b, namespace) for b in schema]
    if isinstance(schema, str):
        return schema if schema in PRIMITIVES else fullname(schema, namespace)
    out = dict(schema)
    if out.get("type") in NAMED:
        name = str(out["name"])
        namespace = str(out.pop("namespace", namespace)) if "." not in name else name.rsplit(".", 1)[0]
        out["name"] = fullname(name, namespace)
    for key in ("type", "items", "values"):
        if key in out and not (key == "type" and out[key] in NAMED | {"array", "map"}):
            out[key] = _normalized(out[key], namespace)
    if "fields" in out:
        out["fields"] = [{**f, "type": _normalized(f["type"], namespace)} for f in out["fields"]]
    return out


def lint_schemas(schemas: Mapping[str, Any]) -> list[Violation]:
    """Lint several parsed schemas (file name -> JSON), with the rules that span files.

    One namespace for every named type, and a named type defined in several files (such as
    Location) must be defined identically everywhere; so must a data rule of the same name.
    """
    out: list[Violation] = shared_rule_problems(schemas)
    definitions: dict[str, list[tuple[str, str]]] = {}
    owners: dict[str, list[tuple[str, str]]] = {}
    for file, schema in schemas.items():
        found, defined, namespaces = lint_schema(file, schema)
        out.extend(found)
        out.extend(lint_rules(file, schema))
        for full, definition in defined.items():
            text = json.dumps(_normalized(definition, namespaces[full]), sort_keys=True)
            definitions.setdefault(full, []).append((file, text))
            owners.setdefault(namespaces[full], []).append((file, full))
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
            fastavro.parse_schema(data)
            avro.schema.parse(json.dumps(data))
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
        except Exception as exc:
            out.append(Violation(path.name, "<schema>", "parse", f"not a valid Avro schema: {exc}", "fix the schema"))
            continue
        parsed[path.name] = data
    return out + lint_schemas(parsed)

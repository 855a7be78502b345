"""The subset of CEL that data rules may use: parsed by cel-python, type-checked against the Avro schema.

A rule means what the reference evaluator, **common-expression-language** (``cel``, CEL in Rust),
computes for it: true passes, false or an error fails the record. It is the reference rather than
cel-python because the producer hands it every record its compiled check does not pass (there the
reference is the verdict), because it is fast enough to judge the tens of thousands of generated
records of the differential test (tests/unit/test_rule_differential.py) on every CI run, and because
it follows the current spec on nulls (``null == 1.0`` is false, where cel-python raises). Its two
departures from the spec are the platform's too: an ordering with NaN is an error (the spec: false),
and ``-x`` of the smallest int64 wraps. The compiled Python (:mod:`core.cel_py`) and the Spark SQL
(:mod:`core.cel_sql`) are optimisations held to it by that test.

cel-python (``celpy``, the engine of confluent-kafka's CEL executor) parses the expression; this
module turns its parse tree into a small typed tree, refusing what the subset leaves out, and checks
every ``message.<field>`` against the schema. The subset is what maps one to one onto Spark SQL
(:mod:`core.cel_sql`), where one NULL stands for both CEL's null and CEL's error: so a null can
only be read where it is a field's own value (no optional field as a ternary's branch, literals only
in an ``in`` list, no field inside an optional record). It holds field selection on ``message``,
``now``, literals (int, double, string, bytes, bool, null), ``!``, ``&&``, ``||``, ``? :``,
comparisons, ``in`` a list literal, ``+`` and ``-`` (numbers; a timestamp and a duration),
``size()`` of bytes, ``duration('…')``, ``timestamp('…')`` and a string's ``startsWith``, ``endsWith`` and
``contains``. Left out: ``*``, ``/`` and ``%`` (Spark fails a whole batch on overflow or division by
zero, where CEL fails one record), macros, maps, indexing, conversions.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from typing import Any

import avro.schema
import celpy
from avro.schema import RecordSchema
from lark import Token, Tree

from core.cel_types import Node, Refused, field_type, refuse
from core.errors import SchemaError

__all__ = ["Node", "compile_rule", "field_paths", "variables"]

_ENV = celpy.Environment()
_ENV_LOCK = threading.RLock()
"""cel-python's parser and evaluator keep state between calls: one thread at a time (the streaming job compiles
each query's rules in that query's own batch thread; two at once gave each other's literals)."""
_COMPARE = {
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_in": "in",
}
_ORDERED = frozenset({"int", "double", "string", "bytes", "timestamp", "duration"})
_LITERAL_TYPES = {
    "INT_LIT": "int",
    "FLOAT_LIT": "double",
    "STRING_LIT": "string",
    "BYTES_LIT": "bytes",
    "BOOL_LIT": "bool",
    "NULL_LIT": "null",
}
_PASSTHROUGH = frozenset(
    {"conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary", "member", "primary"}
)
_STRING_METHODS = frozenset({"startsWith", "endsWith", "contains"})


class _Checker:
    """Turns one parse tree into :class:`Node` objects, checking types against ``record``."""

    def __init__(self, record: RecordSchema) -> None:
        self.record = record

    def node(self, tree: Tree | Token) -> Node:
        if isinstance(tree, Token):
            refuse(f"unexpected token {tree!s}")
        name, children = tree.data, tree.children
        if name in _PASSTHROUGH and len(children) == 1:
            return self.node(children[0])
        if name == "expr":
            return self.node(children[0]) if len(children) == 1 else self._cond(*children)
        if name in ("conditionalor", "conditionaland"):
            op = "||" if name == "conditionalor" else "&&"
            return self._logic(op, self.node(children[0]), self.node(children[1]))
        if name in ("relation", "addition", "multiplication"):  # [operator tree holding the left side, right side]
            op, left, right = children[0].data, self.node(children[0].children[0]), self.node(children[1])
            if op in _COMPARE:
                return self._compare(_COMPARE[op], left, right)
            if op in ("addition_add", "addition_sub"):
                return self._arith("+" if op == "addition_add" else "-", left, right)
            refuse(f"{op} (*, /, %) is outside the rule subset: Spark fails a whole batch where CEL fails one record")
        if name == "unary" and len(children) == 2:
            return self._unary(children[0], self.node(children[1]))
        if name == "member_dot":
            return self._field(tree)
        if name == "member_dot_arg":
            return self._method(children)
        if name == "ident":
            return self._ident(str(children[0]))
        if name == "ident_arg":
            return self._call(str(children[0]), self._args(children[1:]))
        if name == "paren_expr":
            return self.node(children[0])
        if name == "literal":
            return self._literal(tree.children[0])  # type: ignore[arg-type]  # a literal holds one token
        if name == "list_lit":
            items = self._args(children)
            return Node("list", "list", items, value=sorted({i.type for i in items}))
        refuse(f"{name.split('_')[0]} expressions ({name}) are outside the rule subset")

    def _args(self, children: list[Any]) -> tuple[Node, ...]:
        return tuple(self.node(c) for c in children[0].children) if children else ()

    def _cond(self, test: Tree, then: Tree, other: Tree) -> Node:
        t, a, b = self.node(test), self.node(then), self.node(other)
        if t.type != "bool" or a.type != b.type:
            refuse(f"c ? a : b needs a bool condition and branches of one type, got {t.type}, {a.type}, {b.type}")
        if a.nullable or b.nullable:
            # A null leaving a ternary could not be told from an error in Spark SQL, where both are NULL.
            refuse("a branch of c ? a : b is an optional field: compare it inside the branch (c ? x == 1.0 : ...)")
        return Node("cond", a.type, (t, a, b))

    @staticmethod
    def _logic(op: str, left: Node, right: Node) -> Node:
        if left.type != "bool" or right.type != "bool":
            refuse(f"{op} joins bool conditions, got {left.type} {op} {right.type}")
        return Node("binary", "bool", (left, right), op)

    @staticmethod
    def _compare(op: str, left: Node, right: Node) -> Node:
        if op == "in":
            if right.kind != "list" or right.value not in ([left.type], []):
                refuse(f"'in' needs a list literal of {left.type} values on its right")
            if any(item.kind != "literal" for item in right.args):
                # Spark's IN is NULL for a null item where CEL's list membership is false: literals only.
                refuse("'in' needs a list of literal values (no fields or expressions inside the list)")
            return Node("binary", "bool", (left, right), op)
        if op in ("==", "!=") and "null" in (left.type, right.type):
            other = right if left.type == "null" else left
            if not other.nullable:
                refuse(f"{op} null on {other.type}: only an optional field can be null")
            return Node("binary", "bool", (left, right), op)
        if left.type != right.type:
            hint = " (write 0.0 for a double)" if {left.type, right.type} == {"int", "double"} else ""
            refuse(f"{left.type} {op} {right.type}: compare values of one type{hint}")
        if op not in ("==", "!=") and left.type not in _ORDERED:
            refuse(f"{left.type} values have no order for {op}")
        return Node("binary", "bool", (left, right), op)

    @staticmethod
    def _arith(op: str, left: Node, right: Node) -> Node:
        types = (left.type, right.type)
        if types in (("int", "int"), ("double", "double"), ("duration", "duration")):
            return Node("binary", left.type, (left, right), op)
        if types == ("timestamp", "duration") or (op == "+" and types == ("duration", "timestamp")):
            return Node("binary", "timestamp", (left, right), op)
        refuse(f"{left.type} {op} {right.type} is outside the rule subset")

    def _unary(self, op: Tree, operand: Node) -> Node:
        if op.data == "unary_not" and operand.type == "bool":
            return Node("unary", "bool", (operand,), "!")
        if op.data == "unary_neg" and operand.type in ("int", "double"):
            if operand.kind == "literal":
                return Node("literal", operand.type, value=-operand.value)  # -90.0 is a number, not an operation
            return Node("unary", operand.type, (operand,), "-")
        refuse(f"{op.data} on {operand.type} is outside the rule subset")

    def _field(self, tree: Tree) -> Node:
        path: list[str] = []
        while isinstance(tree, Tree) and tree.data in ("member_dot", "member", "primary"):
            if tree.data == "member_dot":
                path.insert(0, str(tree.children[1]))
            tree = tree.children[0]
        if not (isinstance(tree, Tree) and tree.data == "ident" and str(tree.children[0]) == "message"):
            refuse(f"field selection .{'.'.join(path)} must start at message")
        kind, nullable = field_type(self.record, tuple(path))
        if kind == "record":
            refuse(f"message.{'.'.join(path)} is a record; compare its fields")
        return Node("field", kind, value=tuple(path), nullable=nullable)

    def _method(self, children: list[Any]) -> Node:
        method = str(children[1])
        target, args = (self.node(children[0]), self._args(children[2:])) if method in _STRING_METHODS else (None, ())
        if target is None or target.type != "string" or [a.type for a in args] != ["string"]:
            refuse(f".{method}() is outside the rule subset (strings have startsWith, endsWith, contains)")
        return Node("call", "bool", (target, *args), method)

    @staticmethod
    def _ident(name: str) -> Node:
        if name == "now":
            return Node("now", "timestamp")
        hint = "; the record is message" if name != "message" else "; select a field: message.<field>"
        refuse(f"unknown name {name!r}{hint}")

    @staticmethod
    def _call(name: str, args: tuple[Node, ...]) -> Node:
        types = [a.type for a in args]
        if name == "size" and types == ["bytes"]:
            return Node("call", "int", args, "size")
        if name == "size" and types == ["string"]:
            refuse("size() of a string is outside the rule subset: CEL engines count code points or UTF-8 bytes")
        if name in ("duration", "timestamp") and [a.kind for a in args] == ["literal"] and types == ["string"]:
            return Node("literal", name, value=_time_literal(name, args[0].value))
        refuse(f"{name}({', '.join(types)}) is outside the rule subset")

    @staticmethod
    def _literal(token: Token) -> Node:
        kind = _LITERAL_TYPES.get(token.type)
        if kind is None:
            refuse(f"literal {token!s} ({token.type}) is outside the rule subset")
        try:
            value = _ENV.program(_ENV.compile(str(token))).evaluate({})
        except celpy.CELEvalError as exc:  # an int literal beyond int64
            refuse(f"literal {token!s} cannot be evaluated: {exc.args[0] if exc.args else exc}")
        if kind == "double" and not math.isfinite(float(value)):  # type: ignore[arg-type]  # a DoubleType
            refuse(f"double literal {token!s} is beyond the range of a double (common-expression-language refuses it)")
        return Node("literal", kind, value=None if kind == "null" else _plain(value, kind))


def _plain(value: Any, kind: str) -> Any:
    return {"int": int, "double": float, "string": str, "bytes": bytes, "bool": bool}[kind](value)


def _time_literal(kind: str, text: str) -> Any:
    try:
        value = _ENV.program(_ENV.compile(f"{kind}({json.dumps(text)})")).evaluate({})
    except celpy.CELEvalError as exc:
        refuse(f"{kind}({text!r}) is not a valid {kind}: {exc}")
    return value


def compile_rule(expr: str, schema: Mapping[str, Any] | str, *, what: str = "rule") -> Node:
    """Parse ``expr``, refuse what the subset leaves out, and type-check it against ``schema``.

    Raises:
        SchemaError: the expression does not parse, is outside the subset, names a field the schema
            lacks, or is not a bool condition; the message names ``what``.
    """
    with _ENV_LOCK:
        return _compile_rule(expr, schema, what)


def _compile_rule(expr: str, schema: Mapping[str, Any] | str, what: str) -> Node:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    record = avro.schema.parse(text)
    if not isinstance(record, RecordSchema):
        msg = f"{what}: the schema is not a record"
        raise SchemaError(msg)
    try:
        tree = _ENV.compile(expr)
    except celpy.CELParseError as exc:
        first = str(exc).strip().splitlines()[0]
        msg = f"{what}: not valid CEL: {first}"
        raise SchemaError(msg) from exc
    try:
        node = _Checker(record).node(tree)
    except Refused as exc:
        msg = f"{what}: {exc}"
        raise SchemaError(msg) from exc
    if node.type != "bool":
        msg = f"{what}: the expression is a {node.type}, a rule must be a bool condition"
        raise SchemaError(msg)
    return node


def field_paths(node: Node) -> list[tuple[str, ...]]:
    """The record fields a rule reads, in order of first use (``("location", "latitude")``)."""
    out: list[tuple[str, ...]] = []
    stack = [node]
    while stack:
        current = stack.pop(0)
        if current.kind == "field" and current.value not in out:
            out.append(current.value)
        stack[:0] = current.args
    return out


def variables(expr: str) -> frozenset[str]:
    """The variables ``expr`` reads (``message``, ``now``), found in its parse tree, not its text.

    A name inside a string literal, a field name (``message.now``) or a function name is no variable.

    Raises:
        SchemaError: the expression is not valid CEL.
    """
    try:
        with _ENV_LOCK:
            tree = _ENV.compile(expr)
    except celpy.CELParseError as exc:
        msg = f"not valid CEL: {str(exc).strip().splitlines()[0]}"
        raise SchemaError(msg) from exc
    return frozenset(str(node.children[0]) for node in tree.iter_subtrees() if node.data == "ident")

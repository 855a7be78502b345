"""A stream's data rules (typed CEL trees of :mod:`core.cel_subset`) compiled into one Python predicate.

The producer checks every record before sending it; a CEL engine spends most of its time per record
converting Python values into CEL values. This module turns the validated tree into Python source
once per writer schema (only the node kinds of the subset; literals written with ``repr`` or bound as
constants) and compiles it, so that a record is checked by a few attribute loads and comparisons.

The predicate decides only where it decides exactly as common-expression-language (the producer's
CEL engine) does, and raises :class:`Undecided` (or the error Python raised) everywhere else, so the
caller asks the CEL engine. As with :mod:`core.cel_sql`, the places where Python and CEL differ:

- types: Python compares an int with a float and ``True`` with ``0``; a value is used only when it
  has the exact Python type of its field's CEL type (``float`` for double, ``int`` within int64 but
  not ``bool``, ``str`` holding valid Unicode, ``bytes``, a timezone-aware ``datetime``, or for a
  top-level ``timestamp-millis`` field the Avro form, an ``int`` of milliseconds), else undecided;
- NaN: an ordering (``<``, ``>=``...) with NaN is an error in common-expression-language (the rule
  fails however it is negated). Where an error can only fail the rule, under ``&&`` and ``||`` at
  the top (CEL's ``error || true`` is true, as Python's ``False or True``), Python's False for NaN
  gives the same verdict; under ``!``, a ternary's condition or a comparison of bools, NaN is
  undecided. ``==`` and ``!=`` are IEEE in both;
- null: an ordering with null, a selection on null, a null optional bool read as a condition (``!``,
  ``&&``, ``||``, a ternary's condition, the whole rule: Python's ``not None`` is True) or a nested
  field missing from its dict are errors in CEL, undecided here; a top-level field the record lacks
  is null, as the producer's CEL activation gives it (``record.get``);
- int ``+``, ``-`` and negation outside int64 are errors in CEL (the engine wraps one negation):
  undecided, as is any other error where it is not read as false.

One difference is deliberate: the CEL engine converts a nested record whole, so a value it cannot
convert (a key the schema lacks holding an object, a broken string) in a nested field no rule reads
fails every rule; the predicate reads only the fields the rules name, and the producer's serializer
refuses such a record in its turn.

So a True or False from the predicate is CEL's verdict, and an exception means "ask the CEL engine"
(the producer asks it after a False too, to name the rule broken). ``now`` is an argument: the
caller takes the time of the check once per record or per batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from core.cel_types import Node

__all__ = ["Predicate", "Undecided", "compile_predicate", "predicate_source"]

Predicate = Callable[[Mapping[str, Any], datetime | None], bool]
"""``predicate(record, now)``: True when the record meets every rule, False when it breaks one, or it raises."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64 = (-(2**63), 2**63 - 1)
_LOGIC = {"&&": "and", "||": "or"}
_ORDER = frozenset({"<", "<=", ">", ">="})
_PLAIN = {"==", "!=", *_ORDER}
_STRING_CALLS = {"startsWith": "startswith", "endsWith": "endswith"}


class Undecided(Exception):
    """The predicate cannot decide this record as CEL would: the caller asks the CEL engine."""


def _undecided() -> Any:
    raise Undecided


def _int(value: int) -> int:
    if not _INT64[0] <= value <= _INT64[1]:
        raise Undecided
    return value


def _ordered(value: float) -> float:
    if value != value:  # NaN: common-expression-language has no order for it
        raise Undecided
    return value


def _text(value: str) -> bool:
    """A non-ASCII string is valid Unicode (CEL refuses lone surrogates when it converts the record)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise Undecided from None
    return True


def _millis(value: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=value)


_BUILTINS: dict[str, Any] = {t.__name__: t for t in (type, len, dict, int, float, str, bytes, bool)}
_HELPERS: dict[str, Any] = {"_U": Undecided, "_undecided": _undecided, "_int": _int, "_ordered": _ordered}
_HELPERS |= {"_text": _text, "_millis": _millis, "_datetime": datetime}


class _Source:
    """Python source of one predicate: guarded field loads, per-call values, then one boolean expression."""

    def __init__(self, millis: frozenset[str]) -> None:
        self.millis = millis
        self.lines: list[str] = []
        self.names: dict[tuple[str, ...], str] = {}
        self.hoisted: dict[int, str] = {}  # by id: a node holding a list literal has no hash
        self.constants: dict[str, Any] = {}
        self.ordered: set[tuple[str, ...]] = set()
        self.guarded: set[tuple[str, ...]] = set()

    def field(self, node: Node) -> str:
        path: tuple[str, ...] = node.value
        for depth in range(1, len(path) + 1):
            part = path[:depth]
            if part in self.names:
                continue
            name = self.names[part] = f"v{len(self.names)}"
            if depth == 1:
                self.lines.append(f"{name} = m.get({path[0]!r})")
            else:
                self.lines.append(f"{name} = {self.names[path[: depth - 1]]}[{path[depth - 1]!r}]")
            if depth < len(path):
                self.lines.append(f"if type({name}) is not dict: raise _U")
        name = self.names[path]
        if path in self.guarded:
            return name
        self.guarded.add(path)
        guard = self._guard(node, name)
        if node.nullable:
            guard = f"{name} is None or ({guard})"
        self.lines.append(f"if not ({guard}): raise _U")
        return name

    def _guard(self, node: Node, name: str) -> str:
        path: tuple[str, ...] = node.value
        if node.type == "double":
            return f"type({name}) is float" + (f" and {name} == {name}" if path in self.ordered else "")
        if node.type == "int":
            return f"type({name}) is int and {_INT64[0]} <= {name} <= {_INT64[1]}"
        if node.type == "string":
            return f"type({name}) is str and ({name}.isascii() or _text({name}))"
        if node.type in ("bytes", "bool"):
            return f"type({name}) is {node.type}"
        if node.type == "timestamp":
            aware = f"type({name}) is _datetime and {name}.tzinfo is not None"
            if len(path) == 1 and path[0] in self.millis and not node.nullable:
                self.lines.append(f"if type({name}) is int: {name} = _millis({name})")
            return aware
        msg = f"no Python guard for CEL type {node.type}"
        raise ValueError(msg)

    def constant(self, value: Any) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def literal(self, node: Node) -> str:
        value = node.value
        if node.type == "null":
            return "None"
        if node.type in ("bool", "int", "string", "bytes"):
            return repr({"bool": bool, "int": int, "string": str, "bytes": bytes}[node.type](value))
        if node.type == "double":
            return repr(float(value)) if math.isfinite(value) else self.constant(float(value))
        if node.type == "timestamp":  # celpy's TimestampType, as a plain UTC datetime
            utc = value.astimezone(UTC)
            plain = datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC)
            return self.constant(plain)
        if node.type == "duration":
            return self.constant(timedelta(days=value.days, seconds=value.seconds, microseconds=value.microseconds))
        msg = f"no Python literal for CEL type {node.type}"
        raise ValueError(msg)

    def mark_ordered(self, node: Node, positive: bool = True) -> None:
        """Note the double fields ordered where NaN's error does not read as false: their loads refuse NaN."""
        if not positive and node.kind == "binary" and node.value in _ORDER:
            for side in node.args:
                if side.kind == "field" and side.type == "double":
                    self.ordered.add(side.value)
        for i, arg in enumerate(node.args):
            self.mark_ordered(arg, _positive(node, i, positive))

    def expr(self, node: Node, positive: bool = False) -> str:
        if node.kind == "field":
            return self.field(node)
        if node.kind == "literal":
            return self.literal(node)
        if node.kind == "now":
            return "(now if now is not None else _undecided())"
        if node.kind != "list" and not _reads_message(node):
            return self._hoist(node)
        return self._compound(node, positive)

    def _hoist(self, node: Node) -> str:
        """A value that does not depend on the record (``now + duration('24h')``): computed once per call."""
        if id(node) not in self.hoisted:
            text = self._compound(node, positive=False)
            name = self.hoisted[id(node)] = f"c{len(self.hoisted)}"
            self.lines.append(f"{name} = {text}")
        return self.hoisted[id(node)]

    def _compound(self, node: Node, positive: bool) -> str:
        args = [self.expr(a, _positive(node, i, positive)) for i, a in enumerate(node.args)]
        if node.kind in ("unary", "cond") or (node.kind == "binary" and node.value in _LOGIC):
            args = [_truth(a, text) for a, text in zip(node.args, args, strict=True)]
        if node.kind == "list":
            return f"({''.join(f'{a}, ' for a in args)})"
        if node.kind == "unary":
            if node.value == "!":
                return f"(not {args[0]})"
            return f"_int(-{args[0]})" if node.type == "int" else f"(-{args[0]})"
        if node.kind == "cond":
            return f"({args[1]} if {args[0]} else {args[2]})"
        if node.kind == "call":
            if node.value == "size":
                return f"len({args[0]})"
            if node.value == "contains":
                return f"({args[1]} in {args[0]})"
            return f"{args[0]}.{_STRING_CALLS[str(node.value)]}({args[1]})"
        if node.kind == "binary" and node.value in _LOGIC:
            return f"({args[0]} {_LOGIC[str(node.value)]} {args[1]})"
        if node.kind == "binary" and node.value in ("+", "-"):
            text = f"({args[0]} {node.value} {args[1]})"
            return f"_int{text}" if node.type == "int" else text
        if node.kind == "binary" and node.value == "in":
            if node.args[0].type != "double":  # a tuple's ``in`` tries identity first: exact but for NaN
                return f"({args[0]} in {args[1]})"
            items = [self.expr(i) for i in node.args[1].args]  # the names the list's items already have
            return "(" + (" or ".join(f"{args[0]} == {i}" for i in items) or "False") + ")"
        if node.kind == "binary" and node.value in _PLAIN:
            return self._compare(node, args, positive)
        msg = f"no Python for a CEL {node.kind} node ({node.value})"
        raise ValueError(msg)

    @staticmethod
    def _compare(node: Node, args: list[str], positive: bool) -> str:
        left, right = node.args
        op = str(node.value)
        if "null" in (left.type, right.type):
            other = args[1] if left.type == "null" else args[0]
            return f"({other} is {'not ' if op == '!=' else ''}None)"
        if op in _ORDER and left.type == "double" and not positive:  # a computed double is checked for NaN here
            args = [
                a if side.kind in ("field", "literal") else f"_ordered({a})"
                for a, side in zip(args, node.args, strict=True)
            ]
        return f"({args[0]} {op} {args[1]})"


def _positive(parent: Node, index: int, positive: bool) -> bool:
    """Whether ``parent``'s operand ``index`` sits where an error and false give the same verdict.

    At the top of a rule, an error fails the record as false does; ``&&``, ``||`` and a ternary's
    branches keep that (CEL's ``error || true`` is true as ``false or True`` is), ``!``, a ternary's
    condition and every other operator do not.
    """
    if parent.kind == "binary" and parent.value in _LOGIC:
        return positive
    return positive and parent.kind == "cond" and index > 0


def _truth(node: Node, text: str) -> str:
    """An operand read as a condition: an optional bool field that is null is an error in CEL (``!null``).

    Python's ``not None`` is True and ``None`` takes a ternary's else branch: undecided instead.
    """
    if node.kind == "field" and node.type == "bool" and node.nullable:
        return f"({text} if {text} is not None else _undecided())"
    return text


def _reads_message(node: Node) -> bool:
    return node.kind == "field" or any(_reads_message(a) for a in node.args)


def predicate_source(rules: Sequence[Node], *, millis: frozenset[str] = frozenset()) -> tuple[str, dict[str, Any]]:
    """The Python source of :func:`compile_predicate` and the constants it reads (for review and tests)."""
    source = _Source(millis)
    for rule in rules:
        source.mark_ordered(rule)
    checks = [_truth(rule, source.expr(rule, positive=True)) for rule in rules] or ["True"]
    body = [*source.lines, f"return {' and '.join(checks)}"]
    return "def predicate(m, now):\n" + "".join(f"    {line}\n" for line in body), source.constants


def compile_predicate(rules: Sequence[Node], *, millis: frozenset[str] = frozenset()) -> Predicate:
    """One Python function that is True when a record meets every rule of ``rules`` (typed trees of one schema).

    Args:
        rules: the rules' trees from :func:`core.cel_subset.compile_rule`, all against one schema.
        millis: top-level ``timestamp-millis`` fields whose Avro form (an int of milliseconds) the
            caller's CEL activation reads as a timestamp.

    Returns:
        ``predicate(record, now)``: CEL's verdict (every rule true, or not); :class:`Undecided` or another
        exception where the caller must ask the CEL engine (see the module docstring).
    """
    text, constants = predicate_source(rules, millis=millis)
    namespace: dict[str, Any] = {"__builtins__": _BUILTINS, **_HELPERS, **constants}
    exec(compile(text, "<data rules>", "exec"), namespace)  # noqa: S102 - source generated from a validated tree
    predicate: Predicate = namespace["predicate"]
    return predicate

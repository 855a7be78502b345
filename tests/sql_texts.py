"""Every SQL text users see, collected and checked in its own dialect with sqlglot.

Markdown code blocks carry their dialect in the fence (```` ```sql athena ````, ``redshift``,
``duckdb``), indented or not (inside a list item); a ``sql`` block without one is an error, so no
documented SQL escapes the checks. ```` ```sql athena example ```` marks a block that is not one of the
named queries (a time-travel example): it is parsed all the same.
sqlglot has no grammar for Redshift's ``CREATE EXTERNAL SCHEMA``: it falls back to an unchecked
``Command``, so that statement is tokenized by sqlglot's Redshift tokenizer and its clauses are
checked against the documented syntax here instead. Nor does it know Redshift's time travel on Iceberg
tables (``<table> AS OF TIMESTAMP { 'literal' | ( expression ) }``): each such clause is checked here (the
literal is a timestamp, the expression parses in Redshift's SQL) and taken out before the rest is parsed.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.dialects.redshift import Redshift
from sqlglot.errors import ErrorLevel

DIALECTS = ("athena", "redshift", "duckdb")
_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```sql(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```", re.MULTILINE | re.DOTALL
)


@dataclass(frozen=True)
class SqlBlock:
    """One SQL code block of a markdown file."""

    where: str
    dialect: str
    text: str
    example: bool = False


def sql_blocks(path: Path) -> list[SqlBlock]:
    """The ```` ```sql <dialect> [example] ```` blocks of a markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        dialect, *role = match["info"].split() or [""]
        assert dialect in DIALECTS, f"{path.name}:{line}: a sql block names no dialect of {DIALECTS}: {dialect!r}"
        assert role in ([], ["example"]), f"{path.name}:{line}: after the dialect only 'example' may follow: {role}"
        body = textwrap.dedent(match["body"]).strip()
        blocks.append(SqlBlock(f"{path.name}:{line}", dialect, body, example=bool(role)))
    return blocks


def parse_statements(sql: str, dialect: str) -> list[exp.Expression]:
    """Parse every statement strictly; a syntax error raises, and an unparsed ``Command`` fails the check.

    ``CREATE EXTERNAL SCHEMA`` in Redshift is checked by :func:`check_external_schema` instead.
    """
    if dialect == "redshift" and re.match(r"\s*CREATE\s+EXTERNAL\s+SCHEMA\b", sql, re.IGNORECASE):
        check_external_schema(sql)
        return []
    if dialect == "redshift":
        sql = strip_redshift_time_travel(sql)
    statements = [s for s in sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE) if s is not None]
    assert statements, f"no statement in {sql!r}"
    for statement in statements:
        assert not isinstance(statement, exp.Command), f"sqlglot could not parse this {dialect} SQL: {statement.sql()}"
    return statements


def check_external_schema(sql: str) -> None:
    """Check Redshift's ``CREATE EXTERNAL SCHEMA`` against its documented clauses.

    ``CREATE EXTERNAL SCHEMA [IF NOT EXISTS] s FROM DATA CATALOG DATABASE 'd' [REGION 'r'] IAM_ROLE 'arn'``
    """
    tokens = [(t.token_type.name, t.text) for t in Redshift().tokenize(sql)]
    if tokens and tokens[-1][0] == "SEMICOLON":
        tokens = tokens[:-1]
    words = [text.upper() if kind != "STRING" else None for kind, text in tokens]

    def take(*expected: str) -> None:
        for word in expected:
            assert words and words[0] == word, f"expected {word} in CREATE EXTERNAL SCHEMA, found {tokens[:1]}: {sql}"
            words.pop(0)
            tokens.pop(0)

    def take_string(clause: str) -> str:
        take(clause)
        assert tokens and tokens[0][0] == "STRING", f"{clause} needs a quoted string: {sql}"
        words.pop(0)
        return tokens.pop(0)[1]

    take("CREATE", "EXTERNAL", "SCHEMA")
    if words[:3] == ["IF", "NOT", "EXISTS"]:
        take("IF", "NOT", "EXISTS")
    assert tokens and tokens[0][0] in ("IDENTIFIER", "VAR"), f"expected the schema name: {sql}"
    words.pop(0)
    tokens.pop(0)
    take("FROM", "DATA", "CATALOG")
    take_string("DATABASE")
    if words[:1] == ["REGION"]:
        assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", take_string("REGION")), f"not a region: {sql}"
    role = take_string("IAM_ROLE")
    assert re.fullmatch(r"arn:aws:iam::(\d{12}|ACCOUNT_ID):role/[\w+=,.@-]{1,64}", role), f"not a role ARN: {role}"
    assert not tokens, f"unexpected clauses after IAM_ROLE: {tokens}"


_AS_OF = re.compile(r"""(?<=[\w"])\s+AS\s+OF\s+TIMESTAMP\s+""", re.IGNORECASE)


def _closing(text: str, opening: str, closing: str) -> int:
    """The index just after the ``closing`` that matches ``text[0] == opening`` (quotes skipped)."""
    depth, quoted, index = 0, False, 0
    while index < len(text):
        char = text[index]
        if char == "'":
            if quoted and text[index + 1 : index + 2] == "'":  # '' is a quote inside a string
                index += 2
                continue
            quoted = not quoted
            if opening == "'" and not quoted:
                return index + 1
        elif not quoted and char == opening:
            depth += 1
        elif not quoted and char == closing:
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    msg = f"unclosed {opening} in {text!r}"
    raise AssertionError(msg)


def strip_redshift_time_travel(sql: str) -> str:
    """``sql`` without its ``AS OF TIMESTAMP`` clauses, each checked: a timestamp literal or a Redshift expression."""
    while match := _AS_OF.search(sql):
        rest = sql[match.end() :]
        if rest.startswith("'"):
            end = _closing(rest, "'", "'")
            literal = rest[1 : end - 1]
            try:
                datetime.fromisoformat(literal)
            except ValueError as exc:
                msg = f"AS OF TIMESTAMP {rest[:end]} is no timestamp: {sql}"
                raise AssertionError(msg) from exc
        elif rest.startswith("("):
            end = _closing(rest, "(", ")")
            parse_statements(f"SELECT {rest[:end]}", "redshift")
        else:
            msg = f"AS OF TIMESTAMP takes a quoted timestamp or a (expression): {sql}"
            raise AssertionError(msg)
        sql = sql[: match.start()] + sql[match.end() + end :]
    return sql

"""Every SQL text users see, collected and checked in its own dialect with sqlglot.

Markdown code blocks carry their dialect in the fence (```` ```sql athena ````, ``redshift``,
``duckdb``), indented or not (inside a list item); a ``sql`` block without one is an error, so no
documented SQL escapes the checks.
sqlglot has no grammar for Redshift's ``CREATE EXTERNAL SCHEMA``: it falls back to an unchecked
``Command``, so that statement is tokenized by sqlglot's Redshift tokenizer and its clauses are
checked against the documented syntax here instead.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
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


def sql_blocks(path: Path) -> list[SqlBlock]:
    """The ```` ```sql <dialect> ```` blocks of a markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        dialect = match["info"].strip()
        assert dialect in DIALECTS, f"{path.name}:{line}: a sql block names no dialect of {DIALECTS}: {dialect!r}"
        blocks.append(SqlBlock(f"{path.name}:{line}", dialect, textwrap.dedent(match["body"]).strip()))
    return blocks


def parse_statements(sql: str, dialect: str) -> list[exp.Expression]:
    """Parse every statement strictly; a syntax error raises, and an unparsed ``Command`` fails the check.

    ``CREATE EXTERNAL SCHEMA`` in Redshift is checked by :func:`check_external_schema` instead.
    """
    if dialect == "redshift" and re.match(r"\s*CREATE\s+EXTERNAL\s+SCHEMA\b", sql, re.IGNORECASE):
        check_external_schema(sql)
        return []
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

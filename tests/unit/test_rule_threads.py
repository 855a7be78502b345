"""The rules compile the same from several threads at once, as the streaming job's queries compile theirs."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from core.catalog import load_catalog
from core.cel_sql import violation_sql
from core.cel_subset import compile_rule

CATALOG = load_catalog()


def _all_rules_sql() -> list[str]:
    out = []
    for stream in CATALOG.streams:
        schema = json.dumps(stream.schema)
        for rule in stream.schema.get("rules", []):
            out.append(violation_sql(compile_rule(rule["expr"], schema), "_decoded"))
    return out


def test_rules_compiled_in_eight_threads_at_once_are_the_rules_compiled_alone() -> None:
    alone = _all_rules_sql()
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda _: _all_rules_sql(), range(40)))
    assert all(sql == alone for sql in together)

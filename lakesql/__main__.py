"""``python -m lakesql``."""

from lakesql.cli import entry

entry()

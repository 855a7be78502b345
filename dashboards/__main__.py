"""``python -m dashboards``."""

from dashboards.cli import entry

entry()

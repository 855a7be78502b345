"""``python -m governance``: the schema workflow (lint, check, register, status)."""

from core.cli import run_cli
from governance.cli import main

run_cli(main)

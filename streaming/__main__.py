"""`python -m streaming`."""

from core.cli import run_cli
from streaming.cli import main

run_cli(main)

"""`python -m stack`."""

from core.cli import run_cli
from stack.cli import main

run_cli(main)

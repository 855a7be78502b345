"""``python -m producer``: see :mod:`producer.cli`."""

from core.cli import run_cli
from producer.cli import main

if __name__ == "__main__":
    run_cli(main)

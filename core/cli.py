"""Helpers shared by every command-line entry point."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from core.errors import TelemetryError

__all__ = ["run_cli"]


def run_cli(main: Callable[[], int | None]) -> None:
    """Run ``main`` and exit with its code; expected failures print one line, not a traceback.

    The log level is ``TELEMETRY_LOG_LEVEL`` (``INFO`` by default; ``DEBUG`` shows Spark's traces of a
    failed batch too).

    Args:
        main: the command's body. It returns an exit code (``None`` means 0) or raises.
    """
    level = os.environ.get("TELEMETRY_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        print(f"error: TELEMETRY_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}", file=sys.stderr)  # noqa: T201
        sys.exit(2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":  # httpx logs every schema registry request at INFO; a failed one is raised anyway
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        code = main()
    except TelemetryError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's one-line error
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)  # noqa: T201
        sys.exit(130)
    sys.exit(code or 0)

"""Where the Kafka client's own log lines go: a logger shown only at DEBUG.

librdkafka prints every refused connection to stderr ("127.0.0.1:9094 failed: Connection refused"),
which during a broker's restart is expected and retried. The project's clients say what matters
themselves (a summary, a one-line error); these lines stay available with ``TELEMETRY_LOG_LEVEL=DEBUG``.
"""

from __future__ import annotations

import logging

__all__ = ["librdkafka_logger"]


def librdkafka_logger(name: str) -> logging.Logger:
    """The logger to pass as a client's ``logger`` setting; quiet unless DEBUG is asked for."""
    logger = logging.getLogger(f"{name}.librdkafka")
    if logger.level == logging.NOTSET and logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logger.setLevel(logging.CRITICAL + 1)  # even its FATAL lines: the client raises them as one error
    return logger

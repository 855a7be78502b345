"""Fixtures of the faults suite: the integration stack fixtures, and each test's figures in the summary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The same session stack and per-test topic prefix as the integration tests.
from tests.integration.conftest import moto_endpoint, registry, stack, topic_prefix

__all__ = ["moto_endpoint", "registry", "stack", "topic_prefix"]

_FIGURES: list[str] = []


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[dict[str, object]]:
    """A test's figures (events, faults, lost, duplicated, recovery); printed in the run's summary."""
    found: dict[str, object] = {}
    yield found
    if found:
        _FIGURES.append(f"{request.node.name}: " + ", ".join(f"{k} {v}" for k, v in found.items()))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line of figures per faults test, for the run's log."""
    if _FIGURES:
        terminalreporter.section("faults: figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)

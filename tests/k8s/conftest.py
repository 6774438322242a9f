"""Fixtures for the Kubernetes usage tests: a real Prometheus loaded with generated history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from spendpilot.scenarios.prometheus_seed import (
    History,
    PrometheusServer,
    prometheus_binaries,
    running_prometheus,
)


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[History], AbstractContextManager[PrometheusServer]]]:
    """``with prometheus(history) as server:`` a Prometheus serving exactly ``history``.

    Skips the test (one line, why) where the ``prometheus`` package is not installed."""
    found = prometheus_binaries()
    if isinstance(found, str):
        pytest.skip(found)
    counter = iter(range(1000))

    def start(history: History) -> AbstractContextManager[PrometheusServer]:
        return running_prometheus(history, tmp_path / f"prom{next(counter)}")

    yield start

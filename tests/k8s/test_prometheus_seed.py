"""A scenario's usage.yaml served by a real Prometheus and read back by the source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.errors import ScenarioError
from spendpilot.scenarios.prometheus_seed import prometheus_binaries, scenario_prometheus

USAGE = """
clusters:
  - cluster: dev
    hours: 48
    series:
      - {namespace: ml, pod: eval-0, container: serve, metric: gpu_util_percent, values: [60], recent_hours: 30, recent_value: 1}
      - {namespace: web, pod: api-0, container: app, metric: cpu_cores, office_hours: {busy: 0.5, idle: 0.01}}
      - {namespace: web, pod: api-0, container: app, metric: memory_bytes, values: [100, 200]}
"""


def test_usage_yaml_is_served_and_read_back(tmp_path: Path) -> None:
    found = prometheus_binaries()
    if isinstance(found, str):
        pytest.skip(found)
    (tmp_path / "usage.yaml").write_text(USAGE)
    now = datetime.now(UTC) - timedelta(hours=1)
    with scenario_prometheus(tmp_path, tmp_path / "home", now) as configs:
        assert [c["cluster"] for c in configs] == ["dev"]
        [source] = build_sources(configs, tmp_path)
        result = source.read(SourceContext(now=now, prices=None))
    [state] = result.clusters
    [gpu] = state.usage_of("ml", "eval-0", "gpu_util_percent")
    assert gpu.values() == [60.0] * 18 + [1.0] * 30
    [cpu] = state.usage_of("web", "api-0", "cpu_cores")
    for point in cpu.points:
        start = point.at - timedelta(hours=1)
        busy = start.weekday() < 5 and 8 <= start.hour < 20
        assert point.value == pytest.approx(0.5 if busy else 0.01)
    [mem] = state.usage_of("web", "api-0", "memory_bytes")
    assert mem.values()[:4] == [100.0, 200.0, 100.0, 200.0]


def test_a_mistake_in_usage_yaml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "usage.yaml").write_text("clusters:\n  - cluster: dev\n    series:\n      - {namespace: a, pod: b, metric: disk}\n")
    with pytest.raises(ScenarioError, match="usage.yaml"), scenario_prometheus(tmp_path, tmp_path, datetime.now(UTC)):
        pass


def test_without_prometheus_an_eval_fails_and_the_demo_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "usage.yaml").write_text(USAGE)
    monkeypatch.setenv("PATH", str(tmp_path))  # no prometheus, no promtool
    with pytest.raises(ScenarioError, match="prometheus/promtool not installed"), \
            scenario_prometheus(tmp_path, tmp_path, datetime.now(UTC)):
        pass
    told: list[str] = []
    with scenario_prometheus(tmp_path, tmp_path, datetime.now(UTC), required=False, skipped=told.append) as sources:
        assert sources == []
    assert told == ["usage.yaml not served: prometheus/promtool not installed (Debian package `prometheus`; .ci/run installs it)"]

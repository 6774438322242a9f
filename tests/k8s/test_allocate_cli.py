"""`spendpilot allocate` as a user runs it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def test_allocate_names_the_unreadable_prometheus_and_exits_unavailable(tmp_path: Path) -> None:
    config = tmp_path / "spendpilot.toml"
    config.write_text('[[sources]]\nkind = "prometheus"\nname = "prom prod"\nurl = "http://127.0.0.1:9"\ncluster = "prod"\n')
    proc = run_cli("allocate", "--config", str(config), "--home", str(tmp_path / "home"))
    assert proc.returncode == 6
    assert "gap: prom prod: PrometheusError: Prometheus at http://127.0.0.1:9 is unreachable" in proc.stderr
    assert "no Kubernetes cluster was read" in proc.stderr

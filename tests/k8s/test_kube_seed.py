"""Scenario files with a cluster.yaml: loaded, validated, served by emulators, read by a sweep's source."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from tests.k8s import manifests as m

from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.agent.collect import collect_snapshot
from spendpilot.errors import ScenarioError
from spendpilot.scenarios.kube_seed import resolve_times, scenario_clusters, scenario_settings
from spendpilot.scenarios.model import load_scenario, scenarios_root

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _scenario(tmp_path: Path, clusters: object) -> Path:
    folder = tmp_path / "scn"
    folder.mkdir(parents=True)
    src = scenarios_root() / "ebs_gp2_volumes"
    for name in ("scenario.yaml", "resources.yaml", "billing.yaml"):
        shutil.copy(src / name, folder / name)
    (folder / "cluster.yaml").write_text(yaml.safe_dump(clusters))
    return folder


def test_relative_times() -> None:
    assert resolve_times({"a": ["now-30h", "now"], "b": "now-2d", "c": "nowhere", "d": 3}, NOW) == {
        "a": ["2026-02-28T06:00:00Z", "2026-03-01T12:00:00Z"], "b": "2026-02-27T12:00:00Z", "c": "nowhere", "d": 3,
    }  # fmt: skip


def test_clusters_are_served_and_swept(tmp_path: Path) -> None:
    job = m.job("zombie", "ml", started_hours_ago=None)
    job["status"]["startTime"] = "now-30h"
    folder = _scenario(
        tmp_path,
        {
            "clusters": [
                {"name": "demo-eks", "manifests": [m.node("n1"), job]},
                {"name": "edge", "manifests": []},
            ]
        },
    )
    spec = load_scenario(folder)
    assert [c.name for c in spec.kubernetes.clusters] == ["demo-eks", "edge"]
    home = tmp_path / "home"
    home.mkdir()
    with scenario_clusters(spec, home, NOW):
        settings = scenario_settings(spec, home, "http://127.0.0.1:1")
        configs = settings.source_configs()
        assert [c["kind"] for c in configs] == ["aws", "focus_lake", "llm_usage", "kubernetes"]
        kube = [s for s in build_sources(configs, home) if s.name.startswith("kubernetes")]
        snap = collect_snapshot(kube, SourceContext(now=NOW, prices=None))
    assert snap.gaps == []
    cluster = snap.cluster("demo-eks")
    assert cluster is not None and [n.name for n in cluster.nodes] == ["n1"]
    zombie = cluster.workload("Job", "ml", "zombie")
    assert zombie is not None and zombie.started_at == datetime(2026, 2, 28, 6, tzinfo=UTC)


def test_a_scenario_without_clusters_keeps_the_default_sources(tmp_path: Path) -> None:
    spec = load_scenario(scenarios_root() / "ebs_gp2_volumes")
    assert spec.kubernetes.clusters == []
    assert [c["kind"] for c in scenario_settings(spec, tmp_path, None).source_configs()] == [
        "aws",
        "focus_lake",
        "llm_usage",
    ]


def test_bad_cluster_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"cluster.yaml: field 'clusters.0.name'"):
        load_scenario(_scenario(tmp_path / "a", {"clusters": [{"name": "bad name"}]}))
    spec = load_scenario(
        _scenario(
            tmp_path / "b",
            {
                "clusters": [
                    {
                        "name": "c",
                        "manifests": [
                            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
                        ],
                    }
                ]
            },
        )
    )
    with (
        pytest.raises(ScenarioError, match=r"cluster.yaml: the emulator does not serve Secret"),
        scenario_clusters(spec, tmp_path, NOW),
    ):
        pass

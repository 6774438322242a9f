"""The demo organisation's Kubernetes cluster (evals/scenarios/demo/cluster.yaml), swept the way
`spendpilot demo` and `spendpilot eval demo` sweep it: its planted zombie Job and batch
Deployment are proposed with a saving, its stateful and web look-alikes are not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.k8s.harness import PRICES

from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.agent.collect import collect_snapshot
from spendpilot.checks.registry import all_checks
from spendpilot.savings.registry import estimate
from spendpilot.scenarios.kube_seed import kubernetes_source_config, scenario_clusters
from spendpilot.scenarios.model import load_scenario, scenarios_root


def test_the_demo_cluster_yields_its_expected_kubernetes_proposals(tmp_path: Path) -> None:
    spec = load_scenario(scenarios_root() / "demo")
    now = datetime.now(UTC)
    with scenario_clusters(spec, tmp_path, now):
        sources = build_sources(kubernetes_source_config(spec, tmp_path), tmp_path)
        snap = collect_snapshot(sources, SourceContext(now=now, prices=PRICES))
    assert snap.gaps == [] and [c.cluster for c in snap.clusters] == ["acme-eks"]
    found: dict[str, Any] = {}
    for rule in ("k8s_job_limits", "k8s_spot_placement"):
        check = all_checks()[rule]
        for f in check.run(snap, check.settings(), PRICES):
            found[f.facts.workload.name] = (f, estimate(f, PRICES))
    wanted = [w for w in spec.expected.must_propose if w.rule.startswith("k8s_")]
    assert (
        sorted(found)
        == sorted(w.target for w in wanted)
        == ["doc-embedder", "finetune-llama-stuck"]
    )
    for w in wanted:
        finding, est = found[w.target]
        assert finding.rule == w.rule and finding.action_kind == w.action
        assert est is not None and 0 < est.low.amount <= est.expected.amount <= est.high.amount
    for trap in spec.expected.must_not_propose:
        assert trap.target not in found, trap.why

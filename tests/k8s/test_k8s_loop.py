"""The whole loop on a cluster through the services a user drives: sweep proposes, an approval
executes (drift re-check, dry run, apply, verify), a rollback undoes it, and a change made by
hand after the sweep stops the execution as drift."""

from __future__ import annotations

from pathlib import Path

from tests.k8s import manifests as m

from spendpilot.config import Settings
from spendpilot.domain import ProposalStatus
from spendpilot.runtime import build_services
from spendpilot.scenarios.kube_emulator import RESOURCE_TYPES, kube_emulators

JOB = next(t for t in RESOURCE_TYPES if t.kind == "Job")


def _objs() -> list[dict]:
    pod = m.pod("stuck-x", "ml", node_name="n1", labels={"job-name": "stuck"}, owner=("Job", "stuck"), started_hours_ago=40,
                containers=[m.container("t", {"cpu": "4", "memory": "16Gi"})])  # fmt: skip
    return [m.node("n1", "m5.2xlarge"), m.job("stuck", "ml", started_hours_ago=40, ttl=600), pod]


def _settings(home: Path) -> Settings:
    return Settings(
        home=home,
        sources=[
            {"kind": "kubernetes", "kubeconfig": str(home / "kubeconfig"), "contexts": ["lab"]}
        ],
    )


def test_approve_executes_and_rollback_undoes(tmp_path: Path) -> None:
    with kube_emulators({"lab": _objs()}, tmp_path / "kubeconfig") as emulators:
        services = build_services(_settings(tmp_path))
        report = services.sweep()
        assert report.gaps == []
        (proposal,) = services.list_proposals([ProposalStatus.PENDING])
        assert proposal.target.name == "stuck" and proposal.action == "k8s_set_job_limits"
        outcome = services.approve(proposal.id, by="alice")
        assert outcome.status is ProposalStatus.EXECUTED, outcome.message
        job = emulators["lab"].store.list(JOB, "ml")[0][0]
        assert job["spec"]["activeDeadlineSeconds"] == 86400
        assert any(r.endswith("/jobs/stuck?dryRun=All") for r in emulators["lab"].requests)
        undone = services.rollback(proposal.id, by="alice")
        assert undone.status is ProposalStatus.EXECUTED, undone.message
        job = emulators["lab"].store.get(JOB, "ml", "stuck")
        assert "activeDeadlineSeconds" not in job["spec"]


def test_a_hand_change_after_the_sweep_is_drift(tmp_path: Path) -> None:
    with kube_emulators({"lab": _objs()}, tmp_path / "kubeconfig") as emulators:
        services = build_services(_settings(tmp_path))
        services.sweep()
        (proposal,) = services.list_proposals([ProposalStatus.PENDING])
        job_type = JOB
        job = emulators["lab"].store.get(job_type, "ml", "stuck")
        job["spec"]["activeDeadlineSeconds"] = 7200
        emulators["lab"].store.replace(job_type, "ml", "stuck", job, dry_run=False)
        outcome = services.approve(proposal.id, by="alice")
        assert outcome.status is ProposalStatus.DRIFTED, outcome.message
        assert not any("PATCH" in r for r in emulators["lab"].requests)

"""Crash safety and drift: the guarantees that let a human trust the approve button."""

from __future__ import annotations

import json

from tests.conftest import run_cli
from tests.e2e.conftest import DemoOrg

from spendpilot._failpoints import CRASH_EXIT_CODE
from spendpilot.domain import ProposalStatus
from spendpilot.runtime import build_services


def _proposal_for(demo_org: DemoOrg, name: str) -> dict:
    sweep = json.loads(run_cli("sweep", "--json", env=demo_org.env(), check=True).stdout)
    return next(p for p in sweep["proposals"] if p["target"]["name"] == name)


def test_crash_between_approval_and_execution_executes_exactly_once(demo_org: DemoOrg) -> None:
    env = demo_org.env()
    p = _proposal_for(demo_org, "train-idle-p4d")

    crashed = run_cli("approve", p["id"], "--by", "alice", env={**env, "SPENDPILOT_FAILPOINTS": "after_approval_recorded"})
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    assert demo_org.instance_state("train-idle-p4d") == "running"
    store = build_services(demo_org.settings).store
    assert store.get_proposal(p["id"]).status is ProposalStatus.APPROVED

    listed = run_cli("proposals", env=env)
    assert "spendpilot resume" in listed.stdout

    resumed = run_cli("resume", env=env, check=True)
    assert p["id"] in resumed.stdout
    assert demo_org.instance_state("train-idle-p4d") in ("stopping", "stopped")
    again = run_cli("resume", env=env, check=True)
    assert "Nothing to resume" in again.stdout
    assert store.count_audit("execution_started", p["id"]) == 1
    assert store.get_proposal(p["id"]).status is ProposalStatus.EXECUTED


def test_crash_after_apply_is_recovered_without_applying_again(demo_org: DemoOrg) -> None:
    env = demo_org.env()
    p = _proposal_for(demo_org, "ticket-classifier")
    crashed = run_cli("approve", p["id"], "--by", "alice", env={**env, "SPENDPILOT_FAILPOINTS": "after_apply"})
    assert crashed.returncode == CRASH_EXIT_CODE
    ssm = demo_org.client("ssm")
    param = ssm.get_parameter(Name="/spendpilot/features/ticket-classifier/model")["Parameter"]
    assert param["Value"] == "gpt-4.1-mini"
    version_after_apply = param["Version"]

    run_cli("resume", env=env, check=True)
    param = ssm.get_parameter(Name="/spendpilot/features/ticket-classifier/model")["Parameter"]
    assert param["Version"] == version_after_apply, "resume must not write the parameter again"
    store = build_services(demo_org.settings).store
    assert store.count_audit("recovered_already_applied", p["id"]) == 1
    assert store.count_audit("execution_started", p["id"]) == 1
    assert store.get_proposal(p["id"]).status is ProposalStatus.EXECUTED


def test_drift_since_the_sweep_aborts_and_requeues(demo_org: DemoOrg) -> None:
    env = demo_org.env()
    p = _proposal_for(demo_org, "train-idle-p4d")
    # Someone starts using the box and tags it after the sweep.
    demo_org.client("ec2").create_tags(
        Resources=[p["target"]["id"]], Tags=[{"Key": "owner", "Value": "new-experiment"}]
    )
    result = run_cli("approve", p["id"], "--by", "alice", env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "changed since the sweep" in result.stdout
    assert demo_org.instance_state("train-idle-p4d") == "running"
    store = build_services(demo_org.settings).store
    assert store.get_proposal(p["id"]).status is ProposalStatus.DRIFTED
    assert store.count_audit("execution_applied", p["id"]) == 0

    # The next sweep re-proposes it against the new state, with a new plan hash.
    sweep = json.loads(run_cli("sweep", "--json", env=env, check=True).stdout)
    fresh = next(x for x in sweep["proposals"] if x["target"]["name"] == "train-idle-p4d")
    assert fresh["id"] != p["id"] and fresh["plan_hash"] != p["plan_hash"]


def test_stale_plan_hash_is_refused(demo_org: DemoOrg) -> None:
    p = _proposal_for(demo_org, "train-idle-p4d")
    result = run_cli("approve", p["id"], "--by", "alice", "--plan-hash", "deadbeefdeadbeef", env=demo_org.env())
    assert result.returncode == 5
    assert demo_org.instance_state("train-idle-p4d") == "running"

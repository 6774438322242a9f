"""Crash safety and drift: the guarantees that let a human trust the approve button."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import update
from tests.conftest import run_cli
from tests.demo_fixtures import DemoOrg

from spendpilot._failpoints import CRASH_EXIT_CODE
from spendpilot.domain import Approval, Decision, ProposalStatus, utcnow
from spendpilot.runtime import build_services
from spendpilot.state.schema import executions


def _proposal_for(swept_org: DemoOrg, name: str) -> dict:
    """The pending proposal for ``name``, as the org's ``spendpilot sweep --json`` printed it."""
    assert swept_org.sweep is not None
    return next(p for p in swept_org.sweep["proposals"] if p["target"]["name"] == name)


def test_crash_between_approval_and_execution_executes_exactly_once(swept_org: DemoOrg) -> None:
    env = swept_org.env()
    p = _proposal_for(swept_org, "train-idle-p4d")

    crashed = run_cli("approve", p["id"], "--by", "alice", env={**env, "SPENDPILOT_FAILPOINTS": "after_approval_recorded"})
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    assert swept_org.instance_state("train-idle-p4d") == "running"
    store = build_services(swept_org.settings).store
    assert store.get_proposal(p["id"]).status is ProposalStatus.APPROVED

    listed = run_cli("proposals", env=env)
    assert "spendpilot resume" in listed.stdout

    resumed = run_cli("resume", env=env, check=True)
    assert p["id"] in resumed.stdout
    assert swept_org.instance_state("train-idle-p4d") in ("stopping", "stopped")
    again = run_cli("resume", env=env, check=True)
    assert "Nothing to resume" in again.stdout
    assert store.count_audit("execution_started", p["id"]) == 1
    assert store.get_proposal(p["id"]).status is ProposalStatus.EXECUTED


def test_crash_after_apply_is_recovered_without_applying_again(swept_org: DemoOrg) -> None:
    env = swept_org.env()
    p = _proposal_for(swept_org, "ticket-classifier")
    crashed = run_cli("approve", p["id"], "--by", "alice", env={**env, "SPENDPILOT_FAILPOINTS": "after_apply"})
    assert crashed.returncode == CRASH_EXIT_CODE
    ssm = swept_org.client("ssm")
    param = ssm.get_parameter(Name="/spendpilot/features/ticket-classifier/model")["Parameter"]
    assert param["Value"] == "gpt-4.1-mini"
    version_after_apply = param["Version"]

    run_cli("resume", env=env, check=True)
    param = ssm.get_parameter(Name="/spendpilot/features/ticket-classifier/model")["Parameter"]
    assert param["Version"] == version_after_apply, "resume must not write the parameter again"
    store = build_services(swept_org.settings).store
    assert store.count_audit("recovered_already_applied", p["id"]) == 1
    assert store.count_audit("execution_started", p["id"]) == 1
    assert store.get_proposal(p["id"]).status is ProposalStatus.EXECUTED


def test_drift_since_the_sweep_aborts_and_requeues(swept_org: DemoOrg) -> None:
    env = swept_org.env()
    p = _proposal_for(swept_org, "train-idle-p4d")
    # Someone starts using the box and tags it after the sweep.
    swept_org.client("ec2").create_tags(
        Resources=[p["target"]["id"]], Tags=[{"Key": "owner", "Value": "new-experiment"}]
    )
    result = run_cli("approve", p["id"], "--by", "alice", env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "changed since the sweep" in result.stdout
    assert swept_org.instance_state("train-idle-p4d") == "running"
    store = build_services(swept_org.settings).store
    assert store.get_proposal(p["id"]).status is ProposalStatus.DRIFTED
    assert store.count_audit("execution_applied", p["id"]) == 0

    # The next sweep re-proposes it against the new state, with a new plan hash.
    sweep = json.loads(run_cli("sweep", "--json", env=env, check=True).stdout)
    fresh = next(x for x in sweep["proposals"] if x["target"]["name"] == "train-idle-p4d")
    assert fresh["id"] != p["id"] and fresh["plan_hash"] != p["plan_hash"]


def test_stale_plan_hash_is_refused(swept_org: DemoOrg) -> None:
    p = _proposal_for(swept_org, "train-idle-p4d")
    result = run_cli("approve", p["id"], "--by", "alice", "--plan-hash", "deadbeefdeadbeef", env=swept_org.env())
    assert result.returncode == 5
    assert swept_org.instance_state("train-idle-p4d") == "running"


def _route_version(swept_org: DemoOrg, feature: str) -> tuple[str, int]:
    param = swept_org.client("ssm").get_parameter(Name=f"/spendpilot/features/{feature}/model")["Parameter"]
    return param["Value"], param["Version"]


def test_resumes_racing_for_a_dead_processs_execution_apply_it_once(swept_org: DemoOrg) -> None:
    env = swept_org.env()
    p = _proposal_for(swept_org, "ticket-classifier")
    crashed = run_cli("approve", p["id"], "--by", "alice", env={**env, "SPENDPILOT_FAILPOINTS": "before_apply"})
    assert crashed.returncode == CRASH_EXIT_CODE
    value, version = _route_version(swept_org, "ticket-classifier")
    assert value == "gpt-4.1"  # claimed, not applied

    # Three operators (or a daemon restart and two humans) resume at the same moment.
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "spendpilot.cli", "resume"], env={**os.environ, **env},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(3)
    ]
    results = [(r.wait(timeout=180), r.stdout.read() if r.stdout else "") for r in racers]
    assert _route_version(swept_org, "ticket-classifier") == ("gpt-4.1-mini", version + 1), results
    store = build_services(swept_org.settings).store
    assert store.count_audit("execution_applied", p["id"]) == 1
    assert store.count_audit("execution_taken_over", p["id"]) == 1
    assert store.get_proposal(p["id"]).status is ProposalStatus.EXECUTED
    assert {code for code, _ in results} <= {0, 5}


def test_an_execution_held_by_a_live_process_is_left_to_it(swept_org: DemoOrg) -> None:
    env = swept_org.env()
    p = _proposal_for(swept_org, "ticket-classifier")
    crashed = run_cli("approve", p["id"], "--by", "alice", env={**env, "SPENDPILOT_FAILPOINTS": "before_apply"})
    assert crashed.returncode == CRASH_EXIT_CODE
    store = build_services(swept_org.settings).store
    key = f"{p['id']}:{p['plan_hash']}"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        # Hand the ledger row to a process that is alive, as if an approval were still running.
        live_owner = f"{socket.gethostname()}:{holder.pid}:feedface"
        with store.engine.begin() as conn:
            conn.execute(
                update(executions).where(executions.c.idempotency_key == key)
                .values(owner=live_owner, lease_until=utcnow() + timedelta(minutes=10))
            )
        held = run_cli("resume", env=env)
        assert held.returncode == 5, held.stdout + held.stderr
        assert "being executed by another process" in held.stdout
        assert _route_version(swept_org, "ticket-classifier")[0] == "gpt-4.1"
    finally:
        holder.kill()
        holder.wait()
    # Once that process is gone, resume takes over and finishes the change.
    done = run_cli("resume", env=env, check=True)
    assert p["id"] in done.stdout
    assert _route_version(swept_org, "ticket-classifier")[0] == "gpt-4.1-mini"


def test_an_expired_approval_goes_back_to_the_queue_and_does_not_block_others(swept_org: DemoOrg) -> None:
    env = swept_org.env()
    stale = _proposal_for(swept_org, "ticket-classifier")
    fresh = _proposal_for(swept_org, "train-idle-p4d")
    crashed = run_cli("approve", fresh["id"], "--by", "alice", env={**env, "SPENDPILOT_FAILPOINTS": "after_approval_recorded"})
    assert crashed.returncode == CRASH_EXIT_CODE
    store = build_services(swept_org.settings).store
    # The first approval was given four days ago, through the store, so the audit log records it
    # (a decisions row backdated by hand would be refused as not in the audit log).
    four_days_ago = Approval(
        proposal_id=stale["id"], plan_hash=stale["plan_hash"], decision=Decision.APPROVE, by="alice",
        at=utcnow() - timedelta(days=4),
    )
    store.record_decision(four_days_ago, ProposalStatus.APPROVED)

    resumed = run_cli("resume", env=env)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    assert "expired" in resumed.stdout
    assert _route_version(swept_org, "ticket-classifier")[0] == "gpt-4.1", "an expired approval must not act"
    assert swept_org.instance_state("train-idle-p4d") in ("stopping", "stopped"), "the valid approval still runs"
    assert store.get_proposal(stale["id"]).status is ProposalStatus.PENDING
    assert store.count_audit("approval_expired", stale["id"]) == 1

    # A fresh approval of the same plan then executes it.
    run_cli("approve", stale["id"], "--by", "bob", env=env, check=True)
    assert _route_version(swept_org, "ticket-classifier")[0] == "gpt-4.1-mini"


def test_unusable_arguments_are_bad_input(swept_org: DemoOrg) -> None:
    env = swept_org.env()
    p = _proposal_for(swept_org, "train-idle-p4d")
    blank = run_cli("reject", p["id"], "--by", "alice", "--reason", "   ", env=env)
    assert blank.returncode == 2 and "needs a reason" in blank.stderr
    short = run_cli("approve", p["id"], "--by", "alice", "--plan-hash", "1234", env=env)
    assert short.returncode == 2 and "too short" in short.stderr
    nobody = run_cli("approve", p["id"], "--by", " ", env=env)
    assert nobody.returncode == 2 and "--by NAME" in nobody.stderr
    assert swept_org.instance_state("train-idle-p4d") == "running"
    store = build_services(swept_org.settings).store
    assert store.get_proposal(p["id"]).status is ProposalStatus.PENDING


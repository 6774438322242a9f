"""The whole loop through the real CLI and the TUI: sweep, approve, reject, execute, audit."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from tests.conftest import run_cli
from tests.demo_fixtures import DemoOrg, DemoTemplate
from tests.tui.conftest import settle

from spendpilot.domain import ProposalStatus
from spendpilot.memory.decisions import reason_to_reconsider
from spendpilot.runtime import build_services
from spendpilot.scenarios.model import ExpectedProposal
from spendpilot.tui import SpendpilotApp
from spendpilot.tui.widgets import ProposalQueue


def _aws_side(wanted: list[ExpectedProposal]) -> list[ExpectedProposal]:
    """The session fixtures sweep the demo's AWS organisation, lake and LLM usage; the demo's
    Kubernetes cluster (cluster.yaml) is swept by `spendpilot demo` / `eval demo` and checked in
    tests/k8s/test_demo_cluster.py."""
    return [w for w in wanted if not w.rule.startswith("k8s_")]


def _by_target(proposals: list[dict]) -> dict[str, dict]:
    return {p["target"]["name"] or p["target"]["id"]: p for p in proposals}


def test_sweep_yields_expected_proposals_and_avoids_traps(demo_org: DemoOrg) -> None:
    proc = run_cli("sweep", "--json", env=demo_org.env(), check=True)
    data = json.loads(proc.stdout)
    found = _by_target(data["proposals"])
    for want in _aws_side(demo_org.scenario.expected.must_propose):
        assert want.target in found, f"missing proposal for {want.target}: {sorted(found)}"
        assert found[want.target]["rule"] == want.rule
        assert found[want.target]["action"] == want.action
    for trap in demo_org.scenario.expected.must_not_propose:
        assert trap.target not in found, f"fell into trap {trap.target}: {trap.why}"
    for p in data["proposals"]:
        s = p["estimated_monthly_savings"]
        assert 0 < float(s["low"]) <= float(s["expected"]) <= float(s["high"])
        assert p["currency"] == "USD" and p["evidence"] and p["risk"] in ("low", "medium", "high")
        assert p["status"] == "pending"


def test_the_demo_proposes_the_same_changes_worth_the_same_total(demo_template: DemoTemplate) -> None:
    """Refactors keep what the demo finds on AWS and in its LLM usage: eleven proposals in two
    accounts and two regions, $21,340.00 a month expected (issues 5 and 7; the Kubernetes two are
    in tests/k8s/test_demo_cluster.py).

    Reads what the session's real ``spendpilot sweep --json`` of the demo printed (see demo_fixtures).
    """
    report = demo_template.sweep["report"]
    assert sorted(p["target"]["name"] for p in demo_template.sweep["proposals"]) == sorted(
        want.target for want in _aws_side(demo_template.scenario.expected.must_propose)
    )
    assert len(report["new_proposals"]) == 11
    assert report["totals"] == [{"amount": "21340.00", "currency": "USD"}]


def test_cli_and_tui_decisions_change_exactly_what_was_approved(swept_org: DemoOrg) -> None:
    env = swept_org.env()
    sweep = swept_org.sweep
    assert sweep is not None
    found = _by_target(sweep["proposals"])
    idle_p4d = found["train-idle-p4d"]
    notebook = found["notebook-g5-idle"]
    classifier = found["ticket-classifier"]
    batch = found["embedding-batch-workers"]

    approved = run_cli("approve", idle_p4d["id"], "--by", "alice", env=env)
    assert approved.returncode == 0, approved.stderr
    assert "verified" in approved.stdout.lower()
    rejected = run_cli("reject", notebook["id"], "--by", "bob", "--reason", "researcher back Monday", env=env)
    assert rejected.returncode == 0, rejected.stderr

    # The third decision comes through the TUI, driven by Textual's pilot.
    services = build_services(swept_org.settings)

    async def approve_in_tui() -> None:
        app = SpendpilotApp(services, approver="carol")
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            queue = app.query_one(ProposalQueue)
            queue.move_cursor(row=queue.proposal_ids.index(classifier["id"]))
            await pilot.pause()
            await pilot.press("a")
            await pilot.pause()
            await pilot.press("y")
            for _ in range(50):
                await settle(pilot)
                if services.get_proposal(classifier["id"]).status is not ProposalStatus.PENDING:
                    break

    import asyncio

    asyncio.run(approve_in_tui())

    # Exactly the approved changes happened, once; nothing else moved.
    assert swept_org.instance_state("train-idle-p4d") in ("stopping", "stopped")
    assert swept_org.instance_state("notebook-g5-idle") == "running"
    assert swept_org.instance_state("inference-g5-busy") == "running"
    ssm = swept_org.client("ssm")
    assert ssm.get_parameter(Name="/spendpilot/features/ticket-classifier/model")["Parameter"]["Value"] == "gpt-4.1-mini"
    assert ssm.get_parameter(Name="/spendpilot/features/code-review-agent/model")["Parameter"]["Value"] == "gpt-4.1"
    group = swept_org.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["embedding-batch-workers"]
    )["AutoScalingGroups"][0]
    assert "MixedInstancesPolicy" not in group, "the unapproved spot switch must not have run"

    store = services.store
    assert store.get_proposal(idle_p4d["id"]).status is ProposalStatus.EXECUTED
    assert store.get_proposal(classifier["id"]).status is ProposalStatus.EXECUTED
    assert store.get_proposal(notebook["id"]).status is ProposalStatus.REJECTED
    assert store.get_proposal(batch["id"]).status is ProposalStatus.PENDING
    for pid in (idle_p4d["id"], classifier["id"]):
        assert store.count_audit("execution_started", pid) == 1
        assert store.count_audit("execution_verified", pid) == 1
    assert store.count_audit("execution_started", notebook["id"]) == 0
    assert store.verify_audit_chain()[0]

    # Approving twice is refused and changes nothing.
    again = run_cli("approve", idle_p4d["id"], "--by", "alice", env=env)
    assert again.returncode == 5
    assert store.count_audit("execution_started", idle_p4d["id"]) == 1


def test_rejection_is_remembered_and_not_reproposed(swept_org: DemoOrg) -> None:
    assert swept_org.sweep is not None
    first_new = swept_org.sweep["report"]["new_proposals"]  # the first sweep, as the fixture ran it
    services = build_services(swept_org.settings)
    notebook = next(
        p for p in services.list_proposals([ProposalStatus.PENDING]) if p.target.name == "notebook-g5-idle"
    )
    services.reject(notebook.id, by="bob", reason="researcher back Monday")
    second = build_services(swept_org.settings).sweep()
    assert notebook.id not in second.new_proposals + second.unchanged_proposals
    assert any("notebook-g5-idle" in s and "researcher back Monday" in s for s in second.suppressed)
    assert len(second.unchanged_proposals) == len(first_new) - 1


def test_waste_that_comes_back_after_execution_is_proposed_again(swept_org: DemoOrg) -> None:
    services = build_services(swept_org.settings)
    p4d = next(p for p in services.list_proposals([ProposalStatus.PENDING]) if p.target.name == "train-idle-p4d")
    assert services.approve(p4d.id, by="alice").status is ProposalStatus.EXECUTED

    # Its owner starts it again and leaves it idle: the same waste, a new proposal.
    swept_org.client("ec2").start_instances(InstanceIds=[p4d.target.id])
    again = build_services(swept_org.settings).sweep()
    back = next(p for p in services.list_proposals([ProposalStatus.PENDING]) if p.target.name == "train-idle-p4d")
    assert back.id != p4d.id and back.id in again.new_proposals
    assert back.plan_hash == p4d.plan_hash
    assert services.get_proposal(p4d.id).status is ProposalStatus.EXECUTED, "history is kept"
    [total] = again.totals
    assert total.amount >= back.estimate.expected.amount

    # A further sweep finds the same open proposal, not a third one.
    third = build_services(swept_org.settings).sweep()
    assert back.id in third.unchanged_proposals and not third.new_proposals


def test_a_growing_saving_brings_a_rejection_back_and_says_why(swept_org: DemoOrg) -> None:
    services = build_services(swept_org.settings)
    notebook = next(
        p for p in services.list_proposals([ProposalStatus.PENDING]) if p.target.name == "notebook-g5-idle"
    )
    services.reject(notebook.id, by="bob", reason="researcher back Monday")
    # Same plan, but the saving is now shown 25% larger than what bob rejected.
    bigger = notebook.model_copy(
        update={"estimate": notebook.estimate.model_copy(
            update={"expected": notebook.estimate.expected * Decimal("1.25")}
        )}
    )
    assert services.memory.should_suppress(notebook) is not None
    assert services.memory.should_suppress(bigger) is None
    assert reason_to_reconsider(services.memory.rejection_for(notebook.fingerprint), bigger).startswith(
        "the expected saving grew"
    )


@pytest.mark.parametrize("config_model", [None])
def test_offline_chat_answers_from_data(swept_org: DemoOrg, config_model: None) -> None:
    services = build_services(swept_org.settings)
    top = services.chat("what are our top 5 services?")
    assert top.startswith("Top 5 services by spend") and "Amazon Elastic Compute Cloud" in top
    pending = services.list_proposals([ProposalStatus.PENDING])
    biggest = max(pending, key=lambda p: p.estimate.expected.amount)
    why = services.chat("why this proposal?", selected_proposal_id=biggest.id)
    assert biggest.estimate.formula in why and str(biggest.estimate.expected) in why
    saved = services.chat("what did we save?")  # realized savings: nothing executed, said, not substituted
    assert saved.startswith("Realized savings: no executed proposals yet") and "$" not in saved


def test_daemon_once_sweeps_through_the_scheduler_path(demo_org: DemoOrg) -> None:
    proc = run_cli("daemon", "--once", env=demo_org.env())
    assert proc.returncode == 0, proc.stderr
    assert "scheduled sweep" in proc.stderr and "11 new" in proc.stderr
    listed = json.loads(run_cli("proposals", "--json", env=demo_org.env(), check=True).stdout)
    assert len(listed) == len(_aws_side(demo_org.scenario.expected.must_propose))

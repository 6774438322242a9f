"""Issue 6 #11 and #12 as they were found: through the real CLI, against the demo organisation.

#11: a decisions row written into ``state.sqlite`` (the proposal marked approved) was applied by
``spendpilot resume`` — a real SSM change — with no approval in the audit log.
#12: after a real instance stop, deleting the last five audit rows (its approval and the stop)
left ``audit --verify`` "intact".
"""

from __future__ import annotations

import json
import sqlite3

from tests.conftest import run_cli
from tests.e2e.conftest import DemoOrg

from spendpilot.domain import ProposalStatus, utcnow
from spendpilot.runtime import build_services

ROUTE = "/spendpilot/features/ticket-classifier/model"


def _proposal_for(demo_org: DemoOrg, name: str) -> dict:
    sweep = json.loads(run_cli("sweep", "--json", env=demo_org.env(), check=True).stdout)
    return next(p for p in sweep["proposals"] if p["target"]["name"] == name)


def _route(demo_org: DemoOrg) -> tuple[str, int]:
    param = demo_org.client("ssm").get_parameter(Name=ROUTE)["Parameter"]
    return param["Value"], param["Version"]


def test_a_decision_written_into_the_database_is_not_executed_by_resume(demo_org: DemoOrg) -> None:
    env = demo_org.env()
    p = _proposal_for(demo_org, "ticket-classifier")
    before = _route(demo_org)
    with sqlite3.connect(demo_org.home / "state.sqlite", isolation_level=None) as db:
        db.execute(
            "INSERT INTO decisions (proposal_id, plan_hash, decision, by, reason, at) VALUES (?, ?, 'approve', 'mallory', '', ?)",
            (p["id"], p["plan_hash"], utcnow().replace(tzinfo=None).isoformat(sep=" ")),
        )
        db.execute(
            "UPDATE proposals SET status = 'approved', body = json_set(body, '$.status', 'approved') WHERE id = ?",
            (p["id"],),
        )

    resumed = run_cli("resume", env=env)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    assert "approval not found in the audit log; refusing to execute" in resumed.stdout
    assert _route(demo_org) == before, "the forged approval changed the SSM parameter"
    store = build_services(demo_org.settings).store
    assert store.get_proposal(p["id"]).status is ProposalStatus.PENDING
    assert store.count_audit("approval_refused", p["id"]) == 1
    assert store.count_audit("execution_started", p["id"]) == 0

    verified = run_cli("audit", "--verify", env=env)
    assert verified.returncode == 1
    assert "audit chain intact" in verified.stdout  # nobody touched the log itself...
    assert f"approve of {p['id']} by 'mallory'" in verified.stdout  # ...the forged row is named

    # A human's approval of the same plan, through spendpilot, is acted on.
    run_cli("approve", p["id"], "--by", "alice", env=env, check=True)
    assert _route(demo_org)[0] == "gpt-4.1-mini"


def test_cutting_the_log_after_a_real_stop_is_detected_and_blocks_further_execution(demo_org: DemoOrg) -> None:
    env = demo_org.env()
    p4d = _proposal_for(demo_org, "train-idle-p4d")
    run_cli("approve", p4d["id"], "--by", "alice", env=env, check=True)
    assert demo_org.instance_state("train-idle-p4d") in ("stopping", "stopped")
    store = build_services(demo_org.settings).store
    events = store.audit_events()
    assert [e.kind for e in events[-5:]] == [
        "approved", "execution_started", "execution_applied", "execution_verified", "status:executed",
    ]

    with sqlite3.connect(demo_org.home / "state.sqlite", isolation_level=None) as db:
        db.execute("DELETE FROM audit_log WHERE seq > ?", (len(events) - 5,))
    verified = run_cli("audit", "--verify", env=env)
    assert verified.returncode == 1, verified.stdout
    assert (
        f"audit chain BROKEN at event {len(events) - 4}: head anchor mismatch: "
        f"{len(events)} events expected from the head anchor, {len(events) - 5} found"
    ) in verified.stdout
    doctor = run_cli("doctor", env=env)
    assert doctor.returncode == 1 and "audit_chain" in doctor.stderr

    # Until the log is trustworthy again, no approval is acted on.
    notebook = next(
        x for x in json.loads(run_cli("proposals", "--json", env=env, check=True).stdout)
        if x["target"]["name"] == "notebook-g5-idle"
    )
    refused = run_cli("approve", notebook["id"], "--by", "bob", env=env)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "refusing to execute" in refused.stdout
    assert demo_org.instance_state("notebook-g5-idle") == "running"

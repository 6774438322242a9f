"""Cheap, real state for audit and approval tests: a home with a StateStore, synthetic proposals
in every stage, and an AWS endpoint that records every request and refuses it.

The endpoint is the seam that proves "nothing was applied": the executor reads the resource
before it changes anything, so an executor that accepts an approval reaches this server, and
one that refuses it sends nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from spendpilot.actions import ActionContext
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.base import SingleTarget, Targets
from spendpilot.domain import (
    ActionPlan,
    Approval,
    Decision,
    Estimate,
    Evidence,
    ExecutionStatus,
    Money,
    Proposal,
    ProposalStatus,
    ResourceRef,
    Risk,
    utcnow,
)
from spendpilot.domain.reports import ExecutionOutcome
from spendpilot.execution import Executor
from spendpilot.state import StateStore


def make_proposal(proposal_id: str, instance: str, expected: str = "1200.00") -> Proposal:
    """A stop_instance proposal from the real domain types (so its plan hash is real)."""
    amount = Decimal(expected)
    target = ResourceRef(provider="aws", kind="ec2_instance", id=instance, region="us-east-1", name=f"gpu-{instance}")
    return Proposal(
        id=proposal_id, rule="idle_gpu_instance", action="stop_instance", target=target,
        summary=f"{target.name} idle for 14 days",
        estimate=Estimate(
            low=Money.usd(amount * Decimal("0.8")), expected=Money.usd(amount), high=Money.usd(amount * Decimal("1.1")),
            formula="hourly price x 730 h x idle share",
        ),
        plan=ActionPlan(
            action="stop_instance", target=target, change={"state": "stopped"},
            expected_pre_state={"state": "running", "instance_type": "g5.xlarge", "tags": {}},
            rollback_description="start it again", description=f"Stop {instance}",
        ),
        risk=Risk.LOW,
        evidence=[Evidence(label="GPU p95", value="0.4%", source="CloudWatch")],
        fingerprint=f"fp-{proposal_id}", evidence_digest=f"ev-{proposal_id}",
    )


@dataclass
class Home:
    """A home whose state has one proposal of each kind:

    - ``executed``: approved by alice, applied and verified;
    - ``approved``: approved by bob, not executed yet (as after a crash): the genuine approval
      a tampered log must stop from being acted on;
    - ``pending``: waiting for a human (what a forger approves);
    - ``rejected``: rejected by carol.
    """

    path: Path
    store: StateStore
    proposals: dict[str, Proposal] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.path / "state.sqlite"

    @property
    def head_path(self) -> Path:
        return self.path / "audit.head"

    def db(self) -> sqlite3.Connection:
        """A raw connection, as an attacker with the file would have (autocommit)."""
        return sqlite3.connect(self.db_path, isolation_level=None)

    def sql(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.db() as conn:
            return conn.execute(statement, params).fetchall()

    def env(self, aws_endpoint: str | None = None) -> dict[str, str]:
        env = {"SPENDPILOT_HOME": str(self.path)}
        if aws_endpoint:
            env["SPENDPILOT_AWS__ENDPOINT_URL"] = aws_endpoint
        return env

    def fresh_store(self) -> StateStore:
        return StateStore(f"sqlite:///{self.db_path}")

    def event_count(self) -> int:
        return int(self.sql("SELECT count(*) FROM audit_log")[0][0])


def build_home(path: Path, *, approver: str | None = "bob") -> Home:
    """The home described in ``Home``; ``approver=None`` leaves ``approved`` pending (a home
    with nothing half-done)."""
    path.mkdir(parents=True, exist_ok=True)
    store = StateStore(f"sqlite:///{path / 'state.sqlite'}")
    home = Home(path=path, store=store)
    for name, instance in (("executed", "i-0e1"), ("approved", "i-0a2"), ("pending", "i-0b3"), ("rejected", "i-0c4")):
        p = make_proposal(f"sp-{name[:4]}0001", instance)
        store.upsert_proposal(p)
        home.proposals[name] = p
    ex = home.proposals["executed"]
    store.record_decision(_approval(ex, "alice"), ProposalStatus.APPROVED)
    key = f"{ex.id}:{ex.plan_hash}"
    assert store.claim_execution(key, ex.id, "executor", owner="host:1:dead", lease_until=utcnow() + timedelta(minutes=1))
    store.mark_execution(key, ExecutionStatus.APPLIED, actor="executor", detail={"state": "stopping"})
    store.mark_execution(
        key, ExecutionStatus.VERIFIED, actor="executor", detail={"state": "stopped"},
        proposal_status=ProposalStatus.EXECUTED, note="applied and verified",
    )
    if approver is not None:
        store.record_decision(_approval(home.proposals["approved"], approver), ProposalStatus.APPROVED)
    rejected = home.proposals["rejected"]
    store.record_decision(
        Approval(proposal_id=rejected.id, plan_hash=rejected.plan_hash, decision=Decision.REJECT, by="carol",
                 reason="researcher back Monday"),
        ProposalStatus.REJECTED, note="rejected by carol",
    )
    return home


def mark_approved(home: Home, proposal_id: str) -> None:
    """Set a proposal's status to approved in the file, column and JSON body alike."""
    home.sql(
        "UPDATE proposals SET status = 'approved', body = json_set(body, '$.status', 'approved') WHERE id = ?",
        proposal_id,
    )


def forge_approval(
    home: Home, proposal_id: str, plan_hash: str, by: str = "mallory", at: str | None = None
) -> None:
    """What issue 6 #11 did: a decisions row and an approved status, written straight into the file."""
    home.sql(
        "INSERT INTO decisions (proposal_id, plan_hash, decision, by, reason, at) VALUES (?, ?, 'approve', ?, '', ?)",
        proposal_id, plan_hash, by, at or utcnow().replace(tzinfo=None).isoformat(sep=" "),
    )
    mark_approved(home, proposal_id)


def _approval(p: Proposal, by: str) -> Approval:
    return Approval(proposal_id=p.id, plan_hash=p.plan_hash, decision=Decision.APPROVE, by=by)


# --- an AWS endpoint that records and refuses ------------------------------------------------------

_REFUSAL = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>'
    b"<Message>refused by the test recorder</Message></Error></Errors><RequestID>test</RequestID></Response>"
)


class AwsRecorder:
    """A loopback HTTP server standing in for AWS: it records each request's action and answers
    403, so nothing can be applied through it and every attempt is counted."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
                action = self.headers.get("X-Amz-Target") or next(
                    (kv.split("=", 1)[1] for kv in body.split("&") if kv.startswith("Action=")), body[:60]
                )
                recorder.requests.append(action)
                self.send_response(403)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(_REFUSAL)))
                self.end_headers()
                self.wfile.write(_REFUSAL)

            def log_message(self, *_: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> AwsRecorder:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def execute(home: Home, recorder: AwsRecorder, proposal_id: str) -> ExecutionOutcome | Exception:
    """Run the real executor on one proposal against the recorder; an error is returned, not raised."""
    aws = AwsAdapter(region="us-east-1", endpoint_url=recorder.url)
    executor = Executor(home.fresh_store(), ActionContext(targets=Targets([SingleTarget("aws", aws)])))
    try:
        return executor.execute(proposal_id)
    except Exception as exc:  # the recorder refuses every call, so an executor that acts ends here
        return exc

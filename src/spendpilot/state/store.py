"""The operational store. Every state change of a proposal writes an audit event in the same
transaction, so the audit log and the proposal table can never disagree."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from spendpilot.domain import (
    Approval,
    AuditEvent,
    Decision,
    Estimate,
    Evidence,
    Execution,
    ExecutionStatus,
    Proposal,
    ProposalStatus,
    utcnow,
)
from spendpilot.errors import InvalidTransition, PlanHashMismatch, ProposalNotFound
from spendpilot.proposals.transitions import check_transition
from spendpilot.state.schema import audit_log, decisions, executions, metadata, proposals, sweeps

GENESIS = "0" * 64
_DECISION_EVENTS = {Decision.APPROVE: "approved", Decision.REJECT: "rejected"}


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _event_hash(prev_hash: str, at: datetime, actor: str, kind: str, pid: str | None, payload: str) -> str:
    raw = "|".join([prev_hash, at.isoformat(), actor, kind, pid or "", payload])
    return hashlib.sha256(raw.encode()).hexdigest()


class StateStore:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", self._sqlite_pragmas)
            # Writers take the lock at BEGIN, so the audit chain's read-then-append is atomic
            # across processes (a deferred transaction would fail on upgrade instead of waiting).
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        metadata.create_all(self.engine)

    @staticmethod
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" listener issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # the TUI and the daemon share the file
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    # --- audit -----------------------------------------------------------------------------
    def _append_audit(
        self, conn: Connection, actor: str, kind: str, proposal_id: str | None, payload: dict[str, Any]
    ) -> AuditEvent:
        last = conn.execute(select(audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).scalar()
        prev = last or GENESIS
        at = utcnow()
        body = json.dumps(payload, sort_keys=True, default=str)
        digest = _event_hash(prev, at, actor, kind, proposal_id, body)
        seq = conn.execute(
            insert(audit_log).values(
                at=at, actor=actor, kind=kind, proposal_id=proposal_id, payload=body,
                prev_hash=prev, hash=digest,
            )
        ).inserted_primary_key[0]
        return AuditEvent(
            seq=seq, at=at, actor=actor, kind=kind, proposal_id=proposal_id,
            payload=payload, prev_hash=prev, hash=digest,
        )

    def audit(self, actor: str, kind: str, proposal_id: str | None, payload: dict[str, Any]) -> AuditEvent:
        with self.engine.begin() as conn:
            return self._append_audit(conn, actor, kind, proposal_id, payload)

    def audit_events(self, proposal_id: str | None = None, limit: int | None = None) -> list[AuditEvent]:
        q = select(audit_log).order_by(audit_log.c.seq.desc())
        if proposal_id:
            q = q.where(audit_log.c.proposal_id == proposal_id)
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [
            AuditEvent(
                seq=r["seq"], at=_aware(r["at"]), actor=r["actor"], kind=r["kind"],
                proposal_id=r["proposal_id"], payload=json.loads(r["payload"]),
                prev_hash=r["prev_hash"], hash=r["hash"],
            )
            for r in reversed(rows)
        ]

    def verify_audit_chain(self) -> tuple[bool, int]:
        """Recompute every hash; returns (intact, events checked)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
        prev = GENESIS
        for r in rows:
            expected = _event_hash(prev, _aware(r["at"]), r["actor"], r["kind"], r["proposal_id"], r["payload"])
            if r["prev_hash"] != prev or r["hash"] != expected:
                return False, len(rows)
            prev = r["hash"]
        return True, len(rows)

    # --- proposals -------------------------------------------------------------------------
    def upsert_proposal(self, proposal: Proposal, actor: str = "sweep") -> bool:
        """Insert a new proposal (True) or leave an existing one with the same id alone (False)."""
        with self.engine.begin() as conn:
            exists = conn.execute(select(proposals.c.id).where(proposals.c.id == proposal.id)).scalar()
            if exists:
                return False
            conn.execute(
                insert(proposals).values(
                    id=proposal.id, status=proposal.status.value, fingerprint=proposal.fingerprint,
                    plan_hash=proposal.plan_hash, sweep_id=proposal.sweep_id,
                    body=proposal.model_dump_json(), created_at=proposal.created_at,
                    updated_at=proposal.updated_at,
                )
            )
            self._append_audit(
                conn, actor, "proposed", proposal.id,
                {
                    "action": proposal.action, "target": proposal.target.label(),
                    "plan_hash": proposal.plan_hash,
                    "expected_monthly": str(proposal.estimate.expected.amount),
                },
            )
            return True

    def count_proposals(self, fingerprint: str, plan_hash: str) -> int:
        """How many proposals this finding has had with this plan (the next generation's number)."""
        q = select(func.count()).select_from(proposals).where(
            proposals.c.fingerprint == fingerprint, proposals.c.plan_hash == plan_hash
        )
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    def refresh_estimate(
        self, proposal_id: str, estimate: Estimate, evidence: list[Evidence], sweep_id: str | None
    ) -> None:
        """A pending proposal's saving moved: show the reviewer today's figures, and audit it.

        The plan (what an approval binds to) does not change here; only what it is worth.
        """
        with self.engine.begin() as conn:
            body = conn.execute(select(proposals.c.body).where(proposals.c.id == proposal_id)).scalar()
            if body is None:
                raise ProposalNotFound(f"no proposal with id {proposal_id!r}")
            old = Proposal.model_validate_json(body)
            new = old.model_copy(
                update={"estimate": estimate, "evidence": evidence, "sweep_id": sweep_id, "updated_at": utcnow()}
            )
            conn.execute(
                update(proposals).where(proposals.c.id == proposal_id).values(
                    body=new.model_dump_json(), sweep_id=sweep_id, updated_at=new.updated_at
                )
            )
            self._append_audit(
                conn, "sweep", "estimate_refreshed", proposal_id,
                {"from": str(old.estimate.expected.amount), "to": str(estimate.expected.amount), "sweep_id": sweep_id},
            )

    def get_proposal(self, proposal_id: str) -> Proposal:
        with self.engine.connect() as conn:
            row = conn.execute(select(proposals.c.body).where(proposals.c.id == proposal_id)).scalar()
        if row is None:
            raise ProposalNotFound(f"no proposal with id {proposal_id!r} (see `spendpilot proposals`)")
        return Proposal.model_validate_json(row)

    def list_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[Proposal]:
        q = select(proposals.c.body).order_by(proposals.c.created_at)
        if statuses:
            q = q.where(proposals.c.status.in_([s.value for s in statuses]))
        with self.engine.connect() as conn:
            return [Proposal.model_validate_json(b) for b in conn.execute(q).scalars()]

    def set_status(
        self, proposal_id: str, status: ProposalStatus, *, actor: str, note: str = "",
        event: str | None = None, payload: dict[str, Any] | None = None,
    ) -> Proposal:
        with self.engine.begin() as conn:
            return self._set_status(conn, proposal_id, status, actor=actor, note=note, event=event, payload=payload)

    def _set_status(
        self, conn: Connection, proposal_id: str, status: ProposalStatus, *, actor: str,
        note: str = "", event: str | None = None, payload: dict[str, Any] | None = None,
    ) -> Proposal:
        body = conn.execute(select(proposals.c.body).where(proposals.c.id == proposal_id)).scalar()
        if body is None:
            raise ProposalNotFound(f"no proposal with id {proposal_id!r}")
        proposal = Proposal.model_validate_json(body)
        check_transition(proposal_id, proposal.status, status)
        now = utcnow()
        proposal = proposal.model_copy(update={"status": status, "updated_at": now, "note": note or proposal.note})
        conn.execute(
            update(proposals).where(proposals.c.id == proposal_id).values(
                status=status.value, body=proposal.model_dump_json(), updated_at=now
            )
        )
        self._append_audit(
            conn, actor, event or f"status:{status.value}", proposal_id,
            {"status": status.value, "note": note, **(payload or {})},
        )
        return proposal

    # --- decisions -------------------------------------------------------------------------
    def record_decision(self, approval: Approval, new_status: ProposalStatus, note: str = "") -> Proposal:
        """Record a human decision on a pending proposal, atomically with its status change.

        The pending check runs inside the write transaction, so of two people deciding at the
        same moment the second is refused instead of both being recorded.
        """
        with self.engine.begin() as conn:
            current = conn.execute(
                select(proposals.c.status, proposals.c.plan_hash).where(proposals.c.id == approval.proposal_id)
            ).first()
            if current is None:
                raise ProposalNotFound(f"no proposal with id {approval.proposal_id!r} (see `spendpilot proposals`)")
            if current.status != ProposalStatus.PENDING.value:
                verb = "approved" if approval.decision is Decision.APPROVE else "rejected"
                raise InvalidTransition(
                    f"{approval.proposal_id} is {current.status}; only pending proposals can be {verb}"
                )
            if current.plan_hash != approval.plan_hash:
                raise PlanHashMismatch(
                    f"{approval.proposal_id}'s plan changed to {current.plan_hash[:12]} while you were deciding; "
                    "review it and decide again"
                )
            conn.execute(
                insert(decisions).values(
                    proposal_id=approval.proposal_id, plan_hash=approval.plan_hash,
                    decision=approval.decision.value, by=approval.by, reason=approval.reason,
                    at=approval.at,
                )
            )
            return self._set_status(
                conn, approval.proposal_id, new_status, actor=approval.by, note=note,
                event=_DECISION_EVENTS[approval.decision],
                payload={"plan_hash": approval.plan_hash, "reason": approval.reason},
            )

    def latest_decision(self, proposal_id: str) -> Approval | None:
        q = (
            select(decisions).where(decisions.c.proposal_id == proposal_id)
            .order_by(decisions.c.id.desc()).limit(1)
        )
        with self.engine.connect() as conn:
            r = conn.execute(q).mappings().first()
        if r is None:
            return None
        return Approval(
            proposal_id=r["proposal_id"], plan_hash=r["plan_hash"], decision=Decision(r["decision"]),
            by=r["by"], reason=r["reason"], at=_aware(r["at"]),
        )

    # --- execution ledger ------------------------------------------------------------------
    def get_execution(self, key: str) -> Execution | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(executions).where(executions.c.idempotency_key == key)).mappings().first()
        if r is None:
            return None
        return Execution(
            proposal_id=r["proposal_id"], idempotency_key=key, status=ExecutionStatus(r["status"]),
            detail=json.loads(r["detail"]), started_at=_aware(r["started_at"]),
            finished_at=_aware(r["finished_at"]),
        )

    def claim_execution(
        self, key: str, proposal_id: str, actor: str, *, owner: str, lease_until: datetime
    ) -> bool:
        """Insert the ledger row; False if another process already claimed this key."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(executions).values(
                        idempotency_key=key, proposal_id=proposal_id,
                        status=ExecutionStatus.STARTED.value, detail="{}", started_at=utcnow(),
                        owner=owner, lease_until=lease_until,
                    )
                )
                self._append_audit(
                    conn, actor, "execution_started", proposal_id, {"idempotency_key": key, "owner": owner}
                )
            return True
        except IntegrityError:
            return False

    def take_over_execution(
        self, key: str, actor: str, *, owner: str, lease_until: datetime,
        is_stale: Callable[[str | None, datetime | None, datetime], bool], now: datetime | None = None,
    ) -> bool:
        """Move an unfinished ledger row to ``owner`` if its holder has stopped; False otherwise.

        The update is conditional on the previous owner, so of two processes taking over the
        same dead owner's row exactly one succeeds, on SQLite and on Postgres alike.
        """
        with self.engine.begin() as conn:
            row = conn.execute(
                select(executions.c.owner, executions.c.lease_until, executions.c.status, executions.c.proposal_id)
                .where(executions.c.idempotency_key == key)
            ).mappings().first()
            unfinished = (ExecutionStatus.STARTED.value, ExecutionStatus.APPLIED.value)
            if row is None or row["status"] not in unfinished:
                return False
            if row["owner"] != owner and not is_stale(row["owner"], _aware(row["lease_until"]), now or utcnow()):
                return False
            previous = executions.c.owner.is_(None) if row["owner"] is None else executions.c.owner == row["owner"]
            taken = conn.execute(
                update(executions)
                .where(executions.c.idempotency_key == key, previous, executions.c.status.in_(unfinished))
                .values(owner=owner, lease_until=lease_until)
            ).rowcount
            if taken == 1 and row["owner"] != owner:
                self._append_audit(
                    conn, actor, "execution_taken_over", row["proposal_id"],
                    {"idempotency_key": key, "previous_owner": row["owner"], "owner": owner},
                )
            return taken == 1

    def release_execution(self, key: str, owner: str, now: datetime | None = None) -> None:
        """Give up the lease (the holder stopped without finishing) so a resume need not wait."""
        with self.engine.begin() as conn:
            conn.execute(
                update(executions)
                .where(executions.c.idempotency_key == key, executions.c.owner == owner)
                .values(lease_until=now or utcnow())
            )

    def mark_execution(
        self, key: str, status: ExecutionStatus, *, actor: str, detail: dict[str, Any] | None = None,
        proposal_status: ProposalStatus | None = None, note: str = "",
    ) -> None:
        with self.engine.begin() as conn:
            values: dict[str, Any] = {"status": status.value, "detail": json.dumps(detail or {}, default=str)}
            if status in (ExecutionStatus.VERIFIED, ExecutionStatus.FAILED, ExecutionStatus.ABORTED_DRIFT):
                values["finished_at"] = utcnow()
            conn.execute(update(executions).where(executions.c.idempotency_key == key).values(**values))
            pid = conn.execute(
                select(executions.c.proposal_id).where(executions.c.idempotency_key == key)
            ).scalar()
            self._append_audit(conn, actor, f"execution_{status.value}", pid, {"idempotency_key": key, **(detail or {})})
            if proposal_status is not None and pid:
                self._set_status(conn, pid, proposal_status, actor=actor, note=note)

    def count_audit(self, kind: str, proposal_id: str | None = None) -> int:
        q = select(func.count()).select_from(audit_log).where(audit_log.c.kind == kind)
        if proposal_id:
            q = q.where(audit_log.c.proposal_id == proposal_id)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    # --- sweeps ----------------------------------------------------------------------------
    def record_sweep(self, sweep_id: str, started_at: datetime, report: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(sweeps).values(
                    id=sweep_id, started_at=started_at, finished_at=utcnow(),
                    report=json.dumps(report, default=str),
                )
            )
            self._append_audit(conn, "sweep", "sweep_finished", None, {"sweep_id": sweep_id, **report})

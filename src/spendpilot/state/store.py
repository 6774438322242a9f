"""The operational store. Every state change of a proposal writes an audit event in the same
transaction, so the audit log and the proposal table can never disagree.

The audit log is hash-chained and its head is anchored in a file beside the database
(``audit_chain``); ``check_audit_chain`` says whether it is intact and, if not, where it breaks.
An approval counts only if the audit log vouches for it (``approval_event_for``): a row written
straight into ``decisions`` has no audit event and is refused by the executor.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    Connection,
    String,
    create_engine,
    event,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from spendpilot._failpoints import failpoint
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
    ProposalSummary,
    utcnow,
)
from spendpilot.errors import (
    ApprovalNotAudited,
    InvalidTransition,
    PlanHashMismatch,
    ProposalNotFound,
)
from spendpilot.proposals.listing import SUMMARY_PATHS, summary_from_row
from spendpilot.proposals.transitions import check_transition
from spendpilot.state.audit_chain import (
    GENESIS,
    HEAD_FILE,
    ChainReport,
    HeadAnchor,
    StoredEvent,
    event_hash,
    verify_chain,
)
from spendpilot.state.schema import audit_log, decisions, executions, metadata, proposals, sweeps

__all__ = ["GENESIS", "ApprovalAudit", "StateStore"]

_DECISION_EVENTS = {Decision.APPROVE: "approved", Decision.REJECT: "rejected"}
_DECISIVE_KINDS = frozenset({"approved", "rejected", "approval_expired", "approval_refused"})
"""Audit events that give or withdraw a proposal's approval; the latest one is what stands."""
_ANCHORS = "spendpilot_audit_anchors"  # Connection.info key: events this transaction appended
_DEFAULT = object()


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def _read_time(value: Any) -> datetime | None:
    """A stored time read without SQLAlchemy's parser (which raises on text edited into the
    column): None when it is not a time."""
    if isinstance(value, datetime):
        return _aware(value)
    try:
        return _aware(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def _default_head_path(url: str) -> Path | None:
    """``audit.head`` beside a SQLite file; None for in-memory or server databases."""
    if not url.startswith("sqlite:///"):
        return None
    db = url.removeprefix("sqlite:///").split("?", 1)[0]
    if not db or db == ":memory:":
        return None
    return Path(db).parent / HEAD_FILE


class ApprovalAudit(BaseModel):
    """What the audit log says about one recorded approval: the executor acts only on ``found``."""

    chain: ChainReport
    event: AuditEvent | None = None
    """The audit event that records exactly this decision, if the log has it."""
    problem: str | None = None
    """Why the approval does not count (one line), when it does not."""

    @property
    def found(self) -> bool:
        return self.chain.intact and self.event is not None and self.problem is None


def _records_decision(ev: AuditEvent, kind: str, by: str, plan_hash: str, at: datetime) -> bool:
    """Whether ``ev`` is the audit event ``record_decision`` wrote for this exact decision."""
    if ev.kind != kind or ev.actor != by or ev.payload.get("plan_hash") != plan_hash:
        return False
    decided = ev.payload.get("decided_at")
    if not isinstance(decided, str):
        return False
    try:
        return _utc(datetime.fromisoformat(decided)) == _utc(at)
    except ValueError:
        return False


class StateStore:
    def __init__(self, url: str, *, head_path: Path | None | object = _DEFAULT, create: bool = True) -> None:
        """Open (and by default create) the store at ``url``.

        ``head_path`` is the audit head anchor; by default ``audit.head`` beside a SQLite file.
        ``create=False`` opens an existing database without adding missing tables (``doctor``
        inspects a home without changing it).
        """
        if create and url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        head = _default_head_path(url) if head_path is _DEFAULT else head_path
        self.head: HeadAnchor | None = HeadAnchor(head) if isinstance(head, Path) else None
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", self._sqlite_pragmas)
            # Writers take the lock at BEGIN, so the audit chain's read-then-append is atomic
            # across processes (a deferred transaction would fail on upgrade instead of waiting).
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        if create:
            metadata.create_all(self.engine)

    @staticmethod
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" listener issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # the TUI and the daemon share the file
        cur.execute("PRAGMA busy_timeout=10000")
        # FULL: a commit survives a power cut. With NORMAL the last commits can roll back after
        # one, while their (fsynced) head anchor lines remain and would read as a cut log.
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    # --- transactions and the audit chain --------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; after it commits, the head anchor confirms its audit events.

        Every write that may append an audit event goes through here, not ``engine.begin()``,
        so that its events are confirmed in ``audit.head`` (see ``audit_chain``).
        """
        appended: list[tuple[int, str]] = []
        with self.engine.begin() as conn:
            conn.info[_ANCHORS] = appended
            try:
                yield conn
            finally:
                conn.info.pop(_ANCHORS, None)
        if appended and self.head is not None:
            failpoint("audit_after_commit")
            self.head.confirm(appended)

    def _append_audit(
        self, conn: Connection, actor: str, kind: str, proposal_id: str | None, payload: dict[str, Any]
    ) -> AuditEvent:
        last = conn.execute(
            select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        ).first()
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        at = utcnow()
        body = json.dumps(payload, sort_keys=True, default=str)
        digest = event_hash(seq, prev, at, actor, kind, proposal_id, body)
        if self.head is not None:
            # Durable before the commit, while this transaction holds the write lock.
            self.head.intend(seq, digest)
            failpoint("audit_before_commit")
        conn.execute(
            insert(audit_log).values(
                seq=seq, at=at, actor=actor, kind=kind, proposal_id=proposal_id, payload=body,
                prev_hash=prev, hash=digest,
            )
        )
        anchors = conn.info.get(_ANCHORS)
        if anchors is not None:
            anchors.append((seq, digest))
        return AuditEvent(
            seq=seq, at=at, actor=actor, kind=kind, proposal_id=proposal_id,
            payload=payload, prev_hash=prev, hash=digest,
        )

    def audit(self, actor: str, kind: str, proposal_id: str | None, payload: dict[str, Any]) -> AuditEvent:
        with self._write() as conn:
            return self._append_audit(conn, actor, kind, proposal_id, payload)

    def audit_events(self, proposal_id: str | None = None, limit: int | None = None) -> list[AuditEvent]:
        q = select(audit_log).order_by(audit_log.c.seq.desc())
        if proposal_id:
            q = q.where(audit_log.c.proposal_id == proposal_id)
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [self._event(r) for r in reversed(rows)]

    @staticmethod
    def _event(r: Any) -> AuditEvent:
        try:
            payload = json.loads(r["payload"])
        except ValueError:
            payload = {"unreadable_payload": r["payload"]}
        if not isinstance(payload, dict):
            payload = {"payload": payload}
        return AuditEvent(
            seq=r["seq"], at=_aware(r["at"]), actor=r["actor"], kind=r["kind"],
            proposal_id=r["proposal_id"], payload=payload, prev_hash=r["prev_hash"], hash=r["hash"],
        )

    def check_audit_chain(self) -> ChainReport:
        """Recompute every hash and link and compare the log with its head anchor."""
        columns = [c if c.name != "at" else type_coerce(c, String).label("at") for c in audit_log.c]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*columns).order_by(audit_log.c.seq)).mappings().all()
        stored: list[StoredEvent] = []
        for r in rows:
            at = _read_time(r["at"])
            if at is None:  # not something spendpilot wrote: the row was edited by hand
                report = verify_chain(stored, self.head, whole_log=False)
                if not report.intact:
                    return report
                return ChainReport(
                    intact=False, events=len(rows), first_bad_seq=r["seq"], anchor=report.anchor,
                    anchored=report.anchored,
                    problem=f"event {r['seq']}'s time {str(r['at'])[:40]!r} is not a time spendpilot wrote (edited)",
                )
            stored.append(StoredEvent(
                seq=r["seq"], at=at, actor=r["actor"], kind=r["kind"], proposal_id=r["proposal_id"],
                payload=r["payload"], prev_hash=r["prev_hash"], hash=r["hash"],
            ))
        return verify_chain(stored, self.head)

    def verify_audit_chain(self) -> tuple[bool, int]:
        """(intact, events): the short form of ``check_audit_chain``."""
        report = self.check_audit_chain()
        return report.intact, report.events

    def approval_event_for(self, approval: Approval) -> ApprovalAudit:
        """The audit evidence for a recorded approval, as the executor requires it.

        The approval counts only if the chain is intact and the latest event that gave or
        withdrew this proposal's approval is the one ``record_decision`` wrote for exactly this
        decision: same proposal, plan hash, decider and decision time. A ``decisions`` row
        written by any other means has no such event.
        """
        chain = self.check_audit_chain()
        if not chain.intact:
            return ApprovalAudit(
                chain=chain,
                problem=f"the audit log cannot vouch for any approval ({chain.describe()}); refusing to execute; "
                "see `spendpilot audit --verify`",
            )
        decisive = [e for e in self.audit_events(proposal_id=approval.proposal_id) if e.kind in _DECISIVE_KINDS]
        latest = decisive[-1] if decisive else None
        if latest is not None and _records_decision(latest, "approved", approval.by, approval.plan_hash, approval.at):
            return ApprovalAudit(chain=chain, event=latest)
        said = (
            f"the latest decision it records for {approval.proposal_id} is {latest.kind!r} by {latest.actor!r} "
            f"(event {latest.seq})" if latest is not None else f"it records no decision for {approval.proposal_id}"
        )
        return ApprovalAudit(
            chain=chain,
            problem=(
                f"approval not found in the audit log; refusing to execute (the recorded approval by "
                f"{approval.by!r} at {_utc(approval.at):%Y-%m-%d %H:%M:%S} UTC of plan {approval.plan_hash[:12]} "
                f"has no matching audit event: {said})"
            ),
        )

    def check_decisions(self) -> tuple[int, list[str]]:
        """(decisions recorded, problems): each ``decisions`` row must have its audit event, each
        approved proposal an audited approval standing, and each execution an approval before
        it. One line per problem."""
        columns = [c if c.name != "at" else type_coerce(c, String).label("at") for c in decisions.c]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*columns).order_by(decisions.c.id)).mappings().all()
            approved_ids = conn.execute(
                select(proposals.c.id).where(proposals.c.status == ProposalStatus.APPROVED.value).order_by(proposals.c.id)
            ).scalars().all()
            logged = conn.execute(
                select(audit_log).where(audit_log.c.kind.in_([*_DECISIVE_KINDS, "execution_started"]))
                .order_by(audit_log.c.seq)
            ).mappings().all()
        events = [self._event(r) for r in logged]
        problems = []
        for r in rows:
            try:
                kind: str | None = _DECISION_EVENTS[Decision(r["decision"])]
            except ValueError:
                kind = None
            at = _read_time(r["at"])
            if at is None:
                problems.append(f"decision #{r['id']} ({r['decision']} of {r['proposal_id']}) has an unreadable time "
                                f"{str(r['at'])[:40]!r}: it was not written by spendpilot")
                continue
            if kind is None or not any(
                e.proposal_id == r["proposal_id"] and _records_decision(e, kind, r["by"], r["plan_hash"], at)
                for e in events
            ):
                problems.append(
                    f"decision #{r['id']} ({r['decision']} of {r['proposal_id']} by {r['by']!r} at "
                    f"{at:%Y-%m-%d %H:%M:%S} UTC, plan {str(r['plan_hash'])[:12]}) has no matching audit event"
                )
        approved: set[str] = set()
        standing: dict[str, AuditEvent] = {}
        for e in events:
            if e.kind in _DECISIVE_KINDS and e.proposal_id:
                standing[e.proposal_id] = e
            if e.kind == "approved" and e.proposal_id:
                approved.add(e.proposal_id)
            elif e.kind == "execution_started" and e.proposal_id not in approved:
                problems.append(f"event {e.seq}: execution of {e.proposal_id} with no approval event before it")
        for pid in approved_ids:
            last = standing.get(pid)
            if last is None or last.kind != "approved":
                said = (
                    f"the latest decision the audit log records for it is {last.kind!r} (event {last.seq})"
                    if last else "the audit log records no decision for it"
                )
                problems.append(f"proposal {pid} is approved, but {said}")
        return len(rows), problems

    # --- proposals -------------------------------------------------------------------------
    def upsert_proposal(self, proposal: Proposal, actor: str = "sweep", detail: dict[str, Any] | None = None) -> bool:
        """Insert a new proposal (True) or leave an existing one with the same id alone (False).

        ``detail`` joins the "proposed" audit event (the copilot records its rationale there)."""
        with self._write() as conn:
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
                    **(detail or {}),
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
        with self._write() as conn:
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

    def list_summaries(self, statuses: list[ProposalStatus] | None = None) -> list[ProposalSummary]:
        """Every proposal's queue line, read with the database's JSON functions (SQLite
        ``json_extract``, Postgres ``#>>``) so no body is parsed in Python (see ``ProposalSummary``)."""
        body = type_coerce(proposals.c.body, JSON)
        fields = [body[path].as_string() for path in SUMMARY_PATHS]
        q = select(proposals.c.id, proposals.c.status, *fields).order_by(proposals.c.created_at)
        if statuses:
            q = q.where(proposals.c.status.in_([s.value for s in statuses]))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [summary_from_row(r) for r in rows]

    def set_status(
        self, proposal_id: str, status: ProposalStatus, *, actor: str, note: str = "",
        event: str | None = None, payload: dict[str, Any] | None = None,
    ) -> Proposal:
        with self._write() as conn:
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
        approval = approval.model_copy(update={"at": _utc(approval.at)})
        with self._write() as conn:
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
                payload={
                    "plan_hash": approval.plan_hash, "reason": approval.reason,
                    "decided_at": approval.at.isoformat(),
                },
            )

    def latest_decision(self, proposal_id: str) -> Approval | None:
        q = (
            select(decisions).where(decisions.c.proposal_id == proposal_id)
            .order_by(decisions.c.id.desc()).limit(1)
        )
        try:
            with self.engine.connect() as conn:
                r = conn.execute(q).mappings().first()
            if r is None:
                return None
            return Approval(
                proposal_id=r["proposal_id"], plan_hash=r["plan_hash"], decision=Decision(r["decision"]),
                by=r["by"], reason=r["reason"], at=_aware(r["at"]),
            )
        except (ValueError, TypeError) as exc:  # a row written around the store (ValidationError is a ValueError)
            raise ApprovalNotAudited(
                f"the latest decision recorded for {proposal_id} is unreadable ({str(exc).splitlines()[0]}); "
                "refusing to execute"
            ) from exc

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
            with self._write() as conn:
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
        with self._write() as conn:
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
        with self._write() as conn:
            conn.execute(
                update(executions)
                .where(executions.c.idempotency_key == key, executions.c.owner == owner)
                .values(lease_until=now or utcnow())
            )

    def mark_execution(
        self, key: str, status: ExecutionStatus, *, actor: str, detail: dict[str, Any] | None = None,
        proposal_status: ProposalStatus | None = None, note: str = "",
    ) -> None:
        with self._write() as conn:
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
        with self._write() as conn:
            conn.execute(
                insert(sweeps).values(
                    id=sweep_id, started_at=started_at, finished_at=utcnow(),
                    report=json.dumps(report, default=str),
                )
            )
            self._append_audit(conn, "sweep", "sweep_finished", None, {"sweep_id": sweep_id, **report})

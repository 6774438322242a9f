"""Standing adversarial cases against the audit log and the decisions it vouches for.

Every case starts from the same real home (``tests.state.builders.build_home``: one executed,
one approved-not-yet-executed, one pending and one rejected proposal; 11 audit events), edits
the files as someone with write access to them would, and then asserts the two invariants:

1. ``spendpilot audit --verify`` (the real CLI, in a subprocess) detects it with the right
   message (naming the first bad event, or the forged decision) and exit code;
2. no action is applied without a genuine approval: the real executor, pointed at an AWS
   endpoint that records every request (``AwsRecorder``), sends nothing for a forged approval,
   and nothing at all once the chain is broken (a broken log cannot vouch for any approval).
   Where the log is intact, the genuine approval still reaches AWS (the seam is live).

An attacker who recomputes hashes uses whatever chain format the store writes (``_hash``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import run_cli
from tests.state.builders import (
    AwsRecorder,
    Home,
    build_home,
    execute,
    forge_approval,
    mark_approved,
)

from spendpilot.domain import Approval, Decision, ProposalStatus, utcnow
from spendpilot.domain.reports import ExecutionOutcome

try:  # the attacker's tool: the chain format the store writes
    from spendpilot.state.audit_chain import event_hash as _event_hash

    def _hash(seq: int, prev: str, at: datetime, actor: str, kind: str, pid: str | None, payload: str) -> str:
        return _event_hash(seq, prev, at, actor, kind, pid, payload)
except ImportError:  # the first format (to run these cases against the code before the fix)
    from spendpilot.state.store import _event_hash as _legacy  # type: ignore[attr-defined]

    def _hash(seq: int, prev: str, at: datetime, actor: str, kind: str, pid: str | None, payload: str) -> str:
        return _legacy(prev, at, actor, kind, pid, payload)

GENESIS = "0" * 64
EXECUTED, APPROVED, PENDING, REJECTED = "sp-exec0001", "sp-appr0001", "sp-pend0001", "sp-reje0001"
EVENTS = 11  # in the built home
UNICODE_NAME = "Zoë 🚀 \u202eadmin\u202c ∑"
LONG_NAME = "approver-" + "x" * 4000 + "-end"


# --- the attacker's helpers ----------------------------------------------------------------------


def _rows(home: Home) -> list[dict[str, Any]]:
    cols = ["seq", "at", "actor", "kind", "proposal_id", "payload", "prev_hash", "hash"]
    return [dict(zip(cols, r, strict=True)) for r in home.sql(f"SELECT {', '.join(cols)} FROM audit_log ORDER BY seq")]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _write_rows(home: Home, rows: list[dict[str, Any]], *, rechain_from: int | None) -> None:
    """Replace the whole log with ``rows``, recomputing hashes from ``rechain_from`` on."""
    prev = GENESIS
    for r in rows:
        if rechain_from is not None and r["seq"] >= rechain_from:
            r["prev_hash"] = prev
            r["hash"] = _hash(r["seq"], prev, _time(r["at"]), r["actor"], r["kind"], r["proposal_id"], r["payload"])
        prev = r["hash"]
    with home.db() as conn:
        conn.execute("DELETE FROM audit_log")
        conn.executemany(
            "INSERT INTO audit_log (seq, at, actor, kind, proposal_id, payload, prev_hash, hash) "
            "VALUES (:seq, :at, :actor, :kind, :proposal_id, :payload, :prev_hash, :hash)", rows,
        )


def _edit(seq: int, column: str, value: Any) -> Callable[[Home], None]:
    return lambda home: home.sql(f"UPDATE audit_log SET {column} = ? WHERE seq = ?", value, seq)


def _edit_and_rehash(home: Home) -> None:
    rows = _rows(home)
    r = rows[4]
    r["actor"] = "mallory"
    r["hash"] = _hash(r["seq"], r["prev_hash"], _time(r["at"]), r["actor"], r["kind"], r["proposal_id"], r["payload"])
    _write_rows(home, rows, rechain_from=None)


def _rewrite_from(home: Home) -> None:
    rows = _rows(home)
    rows[4]["actor"] = "mallory"
    _write_rows(home, rows, rechain_from=5)


def _swap(home: Home, *, rechain: bool) -> None:
    rows = _rows(home)
    a, b = rows[1], rows[2]
    for key in ("at", "actor", "kind", "proposal_id", "payload", "prev_hash", "hash"):
        a[key], b[key] = b[key], a[key]
    _write_rows(home, rows, rechain_from=2 if rechain else None)


def _delete_and_renumber(home: Home) -> None:
    rows = [r for r in _rows(home) if r["seq"] != 6]
    for i, r in enumerate(rows, start=1):
        r["seq"] = i
    _write_rows(home, rows, rechain_from=6)


def _forged_event(pid: str, plan_hash: str, by: str, at: datetime) -> dict[str, Any]:
    """The "approved" event record_decision would have written for this decision."""
    payload = {"status": "approved", "note": "", "plan_hash": plan_hash, "reason": "", "decided_at": at.isoformat()}
    return {
        "seq": 0, "at": at.replace(tzinfo=None).isoformat(sep=" "), "actor": by, "kind": "approved",
        "proposal_id": pid, "payload": json.dumps(payload, sort_keys=True), "prev_hash": "", "hash": "",
    }


def _forge_decision_with_event(home: Home, *, where: str, drop_head: bool = False) -> None:
    """A decision row *and* its audit event, hashes recomputed: appended at the end or inserted
    in the middle (renumbering after it)."""
    p = next(iter(home.fresh_store().list_proposals([ProposalStatus.PENDING])))
    at = utcnow()
    forge_approval(home, p.id, p.plan_hash, by="mallory", at=at.replace(tzinfo=None).isoformat(sep=" "))
    rows = _rows(home)
    index = len(rows) if where == "end" else 4
    rows.insert(index, _forged_event(p.id, p.plan_hash, "mallory", at))
    for i, r in enumerate(rows, start=1):
        r["seq"] = i
    _write_rows(home, rows, rechain_from=index + 1)
    if drop_head:
        home.head_path.unlink()


def _delete_tail(n: int) -> Callable[[Home], None]:
    return lambda home: home.sql("DELETE FROM audit_log WHERE seq > ?", EVENTS - n)


def _delete_last_then_write(home: Home) -> None:
    home.sql("DELETE FROM audit_log WHERE seq = ?", EVENTS)
    home.fresh_store().audit("sweep", "sweep_finished", None, {"sweep_id": "after-the-cut"})


def _corrupt_head(home: Home) -> None:
    lines = home.head_path.read_bytes().split(b"\n")
    lines[4] = b"\x00\xffnot json"
    home.head_path.write_bytes(b"\n".join(lines))


def _cut_head_tail(home: Home) -> None:
    lines = home.head_path.read_text().splitlines(keepends=True)
    home.head_path.write_text("".join(lines[:-2]))


def _legacy_log(home: Home) -> None:
    import hashlib

    rows = _rows(home)
    prev = GENESIS
    for r in rows:
        raw = "|".join([prev, _time(r["at"]).isoformat(), r["actor"], r["kind"], r["proposal_id"] or "", r["payload"]])
        r["prev_hash"], r["hash"] = prev, hashlib.sha256(raw.encode()).hexdigest()
        prev = r["hash"]
    _write_rows(home, rows, rechain_from=None)


def _genuine_approval(by: str) -> Callable[[Home], None]:
    def approve(home: Home) -> None:
        p = home.proposals["pending"]
        home.fresh_store().record_decision(
            Approval(proposal_id=p.id, plan_hash=p.plan_hash, decision=Decision.APPROVE, by=by), ProposalStatus.APPROVED
        )
    return approve


def _then(*steps: Callable[[Home], None]) -> Callable[[Home], None]:
    def run(home: Home) -> None:
        for step in steps:
            step(home)
    return run


def _edit_last_event(column: str, change: Callable[[str], str]) -> Callable[[Home], None]:
    def edit(home: Home) -> None:
        (value,) = home.sql(f"SELECT {column} FROM audit_log WHERE seq = ?", EVENTS + 1)[0]
        home.sql(f"UPDATE audit_log SET {column} = ? WHERE seq = ?", change(value), EVENTS + 1)
        if column == "actor":  # keep the decisions row consistent with the edited event
            home.sql("UPDATE decisions SET by = ? WHERE by = ?", change(value), value)
    return edit


def _copy_decision_to(target: str, source: str) -> Callable[[Home], None]:
    def copy(home: Home) -> None:
        home.sql(
            "INSERT INTO decisions (proposal_id, plan_hash, decision, by, reason, at) "
            "SELECT ?, plan_hash, decision, by, reason, at FROM decisions WHERE proposal_id = ?", target, source,
        )
        mark_approved(home, target)
    return copy


def _withdrawn_then_replayed(home: Home) -> None:
    home.fresh_store().set_status(APPROVED, ProposalStatus.PENDING, actor="executor", note="expired", event="approval_expired")
    home.sql(
        "INSERT INTO decisions (proposal_id, plan_hash, decision, by, reason, at) "
        "SELECT proposal_id, plan_hash, decision, by, reason, at FROM decisions WHERE proposal_id = ?", APPROVED,
    )
    mark_approved(home, APPROVED)


# --- the cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    tamper: Callable[[Home], None]
    message: str
    """A regex ``audit --verify`` must print."""
    exit_code: int = 1
    genuine_acts: bool = False
    """Whether bob's genuine approval (sp-appr0001) may still be acted on afterwards."""
    forged: tuple[str, ...] = ()
    """Proposals the attacker approved: each must be refused, unexecuted, audited as refused."""


def _chain(name: str, tamper: Callable[[Home], None], message: str) -> Case:
    return Case(name, tamper, message)


CASES = [
    # -- one event edited in place
    _chain("edit_payload", _edit(7, "payload", '{"idempotency_key": "x"}'), r"BROKEN at event 7: hash mismatch"),
    _chain("edit_actor", _edit(5, "actor", "mallory"), r"BROKEN at event 5: hash mismatch"),
    _chain("edit_kind", _edit(11, "kind", "approved"), r"BROKEN at event 11: hash mismatch"),
    _chain("edit_time", lambda h: h.sql("UPDATE audit_log SET at = datetime(at, '-1 hour') WHERE seq = 3"),
           r"BROKEN at event 3: hash mismatch"),
    _chain("edit_time_to_text", _edit(4, "at", "yesterday"), r"BROKEN at event 4: .*'yesterday' is not a time"),
    _chain("edit_proposal_id", _edit(6, "proposal_id", PENDING), r"BROKEN at event 6: hash mismatch"),
    _chain("edit_prev_hash", _edit(8, "prev_hash", "1" * 64), r"BROKEN at event 8: hash mismatch"),
    _chain("edit_hash", _edit(9, "hash", "f" * 64), r"BROKEN at event 9: hash mismatch"),
    _chain("edit_payload_to_invalid_json", _edit(10, "payload", "{not json"), r"BROKEN at event 10: hash mismatch"),
    # -- edits with hashes recomputed (the chain alone would accept these)
    _chain("edit_actor_and_recompute_its_hash", _edit_and_rehash, r"BROKEN at event 5: head anchor mismatch"),
    _chain("edit_actor_and_rewrite_the_chain_after_it", _rewrite_from, r"BROKEN at event 5: head anchor mismatch"),
    # -- order
    _chain("swap_two_rows", lambda h: _swap(h, rechain=False), r"BROKEN at event 2: hash mismatch"),
    _chain("swap_two_rows_and_rewrite_the_chain", lambda h: _swap(h, rechain=True),
           r"BROKEN at event 2: head anchor mismatch"),
    # -- deletions
    _chain("delete_first_row", lambda h: h.sql("DELETE FROM audit_log WHERE seq = 1"),
           r"BROKEN at event 1: gap in seq: event 1 missing"),
    _chain("delete_middle_row", lambda h: h.sql("DELETE FROM audit_log WHERE seq = 6"),
           r"BROKEN at event 6: gap in seq: event 6 missing \(the next stored event is 7\)"),
    _chain("delete_middle_row_renumber_and_rewrite_the_chain", _delete_and_renumber,
           r"BROKEN at event 6: head anchor mismatch"),
    _chain("delete_last_row", _delete_tail(1),
           r"BROKEN at event 11: head anchor mismatch: 11 events expected from the head anchor, 10 found"),
    _chain("delete_last_five_rows", _delete_tail(5),
           r"BROKEN at event 7: head anchor mismatch: 11 events expected from the head anchor, 6 found"),
    _chain("delete_all_rows", _delete_tail(EVENTS),
           r"BROKEN at event 1: head anchor mismatch: 11 events expected from the head anchor, 0 found"),
    _chain("delete_last_row_then_spendpilot_writes_on", _delete_last_then_write,
           r"BROKEN at event 11: head anchor conflict"),
    # -- insertions with hashes recomputed
    _chain("append_event_with_recomputed_hash", lambda h: _then(
        lambda hh: hh.sql("INSERT INTO audit_log (seq, at, actor, kind, proposal_id, payload, prev_hash, hash) "
                          "SELECT 12, at, 'mallory', 'note', NULL, '{}', hash, '' FROM audit_log WHERE seq = 11"),
        lambda hh: _write_rows(hh, _rows(hh), rechain_from=12),
    )(h), r"BROKEN at event 12: event 12 is not in the head anchor"),
    # -- the head anchor itself
    _chain("delete_head_file", lambda h: h.head_path.unlink(), r"audit chain BROKEN: head anchor missing"),
    _chain("corrupt_head_file", _corrupt_head, r"audit chain BROKEN: head anchor corrupt: .*line 5"),
    _chain("empty_head_file", lambda h: h.head_path.write_bytes(b""), r"audit chain BROKEN: head anchor empty"),
    _chain("cut_the_head_files_last_event", _cut_head_tail, r"BROKEN at event 11: event 11 is not in the head anchor"),
    _chain("log_in_the_old_pipe_joined_format", _legacy_log, r"BROKEN at event 1: this log was written in the old chain format"),
    # -- names: "|" cannot shift fields; unicode and very long names are hashed exactly
    _chain("pipe_in_name_moved_between_actor_and_kind", _then(
        lambda h: h.fresh_store().audit("ops|approved", "note", None, {}),
        lambda h: h.sql("UPDATE audit_log SET actor = 'ops', kind = 'approved|note' WHERE seq = 12"),
    ), r"BROKEN at event 12: hash mismatch"),
    _chain("unicode_name_swapped_for_a_homoglyph", _then(
        _genuine_approval(UNICODE_NAME), _edit_last_event("actor", lambda v: v.replace("a", "\u0430", 1)),
    ), r"BROKEN at event 12: hash mismatch"),
    _chain("very_long_name_one_character_changed", _then(
        _genuine_approval(LONG_NAME), _edit_last_event("actor", lambda v: v[:2000] + "y" + v[2001:]),
    ), r"BROKEN at event 12: hash mismatch"),
    # -- controls: a genuine log verifies, whatever the names
    Case("untampered", lambda h: None, r"audit chain intact: 11 events; head anchored at event 11", 0, True),
    Case("genuine_unicode_name", _genuine_approval(UNICODE_NAME), r"audit chain intact: 12 events", 0, True),
    Case("genuine_very_long_name", _genuine_approval(LONG_NAME), r"audit chain intact: 12 events", 0, True),
    Case("genuine_pipe_name", _genuine_approval("eve|approved|sp-reje0001"), r"audit chain intact: 12 events", 0, True),
    # -- forged decisions: the chain is intact, the decision is not in it
    Case("forged_decision_right_plan_hash_no_event",
         lambda h: forge_approval(h, PENDING, h.proposals["pending"].plan_hash),
         rf"decision #4 \(approve of {PENDING} by 'mallory' .*has no matching audit event", 1, True, (PENDING,)),
    Case("forged_decision_wrong_plan_hash", lambda h: forge_approval(h, PENDING, "e" * 64),
         rf"decision #4 \(approve of {PENDING} by 'mallory' .*plan eeeeeeeeeeee\) has no matching audit event",
         1, True, (PENDING,)),
    Case("forged_decision_by_a_pipe_name", lambda h: forge_approval(h, PENDING, h.proposals["pending"].plan_hash,
                                                                     by="bob|approved"),
         r"decision #4 .*by 'bob\|approved'.*has no matching audit event", 1, True, (PENDING,)),
    Case("approval_copied_from_another_proposal", _copy_decision_to(PENDING, EXECUTED),
         rf"decision #4 \(approve of {PENDING} by 'alice'.*has no matching audit event", 1, True, (PENDING,)),
    Case("rejection_flipped_to_approval",
         _then(lambda h: h.sql("UPDATE decisions SET decision = 'approve' WHERE proposal_id = ?", REJECTED),
               lambda h: mark_approved(h, REJECTED)),
         rf"decision #3 \(approve of {REJECTED} by 'carol'.*has no matching audit event", 1, True, (REJECTED,)),
    Case("status_set_to_approved_without_any_decision", lambda h: mark_approved(h, PENDING),
         rf"proposal {PENDING} is approved, but the audit log records no decision for it", 1, True, (PENDING,)),
    Case("forged_decision_with_an_unreadable_time",
         lambda h: forge_approval(h, PENDING, h.proposals["pending"].plan_hash, at="soon"),
         r"decision #4 .*unreadable time 'soon'", 1, True, (PENDING,)),
    Case("withdrawn_approval_replayed", _withdrawn_then_replayed,
         rf"proposal {APPROVED} is approved, but the latest decision the audit log records for it is 'approval_expired'",
         1, False, (APPROVED,)),
    Case("genuine_approval_time_moved_forward",
         lambda h: h.sql("UPDATE decisions SET at = ? WHERE proposal_id = ?",
                         (utcnow() + timedelta(days=2)).replace(tzinfo=None).isoformat(sep=" "), APPROVED),
         rf"decision #2 \(approve of {APPROVED} by 'bob'.*has no matching audit event", 1, False, (APPROVED,)),
    Case("genuine_approval_decider_renamed",
         lambda h: h.sql("UPDATE decisions SET by = 'alice' WHERE proposal_id = ?", APPROVED),
         rf"decision #2 \(approve of {APPROVED} by 'alice'.*has no matching audit event", 1, False, (APPROVED,)),
    # -- forged decisions with a forged audit event, hashes recomputed: the anchor has no such event
    Case("forged_decision_and_event_appended_with_recomputed_chain",
         lambda h: _forge_decision_with_event(h, where="end"),
         r"BROKEN at event 12: event 12 is not in the head anchor", 1, False, (PENDING,)),
    Case("forged_decision_and_event_inserted_mid_chain_rewritten",
         lambda h: _forge_decision_with_event(h, where="middle"),
         r"BROKEN at event 5: head anchor mismatch", 1, False, (PENDING,)),
    Case("forged_decision_and_event_appended_head_file_deleted",
         lambda h: _forge_decision_with_event(h, where="end", drop_head=True),
         r"audit chain BROKEN: head anchor missing", 1, False, (PENDING,)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_tampering_is_detected_and_nothing_runs_without_a_genuine_approval(case: Case, tmp_path: Path) -> None:
    home = build_home(tmp_path / "home")
    case.tamper(home)

    verified = run_cli("audit", "--verify", env=home.env())
    assert verified.returncode == case.exit_code, verified.stdout + verified.stderr
    assert re.search(case.message, verified.stdout), verified.stdout
    assert "Traceback" not in verified.stderr, verified.stderr

    with AwsRecorder() as aws:
        for pid in case.forged:
            before = home.fresh_store().count_audit("execution_started", pid)
            outcome = execute(home, aws, pid)
            assert isinstance(outcome, ExecutionOutcome), f"{pid}: the executor acted on a forged approval ({outcome!r})"
            assert outcome.status is ProposalStatus.PENDING and "refusing to execute" in outcome.message
            assert aws.requests == [], f"{pid}: a forged approval reached AWS"
            store = home.fresh_store()
            assert store.count_audit("execution_started", pid) == before
            assert store.get_proposal(pid).status is ProposalStatus.PENDING
        if case.genuine_acts:
            execute(home, aws, APPROVED)
            assert aws.requests == ["DescribeInstances"], "the genuine approval should still be acted on"
        else:
            # Whatever is approved now, none of it may run: the log cannot vouch for it.
            for p in home.fresh_store().list_proposals([ProposalStatus.APPROVED]):
                outcome = execute(home, aws, p.id)
                assert isinstance(outcome, ExecutionOutcome) and "refusing to execute" in outcome.message, outcome
            assert aws.requests == [], "nothing may reach AWS while the audit log cannot vouch for an approval"


def test_there_are_at_least_25_distinct_tampering_cases() -> None:
    tampering = [c for c in CASES if c.exit_code != 0]
    assert len({c.name for c in tampering}) == len(tampering) >= 25

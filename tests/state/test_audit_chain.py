"""The audit chain's format and its head anchor: tamper-evident end to end, crash-tolerant.

The crash tests kill a real process at the two points where the database and ``audit.head``
can disagree (``SPENDPILOT_FAILPOINTS``), and require that a crash is never mistaken for
tampering nor tampering for a crash.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.state.builders import build_home

from spendpilot._failpoints import CRASH_EXIT_CODE
from spendpilot.domain import ExecutionStatus, ProposalStatus, utcnow
from spendpilot.errors import ProposalNotFound
from spendpilot.state import StateStore
from spendpilot.state.audit_chain import event_hash, legacy_event_hash


def test_hash_input_cannot_be_shifted_across_fields() -> None:
    at = utcnow()
    # The first format joined fields with "|": moving a "|" from actor to kind kept the hash.
    assert legacy_event_hash("0" * 64, at, "alice|approved", "x", None, "{}") == legacy_event_hash(
        "0" * 64, at, "alice", "approved|x", None, "{}"
    )
    assert event_hash(1, "0" * 64, at, "alice|approved", "x", None, "{}") != event_hash(
        1, "0" * 64, at, "alice", "approved|x", None, "{}"
    )
    # None and "" are different proposal ids; the sequence number is covered too.
    assert event_hash(1, "0" * 64, at, "a", "k", None, "{}") != event_hash(1, "0" * 64, at, "a", "k", "", "{}")
    assert event_hash(1, "0" * 64, at, "a", "k", None, "{}") != event_hash(2, "0" * 64, at, "a", "k", None, "{}")


def test_moving_a_pipe_between_actor_and_kind_is_detected(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    store.audit("alice|approved", "note", None, {})
    store.audit("bob", "note", None, {})
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'alice', kind = 'approved|note' WHERE seq = 1")
    report = store.check_audit_chain()
    assert not report.intact and report.first_bad_seq == 1 and "hash mismatch" in (report.problem or "")


def _head_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


def test_each_event_is_anchored_before_and_after_its_commit(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    first = store.audit("alice", "note", None, {"n": 1})
    second = store.audit("alice", "note", None, {"n": 2})
    assert _head_lines(tmp_path / "audit.head") == [
        {"seq": 1, "hash": first.hash, "state": "intent"}, {"seq": 1, "hash": first.hash, "state": "committed"},
        {"seq": 2, "hash": second.hash, "state": "intent"}, {"seq": 2, "hash": second.hash, "state": "committed"},
    ]
    report = store.check_audit_chain()
    assert report.intact and report.events == 2 and "head anchored at event 2" in report.anchor


_APPEND = (
    "import sys; from spendpilot.state import StateStore; "
    "StateStore(f'sqlite:///{sys.argv[1]}/state.sqlite').audit('alice', 'note', None, {'n': sys.argv[2]})"
)


def _append_in_process(home: Path, n: int, failpoint: str | None = None) -> int:
    env = {"SPENDPILOT_FAILPOINTS": failpoint} if failpoint else {}
    return subprocess.run(
        [sys.executable, "-c", _APPEND, str(home), str(n)], env={**os.environ, **env}, capture_output=True,
    ).returncode


@pytest.mark.parametrize(
    ("failpoint", "committed"), [("audit_before_commit", False), ("audit_after_commit", True)]
)
def test_a_crash_between_database_and_anchor_is_not_mistaken_for_tampering(
    tmp_path: Path, failpoint: str, committed: bool
) -> None:
    assert _append_in_process(tmp_path, 1) == 0
    assert _append_in_process(tmp_path, 2, failpoint) == CRASH_EXIT_CODE
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    report = store.check_audit_chain()
    assert report.intact, report.problem
    assert report.events == (2 if committed else 1)
    # Writing goes on, and the log stays verifiable.
    assert _append_in_process(tmp_path, 3) == 0
    assert store.check_audit_chain().intact
    assert [e.payload["n"] for e in store.audit_events()] == (["1", "2", "3"] if committed else ["1", "3"])


def test_after_a_crash_before_the_anchor_confirmation_deleting_a_confirmed_event_is_still_caught(tmp_path: Path) -> None:
    assert _append_in_process(tmp_path, 1) == 0
    assert _append_in_process(tmp_path, 2) == 0
    assert _append_in_process(tmp_path, 3, "audit_after_commit") == CRASH_EXIT_CODE
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    with store.engine.begin() as conn:  # event 3 is unconfirmed (crash); event 2 was confirmed
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq >= 2")
    report = store.check_audit_chain()
    assert not report.intact and report.first_bad_seq == 2
    assert "2 events expected from the head anchor, 1 found" in (report.problem or "")


def test_a_rolled_back_transaction_leaves_only_an_intent(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    store.audit("alice", "note", None, {})
    store.claim_execution("k", "sp-gone", "executor", owner="h:1:t", lease_until=utcnow() + timedelta(minutes=1))
    # Marking it executed must also update a proposal that does not exist: the whole
    # transaction, its audit event included, rolls back after the intent was written.
    with pytest.raises(ProposalNotFound):
        store.mark_execution("k", ExecutionStatus.VERIFIED, actor="executor", proposal_status=ProposalStatus.EXECUTED)
    lines = _head_lines(tmp_path / "audit.head")
    assert lines[-1]["state"] == "intent" and lines[-1]["seq"] == 3
    assert store.check_audit_chain().intact
    store.audit("alice", "note", None, {})  # reuses number 3; the new intent supersedes the old
    report = store.check_audit_chain()
    assert report.intact and report.events == 3


def test_a_torn_last_line_in_the_anchor_is_a_crash_not_corruption(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    store.audit("alice", "note", None, {})
    with open(tmp_path / "audit.head", "ab") as f:
        f.write(b'{"seq":2,"hash":"ab')  # a write cut short: no newline
    assert store.check_audit_chain().intact


def test_a_fresh_store_verifies_and_says_so(tmp_path: Path) -> None:
    report = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}").check_audit_chain()
    assert report.intact and report.events == 0 and "no events yet" in report.anchor


def test_the_built_home_is_intact_and_its_decisions_audited(tmp_path: Path) -> None:
    home = build_home(tmp_path / "home")
    assert home.store.check_audit_chain().intact
    assert home.store.check_decisions() == (3, [])


def test_a_log_from_the_first_format_is_named_as_such(tmp_path: Path) -> None:
    """A home written before the head anchor existed: old hashes, no audit.head."""
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    store.audit("alice", "note", None, {})
    store.audit("bob", "note", None, {})
    (tmp_path / "audit.head").unlink()
    with store.engine.begin() as conn:
        prev = "0" * 64
        for seq, at, actor, kind, payload in conn.exec_driver_sql(
            "SELECT seq, at, actor, kind, payload FROM audit_log ORDER BY seq"
        ).fetchall():
            digest = legacy_event_hash(prev, datetime.fromisoformat(at), actor, kind, None, payload)
            conn.exec_driver_sql("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq))
            prev = digest
    report = store.check_audit_chain()
    assert not report.intact and report.first_bad_seq == 1
    assert "old chain format" in (report.problem or "") and "start a new home" in (report.problem or "")


_WRITER = (
    "import sys; from spendpilot.state import StateStore; s = StateStore(f'sqlite:///{sys.argv[1]}/state.sqlite')\n"
    "for i in range(15): s.audit(sys.argv[2], 'note', None, {'i': i})"
)


def test_concurrent_writers_keep_the_chain_and_its_anchor_consistent(tmp_path: Path) -> None:
    StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), f"writer-{n}"]) for n in range(4)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    report = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}").check_audit_chain()
    assert report.intact and report.events == 60, report.problem


def test_without_a_head_anchor_a_rehashed_event_shows_as_a_broken_link(tmp_path: Path) -> None:
    """A store with no anchor (a server database) still names the first broken link."""
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}", head_path=None)
    for n in range(3):
        store.audit("alice", "note", None, {"n": n})
    with store.engine.begin() as conn:
        seq, at, prev = conn.exec_driver_sql("SELECT seq, at, prev_hash FROM audit_log WHERE seq = 2").fetchone()
        forged = event_hash(seq, prev, datetime.fromisoformat(at), "mallory", "note", None, '{"n": 1}')
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'mallory', hash = ? WHERE seq = 2", (forged,))
    report = store.check_audit_chain()
    assert not report.intact and report.first_bad_seq == 3 and not report.anchored
    assert (report.problem or "").startswith("prev_hash mismatch: event 3 does not follow event 2")
    assert not (tmp_path / "audit.head").exists()

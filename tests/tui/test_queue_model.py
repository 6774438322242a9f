"""The queue's filter as a pure function: every word must match, status and hide-done combine."""

from __future__ import annotations

from spendpilot.domain import ProposalStatus, ProposalSummary
from spendpilot.tui.queue_model import STATUS_CYCLE, QueueFilter, QueueRows, apply_filter, prepare

from .fakes import make_proposal


def _entries() -> QueueRows:
    return prepare(ProposalSummary.of(p) for p in (
        make_proposal("p-1", "100", action="stop_instance", name="train-a100"),
        make_proposal("p-2", "300", action="switch_to_spot", name="train-h100"),
        make_proposal("p-3", "200", status=ProposalStatus.EXECUTED, name="notebook"),
        make_proposal("p-4", "50", status=ProposalStatus.FAILED, name="train-old"),
    ))


def test_prepare_sorts_pending_first_then_by_saving() -> None:
    assert [e.proposal.id for e in _entries()] == ["p-2", "p-1", "p-3", "p-4"]


def test_every_search_word_must_match_case_insensitively() -> None:
    entries = _entries()
    assert [e.proposal.id for e in apply_filter(entries, QueueFilter(text="TRAIN spot"))] == ["p-2"]
    assert [e.proposal.id for e in apply_filter(entries, QueueFilter(text="train"))] == ["p-2", "p-1", "p-4"]
    assert apply_filter(entries, QueueFilter(text="train nothing-like-this")) == []


def test_status_and_hide_done_combine_with_search() -> None:
    entries = _entries()
    assert [e.proposal.id for e in apply_filter(entries, QueueFilter(hide_done=True))] == ["p-2", "p-1", "p-4"]
    failed = QueueFilter(status=ProposalStatus.FAILED, text="train")
    assert [e.proposal.id for e in apply_filter(entries, failed)] == ["p-4"]
    assert failed.describe() == "status=failed, search='train'"
    assert not QueueFilter().active and QueueFilter(hide_done=True).active


def test_the_status_key_cycles_back_to_all() -> None:
    f = QueueFilter()
    seen = []
    for _ in STATUS_CYCLE:
        f = f.next_status()
        seen.append(f.status)
    assert seen[-1] is None and seen[0] is ProposalStatus.PENDING

"""The legal status changes of a proposal, in one table the state store enforces.

Every caller (sweep, approval, executor, rollback) asks the store to change a status; the
store refuses anything not listed here, so no code path can, say, send an executed proposal
back to the queue.
"""

from __future__ import annotations

from spendpilot.domain import ProposalStatus as S
from spendpilot.errors import InvalidTransition

LEGAL_TRANSITIONS: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED, S.SUPERSEDED}),
    # approved: being executed; an expired approval sends it back to the queue
    S.APPROVED: frozenset({S.EXECUTED, S.DRIFTED, S.FAILED, S.PENDING}),
    S.EXECUTED: frozenset({S.ROLLED_BACK}),
    S.REJECTED: frozenset(),
    S.DRIFTED: frozenset(),
    S.FAILED: frozenset(),
    S.SUPERSEDED: frozenset(),
    S.ROLLED_BACK: frozenset(),
}


def check_transition(proposal_id: str, current: S, new: S) -> None:
    if new not in LEGAL_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in LEGAL_TRANSITIONS[current])) or "nothing (it is final)"
        raise InvalidTransition(f"{proposal_id} is {current.value}; it cannot become {new.value} (allowed: {allowed})")

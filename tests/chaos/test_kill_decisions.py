"""kill -9 (a failpoint's ``os._exit``) at every failpoint that approve, resume, rollback and reject
pass, for each of the demo's four proposal kinds; then resume, and check the invariants.

``audit_*_commit@N`` is the N-th audited write of the command: the decision, the ledger claim,
the applied record, the verified record (and, for a rollback, the rollback proposal first).
"""

from __future__ import annotations

import pytest

from spendpilot._failpoints import CRASH_EXIT_CODE
from spendpilot.domain import ProposalStatus

from .conftest import Lab, Org
from .invariants import changes_once, converged, healthy, readable, resume_until_quiet, user_visible

pytestmark = pytest.mark.chaos

FAST = ("spot", "route")
"""Kinds whose approval costs ~1 s. A stop re-checks CloudWatch, which the emulator answers in
~4 s a call, so the stop kinds get the failpoints where a stop differs from the others."""


def cases(points: list[str], stop_points: tuple[str, ...] = (), stop2_points: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(point, kind) pairs, grouped by point so a group shares one organisation."""
    out = []
    for p in points:
        out += [(p, k) for k in FAST]
        out += [(p, "stop")] if p in stop_points else []
        out += [(p, "stop2")] if p in stop2_points else []
    return out


AUDITED = [f"audit_{when}_commit@{n}" for when in ("before", "after") for n in (1, 2, 3)]
APPROVE_POINTS = ["after_approval_recorded", "before_apply", "after_apply", "after_applied_recorded", *AUDITED]


def _approve(org: Org, kind: str, failpoints: str | None = None) -> None:
    r = org.run("approve", org.pid(kind), "--by", "alice", failpoints=failpoints)
    user_visible([r], crash_ok=failpoints is not None)
    if failpoints is None:
        assert r.returncode == 0, str(r)


def _recover(org: Org, kind: str, base: dict, landed: object) -> ProposalStatus:
    """Resume until quiet; a proposal the crash left pending is approved again, once."""
    resume_until_quiet(org)
    changes_once(org, kind, base, landed)  # type: ignore[arg-type]
    status = converged(org, kind, base)
    if status is ProposalStatus.PENDING:
        _approve(org, kind)
        status = converged(org, kind, base)
        changes_once(org, kind, base, landed)  # type: ignore[arg-type]
    assert status is ProposalStatus.EXECUTED
    healthy(org)
    return status


@pytest.mark.parametrize(("point", "kind"), cases(
    APPROVE_POINTS, stop_points=("after_approval_recorded", "after_apply"),
    stop2_points=("before_apply",)))
def test_kill_approve(lab: Lab, point: str, kind: str) -> None:
    org = lab.for_case(kind, ("approve", point))
    base, landed = org.world(), lab.proxy.landed()
    r = org.run("approve", org.pid(kind), "--by", "alice", failpoints=point)
    user_visible([r])
    assert r.returncode == CRASH_EXIT_CODE, f"{point} was not reached:\n{r}"
    readable(org)
    changes_once(org, kind, base, landed)
    _recover(org, kind, base, landed)


RESUME_AFTER_CLAIM = ["resume_next", "before_apply", "after_apply", "after_applied_recorded",
                      *[f"audit_{w}_commit@{n}" for w in ("before", "after") for n in (1, 2)]]
RESUME_AFTER_APPLY = ["resume_next", *[f"audit_{w}_commit@{n}" for w in ("before", "after") for n in (1, 2)]]


@pytest.mark.parametrize(
    ("first", "point", "kind"),
    [("before_apply", p, k) for p, k in cases(RESUME_AFTER_CLAIM, stop_points=("after_apply",))]
    + [("after_apply", p, k) for p, k in cases(RESUME_AFTER_APPLY)],
)
def test_kill_resume(lab: Lab, first: str, point: str, kind: str) -> None:
    """An approve killed (claimed, or applied), then the resume that finishes it killed too."""
    org = lab.for_case(kind, ("resume", first, point))
    base, landed = org.world(), lab.proxy.landed()
    _approve(org, kind, failpoints=first)
    r = org.run("resume", failpoints=point)
    user_visible([r])
    assert r.returncode == CRASH_EXIT_CODE, f"{point} was not reached:\n{r}"
    readable(org)
    changes_once(org, kind, base, landed)
    _recover(org, kind, base, landed)


ROLLBACK_POINTS = ["rollback_proposal_stored", "after_approval_recorded", "before_apply", "after_apply",
                   "after_applied_recorded", "before_finish_rollback",
                   *[f"audit_{w}_commit@{n}" for w in ("before", "after") for n in (1, 2)]]


@pytest.mark.parametrize(("point", "kind"), cases(ROLLBACK_POINTS, stop_points=("before_finish_rollback",)))
def test_kill_rollback(lab: Lab, point: str, kind: str) -> None:
    org = lab.for_case(kind, ("rollback", point))
    base, landed = org.world(), lab.proxy.landed()
    _approve(org, kind)
    executed = org.world()
    r = org.run("rollback", org.pid(kind), "--by", "bob", failpoints=point)
    user_visible([r])
    assert r.returncode == CRASH_EXIT_CODE, f"{point} was not reached:\n{r}"
    readable(org)
    changes_once(org, kind, base, landed, executions=2)
    resume_until_quiet(org)
    if org.status(org.pid(kind)) is ProposalStatus.EXECUTED:  # the rollback had not started: ask again
        again = org.run("rollback", org.pid(kind), "--by", "bob")
        user_visible([again], crash_ok=False)
        assert again.returncode == 0, str(again)
    assert org.status(org.pid(kind)) is ProposalStatus.ROLLED_BACK
    world = org.world()
    assert world[kind] == base[kind] != executed[kind], (base, executed, world)
    changes_once(org, kind, base, landed, executions=2)
    healthy(org)


REJECT_POINTS = ["after_rejection_recorded", "audit_before_commit@1", "audit_after_commit@1"]


@pytest.mark.parametrize(("point", "kind"), cases(REJECT_POINTS, stop_points=("after_rejection_recorded",)))
def test_kill_reject(lab: Lab, point: str, kind: str) -> None:
    org = lab.for_case(kind, ("reject", point))
    base, landed = org.world(), lab.proxy.landed()
    r = org.run("reject", org.pid(kind), "--by", "carol", "--reason", "keep it", failpoints=point)
    user_visible([r])
    assert r.returncode == CRASH_EXIT_CODE, f"{point} was not reached:\n{r}"
    readable(org)
    if org.status(org.pid(kind)) is ProposalStatus.PENDING:
        again = org.run("reject", org.pid(kind), "--by", "carol", "--reason", "keep it")
        user_visible([again], crash_ok=False)
        assert again.returncode == 0, str(again)
    resume_until_quiet(org)
    assert org.status(org.pid(kind)) is ProposalStatus.REJECTED
    assert org.world()[kind] == base[kind]
    assert lab.proxy.landed() == landed
    healthy(org)

"""kill -9 while a sweep stores its proposals: the next sweep neither loses nor duplicates one,
and a proposal stored before the crash (its remediation thread perhaps never started) can be
approved and executed."""

from __future__ import annotations

import pytest

from spendpilot._failpoints import CRASH_EXIT_CODE
from spendpilot.domain import ProposalStatus

from .conftest import NAMES, Lab
from .invariants import changes_once, converged, healthy, readable, user_visible

pytestmark = pytest.mark.chaos

SWEEP_POINTS = ["sweep_before_persist", "sweep_proposal_stored@1", "sweep_proposal_stored@3", "sweep_before_record",
                "audit_before_commit@2", "audit_after_commit@4"]


@pytest.mark.parametrize("point", SWEEP_POINTS)
def test_kill_sweep(lab: Lab, point: str) -> None:
    org = lab.cheap(swept=False)
    base, landed = org.world(), lab.proxy.landed()
    r = org.run("sweep", failpoints=point)
    user_visible([r])
    assert r.returncode == CRASH_EXIT_CODE, f"{point} was not reached:\n{r}"
    readable(org)
    again = org.run("sweep", "--json")
    user_visible([again], crash_ok=False)
    assert again.returncode == 0, str(again)
    store = org.store()
    try:
        pending = store.list_proposals([ProposalStatus.PENDING])
        # the main account's seven (the chaos config reads only it): the first four, and EBS's three
        assert len(pending) == len({p.fingerprint for p in pending}) == len(store.list_proposals()) == 7
    finally:
        store.engine.dispose()
    route = next(p for p in pending if p.target.name == NAMES["route"])
    org.proposals = {**org.proposals, "route": {"id": route.id}}
    ok = org.run("approve", route.id, "--by", "alice")
    user_visible([ok], crash_ok=False)
    assert ok.returncode == 0, str(ok)
    assert converged(org, "route", base) is ProposalStatus.EXECUTED
    changes_once(org, "route", base, landed)
    healthy(org)

"""The chaos suite's representative cases that stay in the default run (a few seconds in all).

Each is one case of a family in this folder, chosen because it once found a defect.
"""

from __future__ import annotations

from spendpilot._failpoints import CRASH_EXIT_CODE
from spendpilot.domain import ProposalStatus

from .conftest import Lab
from .invariants import healthy, user_visible


def test_rollback_killed_before_the_original_is_marked_is_finished_by_resume(lab: Lab) -> None:
    """The rollback ran and was verified; the process died before marking the original rolled
    back. It used to stay "executed" for ever (resume looked only at approved proposals) and
    `spendpilot rollback` again said "rb-… is executed; only pending proposals can be approved"."""
    org = lab.org("fast-rollback-resume", fresh_home=True)
    pid = org.pid("route")
    user_visible([org.run("approve", pid, "--by", "alice")], crash_ok=False)
    crashed = org.run("rollback", pid, "--by", "bob", failpoints="before_finish_rollback")
    assert crashed.returncode == CRASH_EXIT_CODE, str(crashed)
    resumed = org.run("resume")
    user_visible([resumed], crash_ok=False)
    assert resumed.returncode == 0 and "marked rolled back" in resumed.stdout, str(resumed)
    assert org.status(pid) is ProposalStatus.ROLLED_BACK
    assert org.world()["route"] == "gpt-4.1"
    healthy(org)


def test_rollback_asked_again_after_that_crash_finishes_it(lab: Lab) -> None:
    org = lab.org("fast-rollback-again", fresh_home=True)
    pid = org.pid("route")
    version = org.world()["route_version"]
    user_visible([org.run("approve", pid, "--by", "alice")], crash_ok=False)
    crashed = org.run("rollback", pid, "--by", "bob", failpoints="before_finish_rollback")
    assert crashed.returncode == CRASH_EXIT_CODE, str(crashed)
    again = org.run("rollback", pid, "--by", "bob")
    user_visible([again], crash_ok=False)
    assert again.returncode == 0, str(again)
    assert org.status(pid) is ProposalStatus.ROLLED_BACK
    assert org.world()["route_version"] == version + 2  # there and back, each once
    healthy(org)

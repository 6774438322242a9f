"""The chaos suite's representative cases that stay in the default run (a few seconds in all).

Each is one case of a family in this folder, chosen because it once found a defect.
"""

from __future__ import annotations

from spendpilot._failpoints import CRASH_EXIT_CODE
from spendpilot.domain import ProposalStatus

from .conftest import Lab
from .fault_proxy import Rule
from .invariants import changes_once, converged, healthy, resume_until_quiet, user_visible


def test_rollback_killed_before_the_original_is_marked_is_finished_by_resume(lab: Lab) -> None:
    """The rollback ran and was verified; the process died before marking the original rolled
    back. It used to stay "executed" for ever (resume looked only at approved proposals) and
    `spendpilot rollback` again said "rb-… is executed; only pending proposals can be approved"."""
    org = lab.cheap()
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
    org = lab.cheap()
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


def test_a_change_whose_reply_is_lost_is_not_sent_twice(lab: Lab) -> None:
    """PutParameter lands, then the reply is a 500: botocore used to retry it, writing the
    parameter twice (SSM Version + 2). The change is sent once; the approve re-reads the
    parameter and finds it done (exit 0), or keeps the approval for resume (exit 6)."""
    org = lab.cheap()
    base, landed = org.world(), lab.proxy.landed()
    lab.proxy.set_rules(Rule("ssm", "PutParameter", "landed_500"))
    r = org.run("approve", org.pid("route"), "--by", "alice")
    assert lab.proxy.fired(), "the lost reply never happened"
    lab.proxy.clear()
    user_visible([r], crash_ok=False)
    assert (r.returncode, "verified" in r.stdout.lower()) in ((0, True), (6, False)), str(r)
    changes_once(org, "route", base, landed)
    resume_until_quiet(org)
    assert converged(org, "route", base) is ProposalStatus.EXECUTED
    assert org.world()["route_version"] == base["route_version"] + 1
    healthy(org)


def test_an_undecodable_reply_to_a_change_is_unavailable_not_failed(lab: Lab) -> None:
    """Random bytes in reply to PutParameter (a JSON service) escaped botocore as a bare
    UnicodeDecodeError: the executor marked the proposal failed ("applying failed: 'utf-8'
    codec can't decode…") although the change may have landed. Now the approve re-reads the
    parameter and finds the change (exit 0, verified), or says "unreadable reply" and keeps the
    approval (exit 6) for resume; never failed."""
    org = lab.cheap()
    base, landed = org.world(), lab.proxy.landed()
    lab.proxy.set_rules(Rule("ssm", "PutParameter", "landed_garbage"))
    r = org.run("approve", org.pid("route"), "--by", "alice")
    assert lab.proxy.fired(), "the garbage reply never happened"
    lab.proxy.clear()
    user_visible([r], crash_ok=False)
    if r.returncode == 6:
        assert "unreadable reply" in r.stderr + r.stdout, str(r)
        assert org.status(org.pid("route")) is ProposalStatus.APPROVED
    else:
        assert r.returncode == 0 and "verified" in r.stdout.lower(), str(r)
    assert org.status(org.pid("route")) is not ProposalStatus.FAILED
    resume_until_quiet(org)
    assert converged(org, "route", base) is ProposalStatus.EXECUTED
    changes_once(org, "route", base, landed)
    healthy(org)


def test_a_state_write_that_hits_a_file_size_limit_is_one_line_not_a_traceback(lab: Lab) -> None:
    """SQLite cannot grow its files (full disk; here RLIMIT_FSIZE, which needs no root): the
    approve used to end in a SQLAlchemy traceback. One line, exit 1, and resume finishes."""
    org = lab.cheap()
    base, landed = org.world(), lab.proxy.landed()
    r = org.run("approve", org.pid("route"), "--by", "alice", fsize=8 * 1024)
    user_visible([r], crash_ok=False)
    assert r.returncode == 1 and "could not be written" in r.stderr, str(r)
    resume_until_quiet(org)
    if org.status(org.pid("route")) is ProposalStatus.PENDING:
        user_visible([org.run("approve", org.pid("route"), "--by", "alice")], crash_ok=False)
    assert converged(org, "route", base) is ProposalStatus.EXECUTED
    changes_once(org, "route", base, landed)
    healthy(org)

"""Several processes at once on one home: the same approval twice, approve against reject and
resume, resumes racing for a dead process's execution, sweeps and ingests side by side."""

from __future__ import annotations

import os

import pytest

from spendpilot.domain import ProposalStatus

from .conftest import Lab, Org
from .forkserver import Result
from .invariants import changes_once, converged, healthy, readable, resume_until_quiet, user_visible
from .test_kill_ingest import _ingests, lake_rows, reported

pytestmark = pytest.mark.chaos


def _together(org: Org, *commands: tuple[str, ...], failpoints: str | None = None) -> list[Result]:
    children = [org.spawn(*argv, failpoints=failpoints) for argv in commands]
    return [org.wait(c) for c in children]


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("kind", ["spot", "route"])
def test_the_same_approval_at_once(lab: Lab, kind: str, n: int) -> None:
    org = lab.cheap()
    base, landed = org.world(), lab.proxy.landed()
    results = _together(org, *[("approve", org.pid(kind), "--by", f"user{i}") for i in range(n)])
    user_visible(results, crash_ok=False)
    assert sorted(r.returncode for r in results) == [0] + [5] * (n - 1), results
    changes_once(org, kind, base, landed)
    assert converged(org, kind, base) is ProposalStatus.EXECUTED
    store = org.store()
    try:
        assert store.count_audit("approved", org.pid(kind)) == 1
    finally:
        store.engine.dispose()
    healthy(org)


@pytest.mark.parametrize("kind", ["spot", "route"])
def test_approve_against_reject(lab: Lab, kind: str) -> None:
    org = lab.cheap()
    base, landed = org.world(), lab.proxy.landed()
    results = _together(org, ("approve", org.pid(kind), "--by", "alice"),
                        ("reject", org.pid(kind), "--by", "bob", "--reason", "not now"))
    user_visible(results, crash_ok=False)
    assert sorted(r.returncode for r in results) == [0, 5], results
    changes_once(org, kind, base, landed)
    status = converged(org, kind, base)
    assert status is (ProposalStatus.EXECUTED if results[0].returncode == 0 else ProposalStatus.REJECTED)
    healthy(org)


@pytest.mark.parametrize("kind", ["spot", "route"])
def test_approve_against_resume(lab: Lab, kind: str) -> None:
    org = lab.cheap()
    base, landed = org.world(), lab.proxy.landed()
    results = _together(org, ("approve", org.pid(kind), "--by", "alice"), ("resume",), ("resume",))
    user_visible(results, crash_ok=False)
    assert results[0].returncode in (0, 5), results
    changes_once(org, kind, base, landed)
    resume_until_quiet(org)
    assert converged(org, kind, base) is ProposalStatus.EXECUTED
    healthy(org)


@pytest.mark.parametrize(("kind", "crash"), [("spot", "before_apply"), ("spot", "after_apply"),
                                             ("route", "after_apply"), ("route", "after_applied_recorded")])
def test_three_resumes_race_for_a_dead_execution(lab: Lab, kind: str, crash: str) -> None:
    org = lab.cheap()
    base, landed = org.world(), lab.proxy.landed()
    crashed = org.run("approve", org.pid(kind), "--by", "alice", failpoints=crash)
    results = _together(org, ("resume",), ("resume",), ("resume",))
    user_visible([crashed, *results])
    assert all(r.returncode in (0, 5) for r in results), results
    changes_once(org, kind, base, landed)
    resume_until_quiet(org)
    assert converged(org, kind, base) is ProposalStatus.EXECUTED
    healthy(org)


def test_two_rollbacks_at_once(lab: Lab) -> None:
    org = lab.cheap()
    base, landed = org.world(), lab.proxy.landed()
    assert org.run("approve", org.pid("route"), "--by", "alice").returncode == 0
    results = _together(org, *[("rollback", org.pid("route"), "--by", f"user{i}") for i in range(2)])
    user_visible(results, crash_ok=False)
    assert all(r.returncode in (0, 5) for r in results), results
    resume_until_quiet(org)
    assert org.status(org.pid("route")) is ProposalStatus.ROLLED_BACK
    assert org.world()["route"] == base["route"]
    changes_once(org, "route", base, landed, executions=2)
    healthy(org)


def test_two_sweeps_at_once(lab: Lab) -> None:
    org = lab.cheap(swept=False)
    results = _together(org, ("sweep",), ("sweep",))
    user_visible(results, crash_ok=False)
    assert sorted(r.returncode for r in results) in ([0, 0], [0, 5]), results
    store = org.store()
    try:
        pending = store.list_proposals([ProposalStatus.PENDING])
    finally:
        store.engine.dispose()
    # the main account's seven (the chaos config reads only it): the first four, and EBS's three
    assert len(pending) == len({p.fingerprint for p in pending}) == 7, [p.id for p in pending]
    healthy(org)


@pytest.mark.parametrize("name", ["focus-restate", "llm-restate"])
def test_the_same_ingest_twice_at_once(lab: Lab, name: str) -> None:
    ingests = _ingests(lab, name)
    home, _ = ingests.home()
    children = [lab.fs.spawn(*ingests.delivery.argv(), env=ingests.env(home)) for _ in range(2)]
    results = [lab.fs.wait(c) for c in children]
    user_visible(results, crash_ok=False)
    assert all(r.returncode == 0 for r in results), results
    assert all(reported(r) == ingests.expected[:3] for r in results)
    assert lake_rows(home, ingests.delivery.kind) == ingests.expected[3]


def test_ingest_while_sweeping(lab: Lab) -> None:
    """LLM usage arriving while a sweep reads the lake: both finish, the home stays healthy."""
    org = lab.cheap(swept=False)
    usage = _ingests(lab, "llm-fresh").delivery
    results = _together(org, ("sweep",), tuple(usage.argv()))
    user_visible(results, crash_ok=False)
    assert [r.returncode for r in results] == [0, 0], results
    readable(org)
    healthy(org)


def test_ingests_of_different_files_at_once(lab: Lab) -> None:
    focus, usage = _ingests(lab, "focus-fresh"), _ingests(lab, "llm-fresh")
    home, _ = focus.home()
    env = {"SPENDPILOT_HOME": str(home), "SPENDPILOT_CONFIG": os.devnull}
    children = [lab.fs.spawn(*d.delivery.argv(), env=env) for d in (focus, usage)]
    results = [lab.fs.wait(c) for c in children]
    user_visible(results, crash_ok=False)
    assert [r.returncode for r in results] == [0, 0], results
    assert lake_rows(home, "focus") == focus.expected[3]
    assert lake_rows(home, "llm") == usage.expected[3]

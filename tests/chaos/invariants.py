"""The invariants every chaos case ends on: nothing lost, nothing crashes, nothing misleads.

- ``user_visible``: no command printed a traceback, and each exited with the failpoint's crash
  code, a kill signal, or one of the exit codes ``spendpilot --help`` documents;
- ``readable``: ``spendpilot doctor`` reads the home: state database, audit chain, decisions
  and lake are fine (work a crash left half-done may be reported, it must not be unreadable);
- ``healthy``: the same, with nothing left half-done (after ``resume``);
- ``changes_once``: AWS (as the proxy saw it land, and as moto reads now) changed at most once
  per approved execution, and only for a proposal whose approval the audit log records;
- ``converged``: after ``resume`` no proposal is left approved-but-unfinished: it is executed
  (its change visible) or back in the queue (pending, drifted) with a reason, change not applied;
- ingest: see ``lake_all_or_nothing``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from spendpilot._failpoints import CRASH_EXIT_CODE
from spendpilot.domain import ProposalStatus

from .conftest import Org, doctor
from .forkserver import Result

DOCUMENTED = {0, 1, 2, 3, 4, 5, 6}
KILLED = {CRASH_EXIT_CODE, -9}
STATE_CHECKS = ("state_db", "audit_chain", "decisions", "lake")
CHANGE_OPS = {"stop": "StopInstances", "stop2": "StopInstances", "spot": "UpdateAutoScalingGroup",
              "route": "PutParameter"}
BACK_OPS = {"stop": "StartInstances", "stop2": "StartInstances", "spot": "UpdateAutoScalingGroup",
            "route": "PutParameter"}


def user_visible(results: Iterable[Result], *, crash_ok: bool = True) -> None:
    allowed = DOCUMENTED | (KILLED if crash_ok else set())
    for r in results:
        assert "Traceback" not in r.output, f"a traceback reached the user:\n{r}"
        assert r.returncode in allowed, f"undocumented exit code {r.returncode}:\n{r}"
        if r.returncode not in KILLED and r.returncode != 0:
            assert r.stderr.strip() or r.stdout.strip(), f"failed without saying why:\n{r}"


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


def readable(org: Org) -> dict[str, Any]:
    report = doctor(org)
    checks = _checks(report)
    for name in STATE_CHECKS:
        assert checks[name]["status"] in ("ok", "warn", "skipped"), f"doctor: {name} is {checks[name]}"
    return report


def healthy(org: Org) -> None:
    report = doctor(org)
    assert report["healthy"], f"doctor after recovery: {report['failed']}: {report}"


def changed(kind: str, world: dict[str, Any], base: dict[str, Any]) -> bool:
    return bool(world[kind] != base[kind])


def changes_once(org: Org, kind: str, base: dict[str, Any], landed_before: Counter[str], *, executions: int = 1) -> None:
    """At most ``executions`` changes of ``kind``'s resource landed, and only an approved one's."""
    landed = org.lab.proxy.landed() - landed_before
    op = CHANGE_OPS[kind]
    world = org.world()
    if kind == "route":
        assert world["route_version"] - base["route_version"] <= executions, (
            f"SSM parameter written {world['route_version'] - base['route_version']} times for {executions} execution(s)"
        )
        assert world["route_version"] - base["route_version"] == landed[op], (world, landed)
    others = {"StopInstances", "StartInstances"} if kind.startswith("stop") else set()
    assert landed[op] + sum(landed[o] for o in others if o != op) <= executions, f"{op} landed {landed}"
    if landed[op] or changed(kind, world, base):
        store = org.store()
        try:
            assert store.count_audit("approved", org.pid(kind)) >= 1, f"{kind} changed without a recorded approval"
        finally:
            store.engine.dispose()


def converged(org: Org, kind: str, base: dict[str, Any], proposal_id: str | None = None) -> ProposalStatus:
    """After resume: executed with the change visible, or back in the queue with it not applied."""
    pid = proposal_id or org.pid(kind)
    status = org.status(pid)
    world = org.world()
    assert status is not ProposalStatus.APPROVED, f"{pid} still approved after resume"
    if status is ProposalStatus.EXECUTED:
        assert changed(kind, world, base), f"{pid} executed but AWS shows no change: {world}"
    elif status in (ProposalStatus.PENDING, ProposalStatus.DRIFTED, ProposalStatus.REJECTED):
        assert not changed(kind, world, base), f"{pid} is {status.value} but its change is applied: {world}"
        if status is not ProposalStatus.REJECTED:
            store = org.store()
            try:
                note = store.get_proposal(pid).note
            finally:
                store.engine.dispose()
            assert status is ProposalStatus.PENDING and not note or note, f"{pid} {status.value} with no reason"
    else:
        raise AssertionError(f"{pid} ended {status.value}: {world}")
    return status


def resume_until_quiet(org: Org) -> list[Result]:
    """``resume`` until it has nothing to do (at most three times), as an operator would."""
    results = []
    for _ in range(3):
        r = org.run("resume")
        results.append(r)
        user_visible([r], crash_ok=False)
        if "Nothing to resume" in r.stdout:
            return results
    raise AssertionError("resume did not settle:\n" + "\n".join(map(str, results)))

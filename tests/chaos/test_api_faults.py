"""AWS answers badly: 5xx, throttling, timeouts, garbage, HTML, cut-short replies, dropped
connections, and changes that land although the reply says they failed.

Through the fault proxy, on the call that matters for each command: the change itself for
approve and rollback, the reads for sweep and resume. The CLI runs with 2 attempts per call and
a 10 s read timeout (``conftest.proxy_config``). Every case ends on the same invariants as the
kill cases: no traceback, a documented exit code, the stores readable, AWS changed at most once
per execution and only with an approval, and after the fault clears ``resume`` converges.
"""

from __future__ import annotations

import pytest

from spendpilot.domain import ProposalStatus

from .conftest import MAX_ATTEMPTS, Lab
from .fault_proxy import Rule
from .invariants import (
    CHANGE_OPS,
    changes_once,
    converged,
    healthy,
    readable,
    resume_until_quiet,
    user_visible,
)

pytestmark = pytest.mark.chaos

SERVICE = {"stop": "ec2", "stop2": "ec2", "spot": "autoscaling", "route": "ssm"}
READ_OPS = {"stop": "DescribeInstances", "stop2": "DescribeInstances", "spot": "DescribeAutoScalingGroups",
            "route": "GetParameter"}

# (fault, how many consecutive attempts it breaks): MAX_ATTEMPTS breaks the call for good,
# 1 lets botocore's retry through.
WRITE_FAULTS = [
    ("500", MAX_ATTEMPTS), ("503", MAX_ATTEMPTS), ("throttle", MAX_ATTEMPTS), ("throttle429", MAX_ATTEMPTS),
    ("garbage", 1), ("html", 1), ("truncated", 1), ("drop", MAX_ATTEMPTS), ("500", 1),
    ("landed_500", 1), ("landed_500", MAX_ATTEMPTS), ("landed_garbage", 1),
]
SLOW_WRITE_FAULTS = [("timeout", MAX_ATTEMPTS), ("landed_timeout", 1)]


def _write_cases() -> list[tuple[str, int, str]]:
    # Not the stop kinds: their approval re-reads CloudWatch, which the emulator answers so slowly
    # (ListMetrics, ~4 s, more under load) that the short read timeout here would fire on it.
    out = [(f, t, k) for f, t in WRITE_FAULTS for k in ("spot", "route")]
    out += [(f, t, "route") for f, t in SLOW_WRITE_FAULTS]
    return out


@pytest.mark.parametrize(("fault", "times", "kind"), _write_cases())
def test_approve_when_the_change_call_fails(lab: Lab, fault: str, times: int, kind: str) -> None:
    org = lab.for_case(kind, ("api-approve", fault, times))
    base, landed = org.world(), lab.proxy.landed()
    lab.proxy.set_rules(Rule(SERVICE[kind], CHANGE_OPS[kind], fault, times=times))
    r = org.run("approve", org.pid(kind), "--by", "alice")
    fired = lab.proxy.fired()
    lab.proxy.clear()
    user_visible([r], crash_ok=False)
    assert fired, f"the fault never fired:\n{r}"
    readable(org)
    changes_once(org, kind, base, landed)
    if r.returncode == 1:
        # A reply that parsed as success although nothing was done (an HTML page with status
        # 200): the verification sees no change and says so; the proposal fails, AWS unchanged.
        assert fault == "html" and "verification did not see the change" in r.stdout, str(r)
        assert org.status(org.pid(kind)) is ProposalStatus.FAILED and org.world()[kind] == base[kind]
        healthy(org)
        return
    assert r.returncode in (0, 6), str(r)
    resume_until_quiet(org)
    changes_once(org, kind, base, landed)
    assert converged(org, kind, base) is ProposalStatus.EXECUTED
    healthy(org)


READ_FAULTS = [("500", MAX_ATTEMPTS), ("garbage", 1), ("html", MAX_ATTEMPTS), ("throttle", MAX_ATTEMPTS),
               ("truncated", MAX_ATTEMPTS), ("drop", MAX_ATTEMPTS)]


@pytest.mark.parametrize(("fault", "times", "kind"), [(f, t, k) for f, t in READ_FAULTS for k in ("spot", "route")])
def test_resume_when_the_reads_fail(lab: Lab, fault: str, times: int, kind: str) -> None:
    """An approve that could not reach AWS, then a resume whose re-read fails too, then one that works."""
    org = lab.for_case(kind, ("api-resume", fault, times))
    base, landed = org.world(), lab.proxy.landed()
    lab.proxy.set_rules(Rule(SERVICE[kind], CHANGE_OPS[kind], "503", times=MAX_ATTEMPTS))
    first = org.run("approve", org.pid(kind), "--by", "alice")
    assert first.returncode == 6, str(first)
    lab.proxy.set_rules(Rule(SERVICE[kind], READ_OPS[kind] if kind != "spot" else "*", fault, times=times))
    r = org.run("resume")
    fired = lab.proxy.fired()
    lab.proxy.clear()
    user_visible([first, r], crash_ok=False)
    assert fired, f"the fault never fired:\n{r}"
    assert r.returncode in (0, 6), str(r)
    readable(org)
    changes_once(org, kind, base, landed)
    resume_until_quiet(org)
    assert converged(org, kind, base) is ProposalStatus.EXECUTED
    changes_once(org, kind, base, landed)
    healthy(org)


BACK_FAULTS = [("500", MAX_ATTEMPTS), ("garbage", 1), ("landed_500", 1), ("drop", MAX_ATTEMPTS), ("landed_garbage", 1)]


@pytest.mark.parametrize(("fault", "times", "kind"), [(f, t, k) for f, t in BACK_FAULTS for k in ("spot", "route")])
def test_rollback_when_the_change_call_fails(lab: Lab, fault: str, times: int, kind: str) -> None:
    org = lab.for_case(kind, ("api-rollback", fault, times))
    base, landed = org.world(), lab.proxy.landed()
    ok = org.run("approve", org.pid(kind), "--by", "alice")
    assert ok.returncode == 0, str(ok)
    lab.proxy.set_rules(Rule(SERVICE[kind], CHANGE_OPS[kind], fault, times=times))
    r = org.run("rollback", org.pid(kind), "--by", "bob")
    fired = lab.proxy.fired()
    lab.proxy.clear()
    user_visible([ok, r], crash_ok=False)
    assert fired, f"the fault never fired:\n{r}"
    assert r.returncode in (0, 6), str(r)
    readable(org)
    changes_once(org, kind, base, landed, executions=2)
    resume_until_quiet(org)
    assert org.status(org.pid(kind)) is ProposalStatus.ROLLED_BACK
    assert org.world()[kind] == base[kind]
    changes_once(org, kind, base, landed, executions=2)
    healthy(org)


SWEEP_FAULTS = [("DescribeInstances", "garbage", 1), ("DescribeInstances", "500", MAX_ATTEMPTS),
                ("DescribeAutoScalingGroups", "html", MAX_ATTEMPTS), ("GetParametersByPath", "garbage", 1),
                ("GetParametersByPath", "throttle", MAX_ATTEMPTS), ("GetMetricData", "truncated", MAX_ATTEMPTS),
                ("DescribeSpotPriceHistory", "drop", MAX_ATTEMPTS), ("*", "503", MAX_ATTEMPTS)]


@pytest.mark.parametrize(("operation", "fault", "times"), SWEEP_FAULTS)
def test_sweep_when_reads_fail(lab: Lab, operation: str, fault: str, times: int) -> None:
    """A sweep that cannot read AWS says so (a gap, or exit 6 when blind) and changes nothing."""
    org = lab.cheap(swept=False)
    landed = lab.proxy.landed()
    lab.proxy.set_rules(Rule("*", operation, fault, times=times))
    r = org.run("sweep")
    fired = lab.proxy.fired()
    lab.proxy.clear()
    user_visible([r], crash_ok=False)
    assert fired, f"the fault never fired:\n{r}"
    assert r.returncode in (0, 6), str(r)
    assert lab.proxy.landed() == landed
    store = org.store()
    try:
        assert not store.list_proposals([ProposalStatus.APPROVED, ProposalStatus.EXECUTED])
    finally:
        store.engine.dispose()
    healthy(org)

"""Checks are pure functions of a snapshot: hand-built snapshots pin their judgement."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from spendpilot.actions import get_action
from spendpilot.checks import all_checks, run_checks
from spendpilot.domain import (
    LlmUsage,
    MetricPoint,
    MetricSeries,
    Money,
    Resource,
    ResourceRef,
    Snapshot,
)
from spendpilot.errors import ConfigError
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate

NOW = datetime(2026, 11, 20, tzinfo=UTC)
PRICES = PriceBook.bundled()


def _check(rule: str, snap: Snapshot, prices: PriceBook, overrides: dict | None = None) -> list:
    """One check through its own spec, so another check firing on the same snapshot is no concern."""
    spec = all_checks()[rule]
    return spec.run(snap, spec.settings((overrides or {}).get(rule)), prices)


def _instance(iid: str, itype: str, state: str = "running", **tags: str) -> Resource:
    return Resource(
        ref=ResourceRef(provider="aws", kind="ec2_instance", id=iid, region="us-east-1", name=iid),
        tags=tags,
        attributes={"instance_type": itype, "state": state, "autoscaling_group": None},
    )


def _series(iid: str, name: str, value: float, hours: int = 14 * 24) -> MetricSeries:
    return MetricSeries(
        resource_id=iid, namespace="x", name=name,
        points=[MetricPoint(at=NOW - timedelta(hours=h), value=value) for h in range(hours, 0, -1)],
    )


def _snap(*resources: Resource, metrics: dict | None = None, usage: list | None = None) -> Snapshot:
    return Snapshot(taken_at=NOW, resources=list(resources), metrics=metrics or {}, llm_usage=usage or [])


def _gpu_metrics(iid: str, gpu: float, cpu: float, hours: int = 14 * 24) -> dict:
    return {iid: [_series(iid, "nvidia_smi_utilization_gpu", gpu, hours), _series(iid, "CPUUtilization", cpu, hours)]}


def test_idle_gpu_instance_is_found_with_evidence() -> None:
    snap = _snap(_instance("i-1", "g5.2xlarge"), metrics=_gpu_metrics("i-1", 0.5, 2.0))
    [finding] = _check("idle_gpu_instance", snap, PRICES)
    assert finding.rule == "idle_gpu_instance" and finding.action_kind == "stop_instance"
    assert any("GPU utilisation p95" in e.label and "0.5%" in e.value for e in finding.evidence)


def test_stop_saving_is_the_run_rate_over_the_hours_actually_billed() -> None:
    # Launched five days ago and billed $1.00/h after discounts: $120 in the 30-day window.
    snap = _snap(_instance("i-1", "g5.2xlarge"), metrics=_gpu_metrics("i-1", 0.5, 2.0, hours=5 * 24))
    snap.resource_costs_30d = {"i-1": Money.usd("120")}
    snap.resource_billed_hours_30d = {"i-1": 120.0}
    [finding] = _check("idle_gpu_instance", snap, PRICES)
    est = estimate(finding, PRICES)
    # $1.00/h x 730 h; spread over 30 days it would have read $121.67 and hidden most of it.
    assert est.expected.amount == Decimal("730")
    assert est.high.amount == PRICES.on_demand("g5.2xlarge", "us-east-1").per_hour * 730
    assert any("5.0 days it was billed" in i.source for i in est.inputs)


def test_commitment_covered_cost_is_not_counted_as_a_stop_saving() -> None:
    snap = _snap(_instance("i-1", "g5.2xlarge"), metrics=_gpu_metrics("i-1", 0.5, 2.0))
    snap.resource_costs_30d = {"i-1": Money.usd("600")}
    snap.resource_billed_hours_30d = {"i-1": 720.0}
    snap.resource_commitment_share_30d = {"i-1": 0.75}
    [finding] = _check("idle_gpu_instance", snap, PRICES)
    assert any(e.label == "Covered by a commitment" and "75%" in e.value for e in finding.evidence)
    est = estimate(finding, PRICES)
    run_rate = Decimal("600") / 720 * 730
    assert abs(est.expected.amount - run_rate * Decimal("0.25")) < Decimal("0.01")
    assert est.high.amount == PRICES.on_demand("g5.2xlarge", "us-east-1").per_hour * 730
    assert "Savings Plan" in est.formula


@pytest.mark.parametrize(
    ("itype", "gpu", "cpu", "hours", "state", "why"),
    [
        ("g5.2xlarge", 60.0, 30.0, 336, "running", "busy GPU"),
        ("g5.2xlarge", 0.5, 45.0, 336, "running", "CPU-bound"),
        ("g5.2xlarge", 0.5, 2.0, 20, "running", "too little history"),
        ("g5.2xlarge", 0.5, 2.0, 336, "stopped", "already stopped"),
        ("m5.xlarge", 0.0, 2.0, 336, "running", "not a GPU instance"),
    ],
)
def test_idle_gpu_traps(itype: str, gpu: float, cpu: float, hours: int, state: str, why: str) -> None:
    snap = _snap(_instance("i-1", itype, state), metrics=_gpu_metrics("i-1", gpu, cpu, hours))
    assert _check("idle_gpu_instance", snap, PRICES) == [], why


def _gpu(iid: str, index: int, value: float, hours: int = 14 * 24) -> MetricSeries:
    series = _series(iid, "nvidia_smi_utilization_gpu", value, hours)
    return series.model_copy(update={"dimensions": {"index": str(index), "host": "ip-10-0-0-1"}})


def test_an_instance_is_idle_only_if_every_gpu_is() -> None:
    cpu = _series("i-1", "CPUUtilization", 2.0)
    eight = [_gpu("i-1", n, 0.3) for n in range(8)]
    idle = _snap(_instance("i-1", "p4d.24xlarge"), metrics={"i-1": [cpu, *eight]})
    [finding] = _check("idle_gpu_instance", idle, PRICES)
    assert finding.facts.gpus == 8
    one_busy = _snap(_instance("i-1", "p4d.24xlarge"), metrics={"i-1": [cpu, *eight[:7], _gpu("i-1", 7, 91.0)]})
    assert _check("idle_gpu_instance", one_busy, PRICES) == []
    # A GPU with too little history cannot be called idle, so neither can its instance.
    young = _snap(_instance("i-1", "p4d.24xlarge"), metrics={"i-1": [cpu, *eight[:7], _gpu("i-1", 7, 0.3, hours=20)]})
    assert _check("idle_gpu_instance", young, PRICES) == []


def test_ignore_tag_and_threshold_override() -> None:
    snap = _snap(_instance("i-1", "g5.2xlarge", **{"spendpilot:ignore": "yes"}), metrics=_gpu_metrics("i-1", 0.5, 2.0))
    assert _check("idle_gpu_instance", snap, PRICES) == []
    busyish = _snap(_instance("i-2", "g5.2xlarge"), metrics=_gpu_metrics("i-2", 12.0, 2.0))
    assert _check("idle_gpu_instance", busyish, PRICES) == []
    [finding] = _check("idle_gpu_instance", busyish, PRICES, {"idle_gpu_instance": {"gpu_p95_max_percent": 15}})
    # The executor re-checks against the threshold the finding was made with, not the default.
    plan = get_action("stop_instance").build_plan(finding)
    [gpu] = [m for m in next(iter(plan.preconditions.values()))["metrics"] if "gpu" in m["metric"]]
    assert gpu["below_percent"] == 15


def test_bad_check_config_names_the_section() -> None:
    with pytest.raises(ConfigError, match=r"\[checks.idle_gpu_instance\]"):
        run_checks(_snap(), PRICES, {"idle_gpu_instance": {"gpu_p95_max_percent": "lots"}})
    with pytest.raises(ConfigError, match="unknown rule"):
        run_checks(_snap(), PRICES, {"no_such_check": {}})


def test_a_misspelt_threshold_is_refused_not_silently_defaulted() -> None:
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) gpu_p95_max_pct; known: .*gpu_p95_max_percent"):
        run_checks(_snap(), PRICES, {"idle_gpu_instance": {"gpu_p95_max_pct": 0.0001}})


def _group(name: str, workload: str, od_pct: int = 100, desired: int = 4) -> Resource:
    return Resource(
        ref=ResourceRef(provider="aws", kind="autoscaling_group", id=name, region="us-east-1", name=name),
        tags={"workload": workload},
        attributes={
            "desired_capacity": desired, "instance_type": "g5.xlarge",
            "on_demand_percentage_above_base": od_pct, "on_demand_base_capacity": 0, "launch_template": "lt",
        },
    )


def test_spot_candidate_and_its_saving_from_reference_prices() -> None:
    [finding] = _check("spot_candidate", _snap(_group("batch", "batch")), PRICES)
    est = estimate(finding, PRICES)
    assert est is not None
    od = PRICES.on_demand("g5.xlarge", "us-east-1").per_hour
    spot = PRICES.spot("g5.xlarge", "us-east-1")
    assert est.expected.amount == ((od - spot.typical) * 730 * 4).quantize(Decimal("0.01"))
    assert est.low.amount < est.expected.amount < est.high.amount
    assert any("Spot price" in e.label for e in est.inputs)


def test_implausible_live_spot_price_is_not_used() -> None:
    snap = _snap(_group("batch", "batch"))
    snap.live_spot_prices["g5.xlarge"] = Decimal("0.00001")  # what the emulator reports
    [finding] = _check("spot_candidate", snap, PRICES)
    est = estimate(finding, PRICES)
    od = PRICES.on_demand("g5.xlarge", "us-east-1").per_hour
    assert est.high.amount < od * 730 * 4, "a near-zero spot price must not inflate the saving"
    assert any("ignored" in e.source for e in est.inputs)


@pytest.mark.parametrize(("workload", "od_pct", "desired"), [("web", 100, 4), ("batch", 0, 4), ("batch", 100, 1)])
def test_spot_traps(workload: str, od_pct: int, desired: int) -> None:
    assert _check("spot_candidate", _snap(_group("g", workload, od_pct, desired)), PRICES) == []


def _route(feature: str, model: str) -> Resource:
    return Resource(
        ref=ResourceRef(provider="aws", kind="llm_feature", id=feature, name=feature),
        attributes={"model": model, "parameter": f"/p/{feature}/model"},
    )


def _usage(feature: str, model: str, requests: int, inp: int, out: int, days: int = 30) -> list[LlmUsage]:
    return [
        LlmUsage(day=date(2026, 11, 19) - timedelta(days=d), provider="openai", model=model, feature=feature,
                 requests=requests, input_tokens=requests * inp, output_tokens=requests * out)
        for d in range(days)
    ]


def test_frontier_model_on_short_requests_is_routed_with_token_price_saving() -> None:
    snap = _snap(_route("clf", "gpt-4.1"), usage=_usage("clf", "gpt-4.1", 1000, 400, 10))
    [finding] = _check("frontier_model_simple_tasks", snap, PRICES)
    assert finding.facts.target_model == "gpt-4.1-mini"
    est = estimate(finding, PRICES)
    big, small = PRICES.token_price("gpt-4.1"), PRICES.token_price("gpt-4.1-mini")
    monthly_in = Decimal(1000 * 400 * 30) * Decimal("30.4167") / 30
    monthly_out = Decimal(1000 * 10 * 30) * Decimal("30.4167") / 30
    full = monthly_in * (big.input_per_token - small.input_per_token) + monthly_out * (
        big.output_per_token - small.output_per_token
    )
    assert est.high.amount == full.quantize(Decimal("0.01"))
    assert est.expected.amount == (full * Decimal("0.9")).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("model", "requests", "inp", "out", "why"),
    [
        ("gpt-4.1", 1000, 12000, 1500, "long, complex requests"),
        ("gpt-4.1-mini", 1000, 400, 10, "already mid-tier"),
        ("gpt-4.1", 10, 400, 10, "too little traffic"),
    ],
)
def test_frontier_traps(model: str, requests: int, inp: int, out: int, why: str) -> None:
    snap = _snap(_route("f", model), usage=_usage("f", model, requests, inp, out))
    assert _check("frontier_model_simple_tasks", snap, PRICES) == [], why

"""The idle-endpoint check on hand-built snapshots: the idle endpoint, and the look-alikes it must leave alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from spendpilot.actions import get_action
from spendpilot.actions.delete_sagemaker_endpoint import NO_INVOCATIONS
from spendpilot.checks import all_checks
from spendpilot.checks.idle_sagemaker_endpoint import IdleEndpointFacts
from spendpilot.domain import MetricPoint, MetricSeries, Money, Resource, ResourceRef, Snapshot
from spendpilot.domain.metrics import SAGEMAKER_ENDPOINT_CPU, SAGEMAKER_INVOCATIONS
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate

NOW = datetime(2026, 11, 20, tzinfo=UTC)
PRICES = PriceBook.bundled()
WEEK = 8 * 24


def _endpoint(
    name: str, *variants: tuple[str, str | None, int], status: str = "InService", **tags: str
) -> Resource:
    return Resource(
        ref=ResourceRef(provider="aws", kind="sagemaker_endpoint", id=name, name=name, region="us-east-1",
                        account="123456789012"),
        tags=tags,
        attributes={
            "status": status, "endpoint_config_name": f"{name}-config",
            "arn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
            "created_at": (NOW - timedelta(days=30)).isoformat(),
            "variants": [{"variant": v, "instance_type": t, "instance_count": n} for v, t, n in variants],
        },
    )


def _hourly(name: str, variant: str, metric: tuple[str, str], value: float, hours: int) -> MetricSeries:
    return MetricSeries(
        resource_id=name, namespace=metric[0], name=metric[1], statistic="Sum",
        dimensions={"EndpointName": name, "VariantName": variant},
        points=[MetricPoint(at=NOW - timedelta(hours=h), value=value) for h in range(hours, 0, -1)],
    )


def _watched(name: str, variant: str, hours: int = WEEK) -> MetricSeries:
    return _hourly(name, variant, tuple(SAGEMAKER_ENDPOINT_CPU), 2.0, hours)


def _calls(name: str, variant: str, per_hour: float, hours: int = WEEK) -> MetricSeries:
    return _hourly(name, variant, tuple(SAGEMAKER_INVOCATIONS), per_hour, hours)


def _check(snap: Snapshot, overrides: dict[str, Any] | None = None) -> list:
    spec = all_checks()["idle_sagemaker_endpoint"]
    return spec.run(snap, spec.settings(overrides), PRICES)


def _snap(endpoint: Resource, *series: MetricSeries) -> Snapshot:
    return Snapshot(taken_at=NOW, resources=[endpoint], metrics={endpoint.ref.id: list(series)})


def test_an_endpoint_nobody_called_for_a_week_is_found_with_typed_facts_and_evidence() -> None:
    ep = _endpoint("embeddings", ("AllTraffic", "ml.m5.2xlarge", 2), team="search")
    [finding] = _check(_snap(ep, _watched("embeddings", "AllTraffic")))
    assert finding.rule == "idle_sagemaker_endpoint" and finding.action_kind == "delete_sagemaker_endpoint"
    facts = finding.facts
    assert isinstance(facts, IdleEndpointFacts)
    assert facts.endpoint_config_name == "embeddings-config"
    assert [(v.variant, v.instance_type, v.instance_count) for v in facts.variants] == [("AllTraffic", "ml.m5.2xlarge", 2)]
    assert (facts.invocations, facts.window_hours, facts.measured_until) == (0, WEEK, NOW)
    [calls] = [e for e in finding.evidence if e.label.startswith("Invocations")]
    assert calls.value.startswith(f"0 over {WEEK} h") and "AWS/SageMaker/Invocations" in calls.source


def test_the_saving_is_price_times_count_times_730_with_its_formula_and_sources() -> None:
    ep = _endpoint("embeddings", ("AllTraffic", "ml.m5.2xlarge", 2))
    [finding] = _check(_snap(ep, _watched("embeddings", "AllTraffic")))
    est = estimate(finding, PRICES)
    assert est is not None
    assert est.expected.rounded() == Money.usd(Decimal("0.461") * 2 * 730).rounded() == Money.usd("673.06")
    assert est.high == est.expected
    assert est.low.rounded() == Money.usd(Decimal("0.461") * 2 * 730 * Decimal("0.8")).rounded()
    assert "(0.461 x 2) x 730" in est.formula and f"0 invocations over the {WEEK} h" in est.formula
    [price] = [i for i in est.inputs if "ml.m5.2xlarge" in i.label]
    assert "AWS Price List API" in price.source and "USE1-Host:ml.m5.2xlarge" in price.source


def test_every_billed_variant_counts_toward_the_saving() -> None:
    ep = _endpoint("llm", ("a", "ml.g6e.2xlarge", 1), ("b", "ml.m5.xlarge", 3))
    [finding] = _check(_snap(ep, _watched("llm", "a"), _watched("llm", "b")))
    est = estimate(finding, PRICES)
    assert est is not None and est.expected.rounded() == Money.usd((Decimal("2.8026") + 3 * Decimal("0.23")) * 730).rounded()


def test_a_type_without_a_sourced_price_gets_no_estimate_rather_than_a_guess() -> None:
    # ml.g5.xlarge: third-party pages disagree and name no source, so the price book has none.
    assert PRICES.sagemaker_hosting("ml.g5.xlarge", "us-east-1") is None
    assert PRICES.sagemaker_hosting("ml.m5.xlarge", "eu-west-1") is None  # no fallback to us-east-1 either
    ep = _endpoint("gen", ("AllTraffic", "ml.g5.xlarge", 1))
    [finding] = _check(_snap(ep, _watched("gen", "AllTraffic")))
    assert estimate(finding, PRICES) is None


@pytest.mark.parametrize(
    ("endpoint", "series", "why"),
    [
        (_endpoint("scoring", ("AllTraffic", "ml.m5.xlarge", 1)),
         [_watched("scoring", "AllTraffic"), _calls("scoring", "AllTraffic", 2.0)],
         "low but steady traffic: 2 calls an hour is a live service"),
        (_endpoint("scoring", ("AllTraffic", "ml.m5.xlarge", 1)),
         [_watched("scoring", "AllTraffic"), _calls("scoring", "AllTraffic", 1.0, hours=1)],
         "one call in a week is still a call (max_invocations 0)"),
        (_endpoint("churn", ("AllTraffic", "ml.m5.xlarge", 1)),
         [_watched("churn", "AllTraffic", hours=20)],
         "watched for 20 h: deployed yesterday, its callers may not be live yet"),
        (_endpoint("ab", ("control", "ml.m5.xlarge", 1), ("canary", "ml.m5.xlarge", 1)),
         [_watched("ab", "control"), _watched("ab", "canary"), _calls("ab", "canary", 50.0)],
         "A/B test: the control variant is idle, the canary is not; the endpoint serves"),
        (_endpoint("ab", ("control", "ml.m5.xlarge", 1), ("canary", "ml.m5.xlarge", 1)),
         [_watched("ab", "control")],
         "a variant with no instance metrics has not been watched at all"),
        (_endpoint("sls", ("AllTraffic", None, 0)),
         [_watched("sls", "AllTraffic")],
         "serverless: billed per request, nothing hourly to delete"),
        (_endpoint("creating", ("AllTraffic", "ml.m5.xlarge", 1), status="Creating"),
         [_watched("creating", "AllTraffic")],
         "not in service"),
        (_endpoint("kept", ("AllTraffic", "ml.m5.xlarge", 1), **{"spendpilot:ignore": "dr standby"}),
         [_watched("kept", "AllTraffic")],
         "the owner asked spendpilot to leave it alone"),
    ],
)
def test_look_alikes_are_not_called_idle(endpoint: Resource, series: list[MetricSeries], why: str) -> None:
    assert _check(_snap(endpoint, *series)) == [], why


def test_thresholds_come_from_settings_and_travel_with_the_plan() -> None:
    ep = _endpoint("scoring", ("AllTraffic", "ml.m5.xlarge", 1))
    snap = _snap(ep, _watched("scoring", "AllTraffic", hours=30), _calls("scoring", "AllTraffic", 1.0, hours=3))
    assert _check(snap) == []
    [finding] = _check(snap, {"max_invocations": 5, "min_observed_hours": 24})
    plan = get_action("delete_sagemaker_endpoint").build_plan(finding)
    assumed = plan.preconditions[NO_INVOCATIONS]
    # The executor re-checks against the threshold the finding was made with, not the default.
    assert (assumed["at_most"], assumed["sweep_counted"], assumed["variants"]) == (5, 3, ["AllTraffic"])
    assert plan.expected_pre_state["endpoint_config_name"] == "scoring-config"
    assert plan.rollback is not None and plan.rollback.change["endpoint_config_name"] == "scoring-config"

"""The unattached-volume check on hand-built snapshots: the forgotten volume, and the look-alikes it must leave alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from spendpilot.actions import get_action
from spendpilot.actions.snapshot_and_delete_volume import NOT_ATTACHED_SINCE, DeleteVolumeFacts
from spendpilot.checks import all_checks
from spendpilot.domain import Money, Resource, ResourceRef, Snapshot
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate

NOW = datetime(2026, 11, 20, tzinfo=UTC)
WINDOW_START = NOW - timedelta(days=14)
PRICES = PriceBook.bundled()


def _volume(
    vid: str = "vol-0aaa", *, state: str = "available", vtype: str = "gp2", size: int = 500,
    iops: int | None = 1500, throughput: int | None = None, created_days_ago: float = 60,
    last_attached_days_ago: float | None = None, attached_to: list[str] | None = None, **tags: str,
) -> Resource:
    last = NOW - timedelta(days=last_attached_days_ago) if last_attached_days_ago is not None else None
    attrs: dict[str, Any] = {
        "state": state, "volume_type": vtype, "size_gb": size, "iops": iops, "throughput": throughput,
        "availability_zone": "us-east-1a", "created_at": (NOW - timedelta(days=created_days_ago)).isoformat(),
        "attached_to": attached_to or [], "modification_state": None,
    }
    if state == "available":  # the AWS source reads attachment metrics for unattached volumes only
        attrs["attachment_watched_from"] = WINDOW_START.isoformat()
        attrs["last_attached_at"] = last.isoformat() if last else None
    return Resource(
        ref=ResourceRef(provider="aws", kind="ebs_volume", id=vid, region="us-east-1", name=tags.get("Name")),
        tags=tags, attributes=attrs,
    )


def _check(*volumes: Resource, overrides: dict[str, Any] | None = None) -> list:
    spec = all_checks()["unattached_ebs_volume"]
    return spec.run(Snapshot(taken_at=NOW, resources=list(volumes)), spec.settings(overrides), PRICES)


def test_a_volume_unattached_for_the_whole_window_is_found_with_typed_facts_and_evidence() -> None:
    [finding] = _check(_volume(Name="old-training-scratch", team="ml"))
    assert finding.rule == "unattached_ebs_volume" and finding.action_kind == "snapshot_and_delete_volume"
    facts = finding.facts
    assert isinstance(facts, DeleteVolumeFacts)
    assert (facts.volume_type, facts.size_gb, facts.iops, facts.availability_zone) == ("gp2", 500, 1500, "us-east-1a")
    # No attachment datapoint in the 14-day window: unattached since the window's start, no earlier claim.
    assert facts.unattached_since == WINDOW_START and facts.measured_until == NOW
    assert "AWS/EBS/VolumeIdleTime" in facts.unattached_basis
    [held] = [e for e in finding.evidence if e.label == "Unattached for"]
    assert held.value.startswith("at least 14 days")


def test_the_last_attachment_datapoint_or_the_creation_time_bounds_how_long() -> None:
    [detached] = _check(_volume(last_attached_days_ago=9))
    assert detached.facts.unattached_since == NOW - timedelta(days=9) + timedelta(hours=1)
    [young] = _check(_volume(created_days_ago=10))
    assert young.facts.unattached_since == NOW - timedelta(days=10)
    assert young.facts.unattached_basis.startswith("created ")


def test_the_saving_is_the_volume_price_less_a_full_size_snapshot_with_its_formula() -> None:
    [finding] = _check(_volume())
    est = estimate(finding, PRICES)
    assert est is not None
    # 500 GB x 0.10 (gp2) = 50.00 a month; the snapshot kept is at most 500 GB x 0.05 = 25.00.
    assert est.expected == est.low == Money.usd(Decimal("25.00"))
    assert est.high == Money.usd(Decimal("50.00"))
    assert "500 GB x 0.10" in est.formula and "500 GB x 0.05" in est.formula
    assert {i.label for i in est.inputs} >= {"EBS gp2 list price", "EBS snapshot storage (standard tier)"}


def test_provisioned_gp3_performance_counts_toward_the_volume_price() -> None:
    [finding] = _check(_volume(vtype="gp3", size=200, iops=6000, throughput=250))
    est = estimate(finding, PRICES)
    # 200 x 0.08 + (6000-3000) x 0.005 + (250-125) x 0.04 = 16 + 15 + 5 = 36; snapshot 200 x 0.05 = 10.
    assert est is not None and est.high == Money.usd(Decimal("36")) and est.expected == Money.usd(Decimal("26"))


def test_a_type_without_a_sourced_price_gets_no_estimate() -> None:
    assert PRICES.ebs_volume("st1", "us-east-1") is None
    [finding] = _check(_volume(vtype="st1", iops=None))
    assert estimate(finding, PRICES) is None


@pytest.mark.parametrize(
    ("volume", "why"),
    [
        (_volume(state="in-use", attached_to=["i-0123"]), "attached: in use"),
        (_volume(last_attached_days_ago=1), "detached a day ago (last attachment datapoint yesterday)"),
        (_volume(created_days_ago=1), "created a day ago: one day unattached at most"),
        (_volume(**{"do-not-delete": "legal hold"}), "the owner tagged it to keep"),
        (_volume(**{"Keep": "yes"}), "keep tags match case-insensitively"),
    ],
)
def test_look_alikes_are_not_proposed(volume: Resource, why: str) -> None:
    assert _check(volume) == [], why


def test_without_attachment_metrics_nothing_is_claimed() -> None:
    vol = _volume()
    del vol.attributes["attachment_watched_from"]
    assert _check(vol) == []


def test_the_threshold_comes_from_settings_and_the_plan_carries_the_recheck() -> None:
    vol = _volume(last_attached_days_ago=3)
    assert _check(vol) == []
    [finding] = _check(vol, overrides={"min_unattached_days": 2})
    plan = get_action("snapshot_and_delete_volume").build_plan(finding)
    assert plan.preconditions[NOT_ATTACHED_SINCE] == {"measured_until": NOW.isoformat()}
    assert plan.expected_pre_state["state"] == "available" and plan.expected_pre_state["attached_to"] == []
    assert plan.rollback is not None and plan.rollback.change["volume_type"] == "gp2"

"""The gp2 -> gp3 check on hand-built snapshots: where gp3 is cheaper at gp2's performance, and where it is not."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from spendpilot.actions import get_action
from spendpilot.actions.modify_volume_to_gp3 import ModifyToGp3Facts, gp2_baseline_iops, gp3_target
from spendpilot.checks import all_checks
from spendpilot.domain import Money, Resource, ResourceRef, Snapshot
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate

NOW = datetime(2026, 11, 20, tzinfo=UTC)
PRICES = PriceBook.bundled()


def _volume(size: int, *, vtype: str = "gp2", state: str = "in-use", modification: str | None = None, **tags: str) -> Resource:
    return Resource(
        ref=ResourceRef(provider="aws", kind="ebs_volume", id=f"vol-{size}", region="us-east-1"),
        tags=tags,
        attributes={"state": state, "volume_type": vtype, "size_gb": size, "iops": gp2_baseline_iops(size),
                    "throughput": None, "availability_zone": "us-east-1a", "attached_to": ["i-0abc"] if state == "in-use" else [],
                    "modification_state": modification},
    )


def _check(*volumes: Resource, overrides: dict[str, Any] | None = None) -> list:
    spec = all_checks()["gp2_volume"]
    return spec.run(Snapshot(taken_at=NOW, resources=list(volumes)), spec.settings(overrides), PRICES)


def test_the_gp3_target_is_at_least_what_gp2_gave() -> None:
    assert [gp2_baseline_iops(s) for s in (10, 500, 1000, 4000, 6000)] == [100, 1500, 3000, 12000, 16000]
    assert gp3_target(100) == (3000, 128)
    assert gp3_target(1000) == (3000, 250)
    assert gp3_target(4000) == (12000, 250)


def test_a_large_gp2_volume_is_found_and_priced_with_its_formula() -> None:
    [finding] = _check(_volume(1000))
    assert finding.rule == "gp2_volume" and finding.action_kind == "modify_volume_to_gp3"
    assert isinstance(finding.facts, ModifyToGp3Facts)
    assert (finding.facts.target_iops, finding.facts.target_throughput) == (3000, 250)
    est = estimate(finding, PRICES)
    # gp2 1000 x 0.10 = 100; gp3 1000 x 0.08 + 0 IOPS + (250-125) x 0.04 = 85: 15 a month (20 without the extra MiB/s).
    assert est is not None and est.expected == est.low == Money.usd(Decimal("15")) and est.high == Money.usd(Decimal("20"))
    assert "1000 GB x 0.10" in est.formula


def test_extra_iops_are_provisioned_above_1000_gib_and_priced() -> None:
    [finding] = _check(_volume(4000))
    est = estimate(finding, PRICES)
    # gp2 400; gp3 4000 x 0.08 + 9000 x 0.005 + 125 x 0.04 = 320 + 45 + 5 = 370.
    assert finding.facts.target_iops == 12000
    assert est is not None and est.expected == Money.usd(Decimal("30"))


@pytest.mark.parametrize(
    ("volume", "why"),
    [
        (_volume(200), "200 GiB: gp2 gives 250 MiB/s; gp3 at 250 MiB/s costs 21.00 vs gp2's 20.00"),
        (_volume(8), "an 8 GiB root volume saves 4 cents: below min_monthly_saving"),
        (_volume(1000, modification="optimizing"), "a modification is in progress: cannot modify again yet"),
        (_volume(1000, vtype="gp3"), "already gp3"),
        (_volume(1000, state="available"), "unattached: a deletion candidate, not a retype"),
        (_volume(1000, **{"spendpilot:ignore": "vendor appliance"}), "the owner asked to leave it"),
    ],
)
def test_look_alikes_are_not_proposed(volume: Resource, why: str) -> None:
    assert _check(volume) == [], why


def test_the_plan_expects_gp2_not_being_modified_and_rolls_back_to_gp2() -> None:
    [finding] = _check(_volume(1000))
    plan = get_action("modify_volume_to_gp3").build_plan(finding)
    assert plan.change == {"volume_type": "gp3", "iops": 3000, "throughput": 250}
    assert plan.expected_pre_state == {"volume_type": "gp2", "size_gb": 1000, "modification_in_progress": False}
    assert plan.rollback is not None and plan.rollback.change["volume_type"] == "gp2"

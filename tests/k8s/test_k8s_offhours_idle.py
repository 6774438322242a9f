"""k8s_offhours_idle: a deployment idle nights and weekends is scheduled down; look-alikes are not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from tests.k8s.cluster_gen import hourly, node, pod

from spendpilot.checks.k8s_offhours_idle import OffHoursSettings, is_off_hour, off_hours_per_week
from spendpilot.checks.registry import all_checks
from spendpilot.domain import Snapshot
from spendpilot.domain.kubernetes import ClusterState, KubeWorkload
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate

END = datetime(2026, 11, 16, 0, tzinfo=UTC)  # a Monday, midnight
DAYS = 14


def _cpu(busy_at: set[int] | None = None, days: int = DAYS, zone_shift: int = 0) -> list[float]:
    """Hourly cores: 0.6 in business hours (weekdays 08-20 UTC + shift), 0.004 otherwise; ``busy_at``
    hours of the day are busy every night too (a nightly batch)."""
    values = []
    settings = OffHoursSettings()
    for h in range(days * 24):
        hour_start = END - timedelta(hours=days * 24 - h)
        local = hour_start + timedelta(hours=zone_shift)
        busy = not is_off_hour(local, settings) or (busy_at is not None and local.hour in busy_at)
        values.append(0.6 if busy else 0.004)
    return values


def _deployment(name: str, namespace: str, cpu: list[float], replicas: int = 2, **kw: object) -> tuple:
    w = KubeWorkload(kind="Deployment", namespace=namespace, name=name, replicas=replicas, **kw)  # type: ignore[arg-type]
    pods = [pod(namespace, f"{name}-{r}", "n1", cpu=1.0, mem_gib=2, owner=("Deployment", name)) for r in range(replicas)]
    usage = [hourly(namespace, p.name, "cpu_cores", END, [v / replicas for v in cpu]) for p in pods]
    return w, pods, usage


def _run(*deployments: tuple, namespaces: dict[str, dict[str, str]] | None = None, **settings: object) -> list:
    state = ClusterState(cluster="prod", read_at=END, nodes=[node("n1", "m5.2xlarge", 8, 32)],
                         workloads=[d[0] for d in deployments], pods=[p for d in deployments for p in d[1]],
                         usage=[u for d in deployments for u in d[2]], namespaces=namespaces or {})
    spec = all_checks()["k8s_offhours_idle"]
    return spec.run(Snapshot(taken_at=END, clusters=[state]), OffHoursSettings(**settings), PriceBook.bundled())  # type: ignore[arg-type]


def test_off_hours_are_weekday_nights_and_weekends() -> None:
    assert off_hours_per_week(OffHoursSettings()) == 5 * 12 + 48
    monday = datetime(2026, 11, 16)
    assert is_off_hour(monday + timedelta(hours=7), OffHoursSettings())
    assert not is_off_hour(monday + timedelta(hours=8), OffHoursSettings())
    assert is_off_hour(monday + timedelta(hours=20), OffHoursSettings())
    assert is_off_hour(monday + timedelta(days=5, hours=12), OffHoursSettings())  # Saturday noon


def test_a_deployment_idle_off_hours_is_scheduled_to_zero() -> None:
    [finding] = _run(_deployment("dev-api", "dev", _cpu()))
    facts = finding.facts
    assert (facts.current_replicas, facts.target_replicas) == (2, 0)
    assert facts.schedule == "0 20 * * 1-5" and facts.scale_up_schedule == "0 8 * * 1-5"
    assert facts.off_hours_idle == facts.off_hours_read == 2 * 108
    assert facts.on_hours_busy_share == 1.0
    result = estimate(finding, PriceBook.bundled())
    assert result is not None
    price = PriceBook.bundled().on_demand("m5.2xlarge", "us-east-1").per_hour  # type: ignore[union-attr]
    k = price / (8 * Decimal("0.031611") + 32 * Decimal("0.004237"))
    per_replica = (Decimal("0.031611") + 2 * Decimal("0.004237")) * k
    hours = Decimal(repr(round(108 * 730 / 168, 2)))
    assert result.expected.amount == (per_replica * 2 * hours).quantize(Decimal("0.01"))


def test_a_time_zone_moves_the_off_hours() -> None:
    berlin = _cpu(zone_shift=1)  # busy 08-20 Berlin time (UTC+1 in November)
    assert _run(_deployment("dev-api", "dev", berlin), timezone="Europe/Berlin")
    assert not _run(_deployment("dev-api", "dev", berlin), timezone="America/New_York")


def test_look_alikes_are_left_alone() -> None:
    findings = _run(
        _deployment("nightly-import", "dev", _cpu(busy_at={2})),          # a batch at 02:00 every night
        _deployment("shop", "prod", _cpu()),                             # namespace labelled production
        _deployment("tagged", "dev", _cpu(), labels={"environment": "production"}),
        _deployment("new", "dev", _cpu(days=3)),                         # three days: no weekend seen
        namespaces={"prod": {"environment": "production"}, "dev": {}},
    )
    assert findings == []


def test_settings_refuse_an_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        OffHoursSettings(timezone="Mars/Olympus")

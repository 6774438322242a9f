"""Deployments that sit idle every night and weekend: scale them to zero on a schedule.

Off-hours are weekday evenings from ``off_start_hour`` to ``off_end_hour`` next morning plus the
weekend, in ``timezone``. An hour is idle when the workload's pods together used less than
``max_cpu_cores_per_replica`` x replicas cores (CPU rate from Prometheus, hourly); a workload is
proposed when at least ``min_idle_share`` of the off-hours read were idle over at least
``min_history_days`` (a week, so weekends are seen). A nightly batch (an import at 02:00)
makes those hours busy and rules the workload out.

The proposal is a schedule: scale to zero at ``off_start_hour`` on weekdays (the
``ScaleReplicasFacts.schedule`` cron) and back to the current replicas at ``off_end_hour`` on
weekdays (``scale_up_schedule``), both in ``timezone``; the weekend stays scaled down. Skipped:
workloads an HPA scales (the two would fight), and workloads labelled like production
(``protected_labels``, on the workload or its namespace).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator

from spendpilot.allocation.kubernetes import gpu_share
from spendpilot.checks._k8s_usage import (
    SCALABLE,
    NodeShape,
    ScaleCostFacts,
    has_hpa,
    pods_of,
    workload_ref,
    workload_resource,
)
from spendpilot.checks.registry import register_check
from spendpilot.domain import HOURS_PER_MONTH, Evidence, Finding, Snapshot
from spendpilot.domain.kubernetes import ClusterState, KubeWorkload
from spendpilot.savings.pricebook import PriceBook

HOURS_PER_WEEK = 168


class OffHoursSettings(BaseModel):
    enabled: bool = True
    off_start_hour: int = Field(20, ge=0, le=23, description="Weekday hour (local) from which the workload is not needed.")
    off_end_hour: int = Field(8, ge=0, le=23, description="Weekday hour (local) when it is needed again.")
    timezone: str = Field("UTC", description="IANA time zone of those hours, e.g. Europe/Berlin.")
    max_cpu_cores_per_replica: float = Field(0.02, ge=0, description="An hour is idle below this many cores per replica.")
    min_idle_share: float = Field(0.95, gt=0, le=1, description="Share of the off-hours read that must be idle.")
    min_history_days: float = Field(7, gt=0, description="Days of CPU history needed (a week shows the weekend).")
    protected_labels: dict[str, str] = Field(
        default_factory=lambda: {"environment": "production"},
        description="Workloads or namespaces carrying any of these labels are never scheduled down.",
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from exc
        return value


class OffHoursFacts(ScaleCostFacts):
    scale_up_schedule: str
    """Cron (in ``timezone``) that scales back to ``current_replicas``."""
    timezone: str
    off_hours_read: int
    off_hours_idle: int
    on_hours_busy_share: float
    """Share of business hours that were not idle: context for the reviewer (0 means idle always)."""


@register_check(
    "k8s_offhours_idle",
    action_kind="k8s_scale_replicas",
    settings=OffHoursSettings,
    facts=OffHoursFacts,
    description="Deployments idle on weekday nights and weekends: scale to zero on a schedule.",
)
def find_offhours_idle(snapshot: Snapshot, settings: OffHoursSettings, prices: PriceBook) -> list[Finding[OffHoursFacts]]:
    findings: list[Finding[OffHoursFacts]] = []
    for state in snapshot.clusters:
        for workload in state.workloads:
            if workload.kind in SCALABLE and (workload.replicas or 0) > 0 and not _protected(state, workload, settings):
                found = _offhours(state, workload, settings)
                if found is not None:
                    findings.append(found)
    return findings


def is_off_hour(local_start: datetime, settings: OffHoursSettings) -> bool:
    """Whether the hour starting at ``local_start`` (local time) is off-hours."""
    weekday, hour = local_start.weekday(), local_start.hour
    if weekday >= 5:
        return True
    if settings.off_start_hour > settings.off_end_hour:  # over midnight: 20:00 -> 08:00
        evening = hour >= settings.off_start_hour and weekday <= 4
        morning = hour < settings.off_end_hour
        return evening or morning
    return settings.off_start_hour <= hour < settings.off_end_hour


def off_hours_per_week(settings: OffHoursSettings) -> int:
    monday = datetime(2024, 1, 1)  # a Monday
    return sum(is_off_hour(monday + timedelta(hours=h), settings) for h in range(HOURS_PER_WEEK))


def _protected(state: ClusterState, workload: KubeWorkload, settings: OffHoursSettings) -> bool:
    namespace_labels = state.namespaces.get(workload.namespace, {})
    return any(workload.labels.get(k) == v or namespace_labels.get(k) == v for k, v in settings.protected_labels.items())


def _offhours(state: ClusterState, workload: KubeWorkload, settings: OffHoursSettings) -> Finding[OffHoursFacts] | None:
    if has_hpa(state, workload):
        return None
    pods = pods_of(state, workload)
    if not pods:
        return None
    replicas = workload.replicas or len(pods)
    cpu: dict[datetime, float] = {}
    step_seconds = 3600
    for p in pods:
        for s in state.usage_of(p.namespace, p.name, "cpu_cores"):
            step_seconds = s.step_seconds
            for point in s.points:
                cpu[point.at] = cpu.get(point.at, 0.0) + point.value
    if not cpu or (max(cpu) - min(cpu)).total_seconds() + step_seconds < settings.min_history_days * 86400:
        return None
    zone = ZoneInfo(settings.timezone)
    limit = settings.max_cpu_cores_per_replica * replicas
    off_read = off_idle = on_read = on_busy = 0
    for at, cores in cpu.items():
        local = (at - timedelta(seconds=step_seconds)).astimezone(zone)
        if is_off_hour(local, settings):
            off_read += 1
            off_idle += cores < limit
        else:
            on_read += 1
            on_busy += cores >= limit
    if not off_read or off_idle / off_read < settings.min_idle_share:
        return None
    per_week = off_hours_per_week(settings)
    hours_per_month = per_week * HOURS_PER_MONTH / HOURS_PER_WEEK
    pod = pods[0]
    node = state.node(pod.node)
    days = "1-5"
    down = f"0 {settings.off_start_hour} * * {days}"
    up = f"0 {settings.off_end_hour} * * {days}"
    on_share = on_busy / on_read if on_read else 0.0
    facts = OffHoursFacts(
        workload=workload_ref(state.cluster, workload), current_replicas=replicas, target_replicas=0, schedule=down,
        scale_up_schedule=up, timezone=settings.timezone,
        node=NodeShape.of(node) if node else None, pod_cpu_cores=pod.request("cpu"), pod_memory_bytes=pod.request("memory"),
        pod_gpus=gpu_share(pod, node) if node else 0.0, hours_per_month=round(hours_per_month, 2),
        idle_share=round(off_idle / off_read, 3),
        basis=(f"{per_week} off-hours a week: weekdays {settings.off_start_hour:02d}:00-{settings.off_end_hour:02d}:00 "
               f"and weekends, {settings.timezone}, x {HOURS_PER_MONTH}/{HOURS_PER_WEEK}"),
        off_hours_read=off_read, off_hours_idle=off_idle, on_hours_busy_share=round(on_share, 3),
    )
    first, last = min(cpu), max(cpu)
    evidence = [
        Evidence(label="Off-hours CPU",
                 value=(f"{off_idle} of {off_read} off-hours idle (< {limit:g} cores for {replicas} replica(s)), "
                        f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"),
                 source="container_cpu_usage_seconds_total rate via Prometheus, summed over the workload's pods"),
        Evidence(label="Business-hours CPU", value=f"busy in {on_share:.0%} of {on_read} business hours",
                 source="container_cpu_usage_seconds_total rate via Prometheus"),
        Evidence(label="Schedule",
                 value=f"scale to 0 at '{down}', back to {replicas} at '{up}' ({settings.timezone}); weekends stay at 0",
                 source="k8s_offhours_idle settings (off_start_hour, off_end_hour, timezone)"),
    ]
    return Finding(
        resource=workload_resource(state.cluster, workload),
        summary=(f"{workload.kind} {workload.namespace}/{workload.name}: idle {off_idle / off_read:.0%} of off-hours; "
                 f"scale {replicas} -> 0 weekdays {settings.off_start_hour:02d}:00-{settings.off_end_hour:02d}:00 and weekends"),
        facts=facts, evidence=evidence,
    )


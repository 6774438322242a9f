"""An Auto Scaling group of GPU instances with capacity, every GPU of every instance idle.

``idle_gpu_instance`` leaves group members alone (the group would replace a stopped one); the
group's own lever is its capacity. The idle test is the same one, per GPU (the CloudWatch agent
publishes one series per GPU): a group is idle only if **every GPU of every instance** stayed
below the threshold, with enough history on each. One busy GPU on one instance, or one instance
without enough GPU history, keeps the whole group off the list.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from spendpilot.actions.scale_group_to_zero import IdleGpuGroupFacts
from spendpilot.checks.idle_gpu_instance import IdleGpuSettings, all_gpus_idle_share, gpu_label
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, MetricSeries, Snapshot
from spendpilot.domain.metrics import EC2_CPU as CPU
from spendpilot.domain.metrics import NVIDIA_GPU as GPU
from spendpilot.savings.pricebook import PriceBook


class IdleGpuGroupSettings(IdleGpuSettings):
    """The idle GPU instance thresholds, applied to every instance of a group."""

    ignore_tag: str = Field("spendpilot:ignore", description="Groups with this tag are skipped.")


@register_check(
    "idle_gpu_autoscaling_group",
    action_kind="scale_group_to_zero",
    settings=IdleGpuGroupSettings,
    facts=IdleGpuGroupFacts,
    description="Auto Scaling groups with GPU capacity whose every GPU, on every instance, stayed idle.",
)
def find_idle_gpu_groups(
    snapshot: Snapshot, settings: IdleGpuGroupSettings, prices: PriceBook
) -> list[Finding[IdleGpuGroupFacts]]:
    findings: list[Finding[IdleGpuGroupFacts]] = []
    for res in snapshot.of_kind("autoscaling_group"):
        a = res.attributes
        itype = a.get("instance_type")
        ids: list[str] = list(a.get("instance_ids") or [])
        desired = int(a.get("desired_capacity") or 0)
        if desired <= 0 or not ids or not itype or not prices.is_gpu(itype) or settings.ignore_tag in res.tags:
            continue
        per_instance: dict[str, list[MetricSeries]] = {iid: snapshot.metrics_named(iid, GPU.name) for iid in ids}
        if any(not g or any(s.hours_covered() < settings.min_history_hours for s in g) for g in per_instance.values()):
            continue  # an instance whose GPUs cannot all be judged: the group cannot be called idle
        gpus = [s for g in per_instance.values() for s in g]
        p95s = [(iid, s, s.percentile(95) or 0.0) for iid, g in per_instance.items() for s in g]
        busiest_iid, busiest, gpu_p95 = max(p95s, key=lambda row: row[2])
        if gpu_p95 >= settings.gpu_p95_max_percent:
            continue
        cpus = [(iid, c.percentile(95)) for iid in ids if (c := snapshot.metric(iid, CPU.name)) is not None]
        cpu_p95 = max((p for _, p in cpus if p is not None), default=None)
        if cpu_p95 is not None and cpu_p95 >= settings.cpu_p95_max_percent:
            continue
        idle_share = all_gpus_idle_share(gpus, settings.gpu_p95_max_percent)
        hours = max(s.hours_covered() for s in gpus)
        first: datetime = min(s.points[0].at for s in gpus)
        last: datetime = max(s.points[-1].at for s in gpus)
        sources = ", ".join(sorted({f"{s.namespace}/{s.name}" for s in gpus}))
        where = res.ref.location()
        evidence = [
            Evidence(label="Capacity", value=f"desired {desired} x {itype} (min {a['min_size']}, max {a['max_size']})"
                     + (f", {where}" if where else ""), source="Auto Scaling DescribeAutoScalingGroups"),
            Evidence(
                label="GPU utilisation p95 (hourly average)",
                value=f"{gpu_p95:.1f}% at most, over {hours:.0f} h ({first:%Y-%m-%d} to {last:%Y-%m-%d}): the busiest of "
                f"{len(gpus)} GPUs on {len(ids)} instances ({busiest_iid} {gpu_label(busiest)})",
                source=f"CloudWatch {sources}, one series per GPU",
            ),
            Evidence(
                label="GPUs, p95 each",
                value="; ".join(f"{iid}: " + ", ".join(f"{gpu_label(s)} {p:.1f}%" for i, s, p in p95s if i == iid)
                                for iid in ids)
                + f"; all below {settings.gpu_p95_max_percent:g}%",
                source=f"CloudWatch {sources}",
            ),
            Evidence(label="GPU idle share",
                     value=f"{idle_share:.0%} of hours with every GPU of the group below {settings.gpu_p95_max_percent:g}%",
                     source=f"CloudWatch {sources}"),
        ]
        if cpu_p95 is not None:
            evidence.append(Evidence(label="CPU utilisation p95 (busiest instance)", value=f"{cpu_p95:.1f}%",
                                     source=f"CloudWatch {CPU}"))
        findings.append(
            Finding(
                resource=res,
                summary=(
                    f"group '{res.ref.name or res.ref.id}' keeps {desired} x {itype} running with every GPU idle "
                    f"({len(gpus)} GPUs, busiest p95 {gpu_p95:.1f}%) for {hours / 24:.0f} days"
                ),
                facts=IdleGpuGroupFacts(
                    instance_type=itype, region=res.ref.region, min_size=int(a["min_size"]), desired_capacity=desired,
                    max_size=int(a["max_size"]), launch_template=a.get("launch_template"),
                    on_demand_percentage_above_base=int(a.get("on_demand_percentage_above_base", 100)),
                    on_demand_base_capacity=int(a.get("on_demand_base_capacity", 0)),
                    live_spot_price=snapshot.live_spot_prices.get(itype),
                    instances=len(ids), gpus=len(gpus), gpu_p95=round(gpu_p95, 2),
                    gpu_below_percent=settings.gpu_p95_max_percent,
                    gpu_namespaces=tuple(sorted({s.namespace for s in gpus})),
                    hours=hours, idle_share=round(idle_share, 3), measured_until=snapshot.taken_at,
                ),
                evidence=evidence,
            )
        )
    return findings

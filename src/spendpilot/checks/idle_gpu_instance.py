"""A GPU instance billed by the hour while its GPUs sit idle."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from spendpilot.actions.stop_instance import IdleMetric, StopInstanceFacts
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, MetricSeries, Snapshot
from spendpilot.domain.metrics import EC2_CPU as CPU
from spendpilot.domain.metrics import NVIDIA_GPU as GPU
from spendpilot.savings.pricebook import PriceBook


class IdleGpuFacts(StopInstanceFacts):
    """A stop whose case is idle GPUs: what was measured, over how long."""

    gpu_p95: float
    """The busiest GPU's p95: every other GPU of the instance was at or below it."""
    cpu_p95: float | None = None
    hours: float
    gpus: int = 1
    """How many GPU series (one per GPU) the case rests on."""


class IdleGpuSettings(BaseModel):
    enabled: bool = True
    gpu_p95_max_percent: float = Field(
        5.0, description="GPU utilisation (hourly average) at the 95th percentile must stay below this."
    )
    cpu_p95_max_percent: float = Field(
        10.0, description="CPU utilisation p95 must also stay below this (rules out CPU-bound jobs)."
    )
    min_history_hours: float = Field(
        72.0, description="Hours of GPU metrics required before calling an instance idle."
    )
    ignore_tag: str = Field("spendpilot:ignore", description="Instances with this tag are skipped.")


@register_check(
    "idle_gpu_instance",
    action_kind="stop_instance",
    settings=IdleGpuSettings,
    facts=IdleGpuFacts,
    description="Running GPU instances whose GPUs and CPUs stayed idle over the metric window.",
)
def find_idle_gpu_instances(
    snapshot: Snapshot, settings: IdleGpuSettings, prices: PriceBook
) -> list[Finding[IdleGpuFacts]]:
    findings: list[Finding[IdleGpuFacts]] = []
    for res in snapshot.of_kind("ec2_instance"):
        attrs = res.attributes
        if attrs.get("state") != "running" or settings.ignore_tag in res.tags:
            continue
        if attrs.get("autoscaling_group"):
            continue  # its group would replace it; group scale-to-zero is a separate check
        itype = attrs["instance_type"]
        if not prices.is_gpu(itype):
            continue
        gpus = snapshot.metrics_named(res.ref.id, GPU.name)
        # One series per GPU; an instance is idle only if every GPU is. A GPU without enough
        # history cannot be called idle, so neither can its instance.
        if not gpus or any(g.hours_covered() < settings.min_history_hours for g in gpus):
            continue
        p95s = [(g, g.percentile(95) or 0.0) for g in gpus]
        busiest, gpu_p95 = max(p95s, key=lambda gp: gp[1])
        if gpu_p95 >= settings.gpu_p95_max_percent:
            continue
        cpu = snapshot.metric(res.ref.id, CPU.name)
        cpu_p95 = cpu.percentile(95) if cpu else None
        if cpu_p95 is not None and cpu_p95 >= settings.cpu_p95_max_percent:
            continue
        idle_share = all_gpus_idle_share(gpus, settings.gpu_p95_max_percent)
        hours = max(g.hours_covered() for g in gpus)
        first: datetime = min(g.points[0].at for g in gpus)
        last: datetime = max(g.points[-1].at for g in gpus)
        cost_30d = snapshot.resource_costs_30d.get(res.ref.id)
        billed_hours = snapshot.resource_billed_hours_30d.get(res.ref.id)
        committed = snapshot.resource_commitment_share_30d.get(res.ref.id, 0.0)
        sources = ", ".join(sorted({f"{g.namespace}/{g.name}" for g in gpus}))
        evidence = [
            Evidence(
                label="GPU utilisation p95 (hourly average)",
                value=(
                    f"{gpu_p95:.1f}% over {hours:.0f} h ({first:%Y-%m-%d} to {last:%Y-%m-%d})"
                    + (f", the busiest of {len(gpus)} GPUs ({gpu_label(busiest)})" if len(gpus) > 1 else "")
                ),
                source=f"CloudWatch {sources}, one series per GPU",
            ),
            Evidence(
                label="GPUs, p95 each",
                value=", ".join(f"{gpu_label(g)} {p:.1f}%" for g, p in p95s)
                + f"; all below {settings.gpu_p95_max_percent:g}%",
                source=f"CloudWatch {sources}",
            ),
            Evidence(
                label="GPU idle share",
                value=f"{idle_share:.0%} of hours with every GPU below {settings.gpu_p95_max_percent:g}%",
                source=f"CloudWatch {sources}",
            ),
        ]
        if cpu_p95 is not None:
            evidence.append(
                Evidence(
                    label="CPU utilisation p95 (hourly average)",
                    value=f"{cpu_p95:.1f}%",
                    source=f"CloudWatch {CPU}",
                )
            )
        if cost_30d is not None:
            evidence.append(
                Evidence(
                    label="Effective cost, last 30 days",
                    value=f"{cost_30d}"
                    + (f" over {billed_hours / 24:.1f} billed days" if billed_hours else ""),
                    source="FOCUS lake: sum(EffectiveCost) by ResourceId",
                )
            )
        if committed:
            evidence.append(
                Evidence(
                    label="Covered by a commitment",
                    value=f"{committed:.0%} of its cost (reserved instance or Savings Plan)",
                    source="FOCUS lake: EffectiveCost of rows with a CommitmentDiscountId",
                )
            )
        # The GPU test is per GPU (the executor re-checks each GPU of the instance); one entry
        # per namespace the series came from, with the busiest GPU's p95 as what the sweep saw.
        idle_metrics = [
            IdleMetric(namespace=ns, metric=GPU.name, below_percent=settings.gpu_p95_max_percent,
                       observed_p95=round(max(p for g, p in p95s if g.namespace == ns), 2))
            for ns in sorted({g.namespace for g in gpus})
        ]
        if cpu_p95 is not None:
            idle_metrics.append(IdleMetric(namespace=CPU.namespace, metric=CPU.name, observed_p95=round(cpu_p95, 2),
                                           below_percent=settings.cpu_p95_max_percent))
        findings.append(
            Finding(
                resource=res,
                summary=(
                    f"{itype} '{res.ref.name or res.ref.id}' has had idle GPUs "
                    f"({'all ' + str(len(gpus)) + ', busiest ' if len(gpus) > 1 else ''}p95 {gpu_p95:.1f}%) "
                    f"for {hours / 24:.0f} days"
                ),
                facts=IdleGpuFacts(
                    instance_type=itype,
                    region=res.ref.region,
                    gpu_p95=round(gpu_p95, 2),
                    cpu_p95=round(cpu_p95, 2) if cpu_p95 is not None else None,
                    idle_share=round(idle_share, 3),
                    idle_basis="its GPUs",
                    hours=hours,
                    gpus=len(gpus),
                    # What the executor re-checks before stopping it (actions/stop_instance.py),
                    # on datapoints after the end of this sweep's measurement.
                    idle_metrics=tuple(idle_metrics),
                    measured_until=snapshot.taken_at,
                    cost_30d=cost_30d,
                    billed_hours_30d=billed_hours,
                    commitment_share=round(committed, 4),
                ),
                evidence=evidence,
            )
        )
    return findings


def gpu_label(series: MetricSeries) -> str:
    index = series.dimensions.get("index")
    return f"GPU {index}" if index is not None else "GPU"


def all_gpus_idle_share(gpus: list[MetricSeries], threshold: float) -> float:
    """Share of measured hours in which every GPU was below ``threshold``.

    Per hour, the instance is as busy as its busiest GPU; an hour only one GPU reported counts
    with that GPU alone.
    """
    busiest: dict[datetime, float] = {}
    for g in gpus:
        for p in g.points:
            busiest[p.at] = max(busiest.get(p.at, 0.0), p.value)
    if not busiest:
        return 0.0
    return sum(1 for v in busiest.values() if v < threshold) / len(busiest)

"""Scale an Auto Scaling group of idle GPU instances to zero; rollback restores min/desired/max.

Setting min and desired capacity to 0 ends every instance of the group (their instance-store and
root volumes go with them, as on any scale-in); the launch template and the group stay, so the
rollback sets the three numbers back and the group launches the same instances again. Max stays
as it was, so a scaling policy or an owner can still bring capacity back when work arrives.

Like a stop, the case is a measurement, and the approval may come days later: before applying,
every GPU of every instance now in the group is read again, for the hours since the sweep only,
and one GPU whose p95 reached the threshold is drift (a job started). No datapoints since the
sweep is not evidence of work (the same rule as ``stop_instance``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, Field

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk
from spendpilot.domain.metrics import HOURLY
from spendpilot.domain.metrics import NVIDIA_GPU as GPU

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter

IDLE_GPUS = "idle_gpus"
"""The ``preconditions`` key of the idle assumption."""


class IdleGpuGroupFacts(Facts):
    """An Auto Scaling group whose every GPU was idle over the sweep's window."""

    instance_type: str
    region: str | None = None
    min_size: int = Field(ge=0)
    desired_capacity: int = Field(gt=0)
    max_size: int = Field(ge=0)
    launch_template: str | None = None
    on_demand_percentage_above_base: int = Field(100, ge=0, le=100)
    on_demand_base_capacity: int = Field(0, ge=0)
    live_spot_price: Decimal | None = None
    instances: int = Field(ge=1)
    gpus: int = Field(ge=1, description="GPU series (one per GPU) across the group's instances.")
    gpu_p95: float
    """The busiest GPU's p95 in the whole group."""
    gpu_below_percent: float
    gpu_namespaces: tuple[str, ...] = ("CWAgent",)
    hours: float
    idle_share: float = Field(ge=0, le=1)
    measured_until: AwareDatetime


@register_action("scale_group_to_zero")
class ScaleGroupToZero(Action[IdleGpuGroupFacts]):
    facts_model = IdleGpuGroupFacts
    permissions = (
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:UpdateAutoScalingGroup",
        "ec2:DescribeInstances",
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
    )
    resources = ("arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*",)
    """UpdateAutoScalingGroup takes resource-level permissions: the group's ARN."""

    def risk(self, finding: Finding[IdleGpuGroupFacts]) -> Risk:
        env = finding.resource.tags.get("env", "").lower()
        return Risk.HIGH if env in ("prod", "production") else Risk.MEDIUM

    def build_plan(self, finding: Finding[IdleGpuGroupFacts]) -> ActionPlan:
        res, f = finding.resource, finding.facts
        where = res.ref.location() or "its account and region"
        sizes = {"min_size": f.min_size, "desired_capacity": f.desired_capacity, "max_size": f.max_size}
        zero = {"min_size": 0, "desired_capacity": 0, "max_size": f.max_size}
        fixed = {"launch_template": f.launch_template}
        rollback = ActionPlan(
            action=self.kind, target=res.ref, change=sizes, expected_pre_state={**zero, **fixed},
            rollback_description=f"Scale group '{res.ref.id}' to zero again.",
            description=f"Auto Scaling group '{res.ref.id}' ({where}): set min {f.min_size}, desired "
            f"{f.desired_capacity}, max {f.max_size} again; the group launches {f.desired_capacity} x {f.instance_type}.",
            permissions=list(self.permissions),
        )
        return ActionPlan(
            action=self.kind, target=res.ref, change=zero, expected_pre_state={**sizes, **fixed},
            rollback=rollback,
            rollback_description=f"Set min {f.min_size} / desired {f.desired_capacity} / max {f.max_size} back "
            "(`spendpilot rollback`); the group launches its instances again from its launch template.",
            description=(
                f"Scale Auto Scaling group '{res.ref.id}' ({where}) to zero: min 0, desired 0 (from "
                f"{f.desired_capacity} x {f.instance_type}), max stays {f.max_size}. Its instances are terminated."
            ),
            permissions=list(self.permissions),
            preconditions={IDLE_GPUS: {
                "measured_until": f.measured_until.isoformat(), "below_percent": f.gpu_below_percent,
                "percentile": 95, "namespaces": list(f.gpu_namespaces), "sweep_observed": f.gpu_p95,
            }},
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        aws: AwsAdapter = ctx.target(target)
        group = aws.autoscaling.describe_group(target.id)
        if group is None:
            return None
        a = group.attributes
        return {
            "min_size": a["min_size"], "desired_capacity": a["desired_capacity"], "max_size": a["max_size"],
            "launch_template": a["launch_template"],
        }

    def evidence_differences(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, tuple[Any, Any]]:
        """Any GPU of any instance now in the group busy since the sweep: drift, named by both."""
        idle = plan.preconditions.get(IDLE_GPUS)
        if not idle:
            return {}
        since = datetime.fromisoformat(idle["measured_until"])
        now = ctx.now()
        if now <= since:
            return {}
        aws: AwsAdapter = ctx.target(plan.target)
        group = aws.autoscaling.describe_group(plan.target.id)
        ids = list(group.attributes["instance_ids"]) if group else []
        if not ids:
            return {}
        hosts = {}
        for iid in ids:
            inst = aws.ec2.describe_instance(iid)
            hosts[iid] = inst.attributes.get("private_dns_name") if inst else None
        gpus = aws.cloudwatch.discover_gpu_series(hosts, namespaces=idle["namespaces"]).by_instance
        found = aws.cloudwatch.instance_utilisation(ids, start=since, end=now, period_seconds=HOURLY, gpu=gpus)
        differences: dict[str, tuple[Any, Any]] = {}
        for iid, series in found.items():
            for s in series:
                if s.name != GPU.name:
                    continue
                p = s.percentile(idle["percentile"])
                if p is not None and p >= idle["below_percent"]:
                    gpu = f"GPU {s.dimensions['index']}" if "index" in s.dimensions else "GPU"
                    differences[f"{iid} {gpu} p{idle['percentile']} since {since:%Y-%m-%d %H:%M} UTC"] = (
                        f"below {idle['below_percent']:g}% (the sweep saw at most {idle['sweep_observed']:g}%)",
                        f"{p:.1f}%",
                    )
        return differences

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        aws: AwsAdapter = ctx.target(plan.target)
        c = plan.change
        aws.autoscaling.set_capacity(
            plan.target.id, min_size=c["min_size"], desired_capacity=c["desired_capacity"], max_size=c["max_size"],
        )
        return {"updated": plan.target.id, **c}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        return state is not None and all(state.get(k) == v for k, v in plan.change.items())

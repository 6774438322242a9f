"""On-demand capacity in an Auto Scaling group whose workload tolerates interruption."""

from __future__ import annotations

from pydantic import BaseModel, Field

from spendpilot.actions.switch_to_spot import SpotFacts
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.savings.pricebook import PriceBook


class SpotCandidateSettings(BaseModel):
    enabled: bool = True
    interruptible_workloads: list[str] = Field(
        default_factory=lambda: ["batch", "training", "ci", "worker", "stateless", "queue"],
        description="Values of the workload tag that mark interruption-tolerant groups.",
    )
    workload_tag: str = Field("workload", description="Tag naming the group's kind of workload.")
    min_instances: int = Field(2, description="Only groups at least this large (spreads interruptions).")
    deny_tag: str = Field("spendpilot:no-spot", description="Groups with this tag are skipped.")
    target_on_demand_percentage: int = Field(
        0, description="On-demand share above base capacity the plan moves the group to."
    )


@register_check(
    "spot_candidate",
    action_kind="switch_to_spot",
    settings=SpotCandidateSettings,
    facts=SpotFacts,
    description="Auto Scaling groups running interruption-tolerant work fully on demand.",
)
def find_spot_candidates(
    snapshot: Snapshot, settings: SpotCandidateSettings, prices: PriceBook
) -> list[Finding[SpotFacts]]:
    findings: list[Finding[SpotFacts]] = []
    for res in snapshot.of_kind("autoscaling_group"):
        attrs = res.attributes
        workload = res.tags.get(settings.workload_tag, "").lower()
        if settings.deny_tag in res.tags or workload not in settings.interruptible_workloads:
            continue
        desired = int(attrs.get("desired_capacity") or 0)
        od_pct = int(attrs.get("on_demand_percentage_above_base", 100))
        base = int(attrs.get("on_demand_base_capacity", 0))
        itype = attrs.get("instance_type")
        if desired < settings.min_instances or od_pct <= settings.target_on_demand_percentage:
            continue
        if not itype:
            continue
        movable = max(0, desired - base) * (od_pct - settings.target_on_demand_percentage) / 100
        if movable <= 0:
            continue
        live = snapshot.live_spot_prices.get(itype)
        findings.append(
            Finding(
                resource=res,
                summary=(
                    f"group '{res.ref.name}' runs {desired} x {itype} {od_pct}% on demand "
                    f"for '{workload}' work that tolerates interruption"
                ),
                facts=SpotFacts(
                    instance_type=itype,
                    region=res.ref.region,
                    desired_capacity=desired,
                    on_demand_percentage_above_base=od_pct,
                    on_demand_base_capacity=base,
                    movable_instances=movable,
                    target_on_demand_percentage=settings.target_on_demand_percentage,
                    launch_template=attrs.get("launch_template"),
                    spot_allocation_strategy=attrs.get("spot_allocation_strategy"),
                    live_spot_price=live,
                ),
                evidence=[
                    Evidence(
                        label="Purchase split",
                        value=f"{od_pct}% on demand above a base of {base}; desired {desired}",
                        source="Auto Scaling DescribeAutoScalingGroups",
                    ),
                    Evidence(
                        label="Workload",
                        value=f"{settings.workload_tag}={workload}",
                        source="group tags",
                    ),
                ],
            )
        )
    return findings

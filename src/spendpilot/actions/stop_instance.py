"""Stop an instance. Its EBS volumes and configuration stay; starting it again is the rollback.

The case for stopping is a measurement (utilisation stayed idle over the sweep's window), and
the approval may come days later. So the plan records what it assumed in ``preconditions``:
which metrics, the percentile and the threshold, what the sweep saw, and the instant its
measurement ended. Before applying, ``evidence_differences`` applies the same test (p95 of hourly
averages below the threshold) to the datapoints *since* that instant only: those hours were
never judged, and re-judging older ones could disagree with the sweep on the same data.

GPU utilisation is one series per GPU (adapters/aws/cloudwatch.py), and the test is per GPU:
any GPU whose p95 since the sweep reached the threshold is drift, named by its index. The
re-check finds the instance's GPU series again (ListMetrics, by ``InstanceId`` or by ``host`` ==
its private DNS name) rather than trusting the dimensions the sweep saw, so an agent restarted
with other ``append_dimensions`` is still read.

A metric with no datapoints since the sweep does not block: a stopped CloudWatch agent or a
short gap is not evidence of work, and treating it as such would make every approval within the
first minutes after a sweep drift. It is logged as a warning, and ``apply`` records what the
re-check saw (including "no datapoints") in its result, which goes to the ledger and audit log.
The warning is reserved for silences long enough to mean an agent is not reporting; a quick
approval, minutes after the sweep, is only logged at info level.

The window ends when the re-check runs. GetMetricData takes that end in whole seconds (the
emulator drops the fraction) and agents publish late (every minute, then ingestion), so the last
moments before an approval may not be visible yet; a GPU busy since the sweep has datapoints all
through the window, and those are what is judged.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.actions.budget_guard import BudgetGuard, budget_differences, budget_preconditions
from spendpilot.domain import ActionPlan, Facts, Finding, MetricSeries, Money, ResourceRef, Risk
from spendpilot.domain.metrics import HOURLY, NVIDIA_GPU
from spendpilot.errors import AdapterError

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter

log = logging.getLogger(__name__)

IDLE = "idle_utilisation"
"""The ``preconditions`` key of the idle assumption."""
_PERCENTILE = 95
_MIN_WINDOW = timedelta(seconds=1)
"""CloudWatch (and moto) refuse an empty window; anything shorter holds no datapoint."""
_SILENCE_WORTH_A_WARNING = timedelta(minutes=15)
"""An agent reports every minute or so; no datapoint for this long means it is not reporting."""


class IdleMetric(BaseModel):
    """One measurement a stop rests on: the metric's p95 stayed below a threshold."""

    model_config = ConfigDict(frozen=True)

    namespace: str
    metric: str
    observed_p95: float
    below_percent: float


class StopInstanceFacts(Facts):
    """What stopping an instance needs to be planned, estimated and re-checked."""

    instance_type: str
    region: str | None = None
    idle_share: float = Field(1.0, ge=0, le=1, description="Share of measured hours the instance was idle.")
    idle_basis: str = Field("the instance", description="What was idle, for the estimate's wording.")
    idle_metrics: tuple[IdleMetric, ...] = ()
    """Re-checked before the stop; empty when the case does not rest on utilisation."""
    measured_until: AwareDatetime | None = None
    """When the sweep's measurement ended; the re-check looks only at datapoints after it."""
    cost_30d: Money | None = None
    billed_hours_30d: float | None = None
    commitment_share: float = Field(0.0, ge=0, le=1)
    reason: str | None = None
    """Why stop, when the case is not idleness (e.g. a budget's kill switch); stated in the estimate."""
    budget_guard: BudgetGuard | None = None
    """The budget a kill-switch stop rests on; re-checked (still over?) before the stop."""


    @model_validator(mode="after")
    def _measured_when(self) -> StopInstanceFacts:
        if self.idle_metrics and self.measured_until is None:
            raise ValueError("idle_metrics need measured_until: the re-check starts where the sweep stopped")
        return self


def idle_preconditions(facts: StopInstanceFacts) -> dict[str, Any]:
    """What a stop rests on: each measured metric's p95 stayed below its threshold."""
    if not facts.idle_metrics or facts.measured_until is None:
        return {}
    return {
        IDLE: {
            "measured_until": facts.measured_until.isoformat(),
            "period_seconds": HOURLY,
            "statistic": "Average",
            "metrics": [
                {
                    "namespace": m.namespace, "metric": m.metric, "percentile": _PERCENTILE,
                    "below_percent": m.below_percent, "sweep_observed": m.observed_p95,
                    **({"each": "gpu"} if _per_gpu(m.metric) else {}),
                }
                for m in facts.idle_metrics
            ],
        }
    }


@register_action("stop_instance")
class StopInstance(Action[StopInstanceFacts]):
    facts_model = StopInstanceFacts
    permissions = (
        "ec2:DescribeInstances",
        "ec2:StopInstances",
        "ec2:StartInstances",
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
    )

    def risk(self, finding: Finding[StopInstanceFacts]) -> Risk:
        env = finding.resource.tags.get("env", "").lower()
        return Risk.HIGH if env in ("prod", "production") else Risk.LOW

    def build_plan(self, finding: Finding[StopInstanceFacts]) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        tags = dict(sorted(res.tags.items()))
        label = f"{res.ref.id} ({res.ref.name or 'unnamed'}, {facts.instance_type})"
        rollback = ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"state": "running"},
            expected_pre_state={"state": "stopped", "instance_type": facts.instance_type, "tags": tags},
            rollback_description=f"Stop instance {res.ref.id} again.",
            description=f"Start EC2 instance {label} again.",
            permissions=list(self.permissions),
        )
        return ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"state": "stopped"},
            expected_pre_state={"state": "running", "instance_type": facts.instance_type, "tags": tags},
            rollback=rollback,
            rollback_description=f"Start instance {res.ref.id} again (`spendpilot rollback`).",
            description=f"Stop EC2 instance {label}.",
            permissions=list(self.permissions),
            preconditions=idle_preconditions(facts) | budget_preconditions(facts.budget_guard),
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        aws: AwsAdapter = ctx.target(target)
        inst = aws.ec2.describe_instance(target.id)
        if inst is None:
            return None
        return {
            "state": inst.attributes["state"],
            "instance_type": inst.attributes["instance_type"],
            "tags": dict(sorted(inst.tags.items())),
        }

    def evidence_differences(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, tuple[Any, Any]]:
        return budget_differences(ctx, plan.preconditions) | self._idle_differences(ctx, plan)

    def _idle_differences(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, tuple[Any, Any]]:
        idle = plan.preconditions.get(IDLE)
        if not idle:
            return {}
        since = datetime.fromisoformat(idle["measured_until"])
        differences: dict[str, tuple[Any, Any]] = {}
        for assumed, gpu, series in _recheck(ctx, plan.target, idle):
            which = f" {gpu}" if gpu else ""
            label = (
                f"{assumed['namespace']}/{assumed['metric']}{which} p{assumed['percentile']} "
                f"since {since:%Y-%m-%d %H:%M} UTC"
            )
            now = series.percentile(assumed["percentile"]) if series else None
            if now is None:
                silent_for = ctx.now() - since
                log.log(
                    logging.WARNING if silent_for >= _SILENCE_WORTH_A_WARNING else logging.INFO,
                    "%s: no %s datapoints in the %s since the sweep; not counted as busy, the "
                    "sweep's evidence stands", plan.target.id, assumed["metric"], _duration(silent_for),
                )
            elif now >= assumed["below_percent"]:
                saw = "the sweep saw at most" if gpu else "the sweep saw"
                differences[label] = (
                    f"below {assumed['below_percent']:g}% ({saw} {assumed['sweep_observed']:g}%)",
                    f"{now:.1f}% ({_hours(series)})",
                )
        return differences

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        aws: AwsAdapter = ctx.target(plan.target)
        result: dict[str, Any] = {}
        if plan.change.get("state") == "running":
            result["state_after_call"] = aws.ec2.start_instance(plan.target.id)
            return result
        idle = plan.preconditions.get(IDLE)
        if idle:
            result["evidence_at_apply"] = _describe_recheck(ctx, plan.target, idle)
        result["state_after_call"] = aws.ec2.stop_instance(plan.target.id)
        return result

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        wanted = ("pending", "running") if plan.change.get("state") == "running" else ("stopping", "stopped")
        return state is not None and state.get("state") in wanted


def _per_gpu(metric: str) -> bool:
    """GPU utilisation comes as one series per GPU, whatever namespace the agent publishes to."""
    return metric == NVIDIA_GPU.name


def _recheck(
    ctx: ActionContext, target: ResourceRef, idle: dict[str, Any]
) -> list[tuple[dict[str, Any], str | None, MetricSeries | None]]:
    """Each assumed metric with its hourly averages since the sweep (None: no datapoints).

    A per-GPU metric yields one row per GPU with datapoints (the second item names it, e.g.
    "GPU 3"), or a single ``(metric, None, None)`` row when no GPU reported since the sweep.
    """
    since = datetime.fromisoformat(idle["measured_until"])
    now = ctx.now()
    metrics: list[dict[str, Any]] = idle["metrics"]
    if now - since < _MIN_WINDOW:
        return [(m, None, None) for m in metrics]
    aws: AwsAdapter = ctx.target(target)
    gpu_namespaces = [m["namespace"] for m in metrics if _per_gpu(m["metric"])]
    gpus: dict[str, Any] = {}
    if gpu_namespaces:
        inst = aws.ec2.describe_instance(target.id)
        dns = inst.attributes.get("private_dns_name") if inst else None
        gpus = aws.cloudwatch.discover_gpu_series({target.id: dns}, namespaces=gpu_namespaces).by_instance
    found = aws.cloudwatch.instance_utilisation(
        [target.id], start=since, end=now, period_seconds=int(idle["period_seconds"]), gpu=gpus,
    )[target.id]
    rows: list[tuple[dict[str, Any], str | None, MetricSeries | None]] = []
    for m in metrics:
        mine = [s for s in found if (s.namespace, s.name) == (m["namespace"], m["metric"])]
        if not _per_gpu(m["metric"]):
            rows.append((m, None, mine[0] if mine else None))
        elif not mine:
            rows.append((m, None, None))
        else:
            rows.extend((m, _gpu_name(s), s) for s in mine)
    return rows


def _gpu_name(series: MetricSeries) -> str:
    index = series.dimensions.get("index")
    return f"GPU {index}" if index is not None else "GPU"


def _describe_recheck(ctx: ActionContext, target: ResourceRef, idle: dict[str, Any]) -> dict[str, str]:
    """For the ledger: what each assumed metric looked like since the sweep, as the stop went out.

    Per-GPU metrics are summarised in one entry: the busiest GPU and how many reported.
    """
    try:
        rechecked = _recheck(ctx, target, idle)
    except AdapterError as exc:  # the record is informative; the evidence check already passed
        return {"error": str(exc)}
    out: dict[str, str] = {}
    by_metric: dict[str, list[tuple[dict[str, Any], str | None, MetricSeries | None]]] = {}
    for row in rechecked:
        by_metric.setdefault(f"{row[0]['namespace']}/{row[0]['metric']}", []).append(row)
    for key, rows in by_metric.items():
        m = rows[0][0]
        measured: list[tuple[str | None, MetricSeries, float]] = []
        for _, gpu, s in rows:
            p = s.percentile(m["percentile"]) if s is not None else None
            if s is not None and p is not None:
                measured.append((gpu, s, p))
        if not measured:
            out[key] = f"no datapoints since {idle['measured_until']} (not counted as busy)"
            continue
        gpu, series, p = max(measured, key=lambda r: r[2])
        of = f"{gpu}, the busiest of {len(measured)} reporting, " if gpu and len(measured) > 1 else ""
        out[key] = (
            f"{of}p{m['percentile']} {p:.1f}% ({_hours(series)}) since {idle['measured_until']}, "
            f"threshold {m['below_percent']:g}%"
        )
    return out


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _hours(series: MetricSeries | None) -> str:
    n = len(series.points) if series else 0
    return f"{n} hourly average{'s' if n != 1 else ''}"

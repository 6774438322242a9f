"""Stop an instance. Its EBS volumes and configuration stay; starting it again is the rollback.

The case for stopping is a measurement (utilisation stayed idle over the sweep's window), and
the approval may come days later. So the plan records what it assumed in ``preconditions``:
which metrics, the percentile and the threshold, what the sweep saw, and the instant its
measurement ended. Before applying, ``evidence_differences`` applies the same test (p95 of hourly
averages below the threshold) to the datapoints *since* that instant only: those hours were
never judged, and re-judging older ones could disagree with the sweep on the same data.

A metric with no datapoints since the sweep does not block: a stopped CloudWatch agent or a
short gap is not evidence of work, and treating it as such would make every approval within the
first minutes after a sweep drift. It is logged as a warning, and ``apply`` records what the
re-check saw (including "no datapoints") in its result, which goes to the ledger and audit log.
The warning is reserved for silences long enough to mean an agent is not reporting; a quick
approval, minutes after the sweep, is only logged at info level.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from spendpilot.actions.base import Action, register_action
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.aws.cloudwatch import CPU, GPU, HOURLY
from spendpilot.checks.idle_gpu_instance import IdleGpuSettings
from spendpilot.domain import ActionPlan, Finding, MetricSeries, ResourceRef, Risk, utcnow
from spendpilot.errors import AdapterError

log = logging.getLogger(__name__)

IDLE = "idle_utilisation"
"""The ``preconditions`` key of the idle assumption."""
_PERCENTILE = 95
_MIN_WINDOW = timedelta(seconds=1)
"""CloudWatch (and moto) refuse an empty window; anything shorter holds no datapoint."""
_SILENCE_WORTH_A_WARNING = timedelta(minutes=15)
"""An agent reports every minute or so; no datapoint for this long means it is not reporting."""
# (namespace, metric), the finding's fact with the observed p95, the fact/setting with the threshold
_IDLE_METRICS = ((GPU, "gpu_p95", "gpu_p95_max_percent"), (CPU, "cpu_p95", "cpu_p95_max_percent"))


def idle_preconditions(finding: Finding, built_at: datetime | None = None) -> dict[str, Any]:
    """What a stop rests on: each measured metric's p95 stayed below its threshold.

    Thresholds and the end of the measurement come from the finding's facts
    (``gpu_p95_max_percent``, ``cpu_p95_max_percent``, ``measured_until``). Findings that do not
    state them fall back to the ``idle_gpu_instance`` defaults and to ``built_at`` (the plan is
    built in the sweep that measured, moments after the metrics were read); ``threshold_source``
    says which applied.
    """
    facts = finding.facts
    defaults = IdleGpuSettings() if finding.rule == "idle_gpu_instance" else None
    metrics: list[dict[str, Any]] = []
    for (namespace, name), observed_key, threshold_key in _IDLE_METRICS:
        observed = facts.get(observed_key)
        threshold = facts.get(threshold_key)
        source = "finding"
        if threshold is None and defaults is not None:
            threshold, source = getattr(defaults, threshold_key), f"{finding.rule} default"
        if observed is None or threshold is None:
            continue
        metrics.append(
            {
                "namespace": namespace,
                "metric": name,
                "percentile": _PERCENTILE,
                "below_percent": float(threshold),
                "threshold_source": source,
                "sweep_observed": float(observed),
            }
        )
    if not metrics:
        return {}
    measured_until = facts.get("measured_until") or (built_at or utcnow()).isoformat()
    return {
        IDLE: {
            "measured_until": str(measured_until),
            "period_seconds": HOURLY,
            "statistic": "Average",
            "metrics": metrics,
        }
    }


@register_action
class StopInstance(Action):
    kind = "stop_instance"
    permissions = (
        "ec2:DescribeInstances",
        "ec2:StopInstances",
        "ec2:StartInstances",
        "cloudwatch:GetMetricData",
    )

    def risk(self, finding: Finding) -> Risk:
        env = finding.resource.tags.get("env", "").lower()
        return Risk.HIGH if env in ("prod", "production") else Risk.LOW

    def build_plan(self, finding: Finding) -> ActionPlan:
        res = finding.resource
        return ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"state": "stopped"},
            expected_pre_state={
                "state": "running",
                "instance_type": res.attributes["instance_type"],
                "tags": dict(sorted(res.tags.items())),
            },
            rollback={"action": "start_instance", "instance_id": res.ref.id},
            rollback_description=f"Start instance {res.ref.id} again (aws ec2 start-instances).",
            description=f"Stop EC2 instance {res.ref.id} ({res.ref.name or 'unnamed'}, "
            f"{res.attributes['instance_type']}).",
            permissions=list(self.permissions),
            preconditions=idle_preconditions(finding),
        )

    def read_state(self, aws: AwsAdapter, target: ResourceRef) -> dict[str, Any] | None:
        inst = aws.ec2.describe_instance(target.id)
        if inst is None:
            return None
        return {
            "state": inst.attributes["state"],
            "instance_type": inst.attributes["instance_type"],
            "tags": dict(sorted(inst.tags.items())),
        }

    def evidence_differences(self, aws: AwsAdapter, plan: ActionPlan) -> dict[str, tuple[Any, Any]]:
        idle = plan.preconditions.get(IDLE)
        if not idle:
            return {}
        since = datetime.fromisoformat(idle["measured_until"])
        differences: dict[str, tuple[Any, Any]] = {}
        for assumed, series in _recheck(aws, plan.target.id, idle):
            label = f"{assumed['namespace']}/{assumed['metric']} p{assumed['percentile']} since {since:%Y-%m-%d %H:%M} UTC"
            now = series.percentile(assumed["percentile"]) if series else None
            if now is None:
                silent_for = utcnow() - since
                log.log(
                    logging.WARNING if silent_for >= _SILENCE_WORTH_A_WARNING else logging.INFO,
                    "%s: no %s datapoints in the %s since the sweep; not counted as busy, the "
                    "sweep's evidence stands", plan.target.id, assumed["metric"], _duration(silent_for),
                )
            elif now >= assumed["below_percent"]:
                differences[label] = (
                    f"below {assumed['below_percent']:g}% (the sweep saw {assumed['sweep_observed']:g}%)",
                    f"{now:.1f}% ({_hours(series)})",
                )
        return differences

    def apply(self, aws: AwsAdapter, plan: ActionPlan) -> dict[str, Any]:
        result: dict[str, Any] = {}
        idle = plan.preconditions.get(IDLE)
        if idle:
            result["evidence_at_apply"] = _describe_recheck(aws, plan.target.id, idle)
        result["state_after_call"] = aws.ec2.stop_instance(plan.target.id)
        return result

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        return state is not None and state.get("state") in ("stopping", "stopped")


def _recheck(
    aws: AwsAdapter, instance_id: str, idle: dict[str, Any]
) -> list[tuple[dict[str, Any], MetricSeries | None]]:
    """Each assumed metric with its hourly averages since the sweep (None: no datapoints)."""
    since = datetime.fromisoformat(idle["measured_until"])
    now = utcnow()
    metrics: list[dict[str, Any]] = idle["metrics"]
    if now - since < _MIN_WINDOW:
        return [(m, None) for m in metrics]
    wants_gpu = any((m["namespace"], m["metric"]) == GPU for m in metrics)
    found = aws.cloudwatch.instance_utilisation(
        [instance_id], start=since, end=now, period_seconds=int(idle["period_seconds"]),
        include_gpu={instance_id} if wants_gpu else set(),
    )[instance_id]
    by_metric = {(s.namespace, s.name): s for s in found}
    return [(m, by_metric.get((m["namespace"], m["metric"]))) for m in metrics]


def _describe_recheck(aws: AwsAdapter, instance_id: str, idle: dict[str, Any]) -> dict[str, str]:
    """For the ledger: what each assumed metric looked like since the sweep, as the stop went out."""
    try:
        rechecked = _recheck(aws, instance_id, idle)
    except AdapterError as exc:  # the record is informative; the evidence check already passed
        return {"error": str(exc)}
    out: dict[str, str] = {}
    for m, series in rechecked:
        p = series.percentile(m["percentile"]) if series else None
        out[f"{m['namespace']}/{m['metric']}"] = (
            f"no datapoints since {idle['measured_until']} (not counted as busy)"
            if p is None
            else f"p{m['percentile']} {p:.1f}% ({_hours(series)}) since {idle['measured_until']}, "
            f"threshold {m['below_percent']:g}%"
        )
    return out


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _hours(series: MetricSeries | None) -> str:
    n = len(series.points) if series else 0
    return f"{n} hourly average{'s' if n != 1 else ''}"

"""Delete an idle SageMaker real-time endpoint, keeping its endpoint config (and model).

An endpoint bills every instance of every instance-backed variant by the hour until it is
deleted; there is no "stop". Deleting it leaves the endpoint config and the model in place, and
an endpoint config cannot be edited once created, so ``CreateEndpoint`` with the same name and
config name brings back exactly what ran: that is the rollback. It takes minutes (the endpoint is
``Creating`` first), and callers get errors until it is ``InService`` again.

Before deleting, the executor compares the endpoint with what the sweep saw: status, the config
it runs (an ``UpdateEndpoint`` to another config is a change of configuration), each variant's
instance type and current count, and the tags. Then ``evidence_differences`` counts the
``Invocations`` made *since the sweep's measurement ended* on every variant: more than the check
allowed over its whole window is drift, and nothing is deleted. Unlike the CloudWatch agent's
GPU series, no datapoint here is a reading (SageMaker publishes nothing for an hour without
requests), so silence is zero invocations.

The rollback re-checks the other way: the kept endpoint config must still exist with the same
variants and instance types (someone may have deleted it since), or recreating would fail or
bring back something else. It recreates the config's *initial* instance count; a count that
autoscaling had changed comes back once the scaling policy acts again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.adapters.aws.sagemaker import ABSENT, invocations_since
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk
from spendpilot.domain.metrics import SAGEMAKER_INVOCATIONS
from spendpilot.errors import AdapterError

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter

NO_INVOCATIONS = "no_invocations"
"""The ``preconditions`` key of the forward plan: at most N invocations since the sweep."""
KEPT_CONFIG = "kept_endpoint_config"
"""The ``preconditions`` key of the rollback: the endpoint config it recreates from."""
_MIN_WINDOW = timedelta(seconds=1)
_GONE = (ABSENT, "Deleting")
_BACK = ("Creating", "InService")


class EndpointVariant(BaseModel):
    """One production variant as it runs: its instance type (None: serverless) and count."""

    model_config = ConfigDict(frozen=True)

    variant: str
    instance_type: str | None = None
    instance_count: int = Field(0, ge=0)


class DeleteEndpointFacts(Facts):
    """What deleting an endpoint needs to be planned, estimated, re-checked and undone."""

    endpoint_config_name: str
    variants: tuple[EndpointVariant, ...]
    region: str | None = None
    invocations: int = Field(0, ge=0, description="Invocations the sweep counted, all variants, over the window.")
    max_invocations: int = Field(0, ge=0, description="The most invocations still called idle, since the sweep too.")
    window_hours: float = Field(..., gt=0, description="Hours the endpoint was watched (its instances reported).")
    measured_until: AwareDatetime
    """When the sweep's measurement ended; the re-check counts invocations after it."""


def _variants(variants: Any) -> list[dict[str, Any]]:
    rows = [EndpointVariant.model_validate(v).model_dump() for v in variants]
    return sorted(rows, key=lambda v: v["variant"])


@register_action("delete_sagemaker_endpoint")
class DeleteSageMakerEndpoint(Action[DeleteEndpointFacts]):
    facts_model = DeleteEndpointFacts
    permissions = (
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:ListTags",
        "sagemaker:DeleteEndpoint",
        "sagemaker:CreateEndpoint",
        "sagemaker:AddTags",
        "cloudwatch:GetMetricData",
    )
    # IAM scopes the SageMaker calls to endpoints and endpoint configs (CreateEndpoint is
    # authorised on both; AddTags is what CreateEndpoint's Tags need). GetMetricData has no
    # resource-level permissions, and it is in the read-only statement already.
    resources = ("arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*")

    def risk(self, finding: Finding[DeleteEndpointFacts]) -> Risk:
        env = finding.resource.tags.get("env", "").lower()
        return Risk.HIGH if env in ("prod", "production") else Risk.MEDIUM

    def build_plan(self, finding: Finding[DeleteEndpointFacts]) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        name, config = res.ref.id, facts.endpoint_config_name
        tags = dict(sorted(res.tags.items()))
        variants = _variants(facts.variants)
        shape = ", ".join(
            f"{v['instance_count']} x {v['instance_type']}" for v in variants if v["instance_type"]
        ) or "serverless"
        arn = res.attributes.get("arn") or f"endpoint/{name}"
        rollback = ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"endpoint": "created", "endpoint_config_name": config, "tags": tags},
            expected_pre_state={"status": ABSENT},
            rollback_description=f"Delete endpoint {name} again (its config {config} stays).",
            description=f"Recreate SageMaker endpoint {name} from its kept endpoint config {config} ({shape}).",
            permissions=list(self.permissions),
            preconditions={KEPT_CONFIG: {"name": config, "variants": variants}},
        )
        return ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"endpoint": "deleted", "keep_endpoint_config": config},
            expected_pre_state={
                "status": "InService", "endpoint_config_name": config, "variants": variants, "tags": tags,
            },
            rollback=rollback,
            rollback_description=(
                f"Recreate endpoint {name} from endpoint config {config} (`spendpilot rollback`); "
                "it serves again once InService, minutes later."
            ),
            description=f"Delete SageMaker endpoint {name} ({shape}; {arn}), keeping endpoint config {config}.",
            permissions=list(self.permissions),
            preconditions={
                NO_INVOCATIONS: {
                    "measured_until": facts.measured_until.isoformat(),
                    "variants": [v["variant"] for v in variants],
                    "at_most": facts.max_invocations,
                    "sweep_counted": facts.invocations,
                    "window_hours": facts.window_hours,
                }
            },
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        """The endpoint as the plans talk about it; ``{"status": "Absent"}`` when it does not exist
        (the rollback expects exactly that, so absence is a state here, not "gone")."""
        aws: AwsAdapter = ctx.target(target)
        ep = aws.sagemaker.describe_endpoint(target.id)
        if ep is None:
            return {"status": ABSENT}
        return {
            "status": ep.attributes["status"],
            "endpoint_config_name": ep.attributes["endpoint_config_name"],
            "variants": _variants(ep.attributes["variants"]),
            "tags": dict(sorted(ep.tags.items())),
        }

    def evidence_differences(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, tuple[Any, Any]]:
        if KEPT_CONFIG in plan.preconditions:
            return _kept_config_differences(ctx, plan)
        assumed = plan.preconditions.get(NO_INVOCATIONS)
        if not assumed:
            return {}
        since = datetime.fromisoformat(assumed["measured_until"])
        counted = _invocations_since_sweep(ctx, plan.target, assumed)
        total = sum(counted.values())
        if total <= assumed["at_most"]:
            return {}
        label = f"{SAGEMAKER_INVOCATIONS} since {since:%Y-%m-%d %H:%M} UTC"
        per_variant = ", ".join(f"{v} {n}" for v, n in counted.items() if n)
        return {
            label: (
                f"at most {assumed['at_most']} (the sweep counted {assumed['sweep_counted']} over "
                f"{assumed['window_hours']:.0f} h)",
                f"{total} ({per_variant})",
            )
        }

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        aws: AwsAdapter = ctx.target(plan.target)
        name = plan.target.id
        if plan.change.get("endpoint") == "created":
            config = plan.change["endpoint_config_name"]
            status = aws.sagemaker.create_endpoint(name, config, dict(plan.change.get("tags") or {}))
            return {"status_after_call": status, "recreated_from": config}
        result: dict[str, Any] = {}
        assumed = plan.preconditions.get(NO_INVOCATIONS)
        if assumed:
            try:
                result["invocations_since_sweep"] = _invocations_since_sweep(ctx, plan.target, assumed)
            except AdapterError as exc:  # informative only: the drift check already passed
                result["invocations_since_sweep"] = {"error": str(exc)}
        result["status_after_call"] = aws.sagemaker.delete_endpoint(name)
        result["kept_endpoint_config"] = plan.change.get("keep_endpoint_config")
        return result

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        if state is None:
            return False
        if plan.change.get("endpoint") == "created":
            return state.get("status") in _BACK and state.get("endpoint_config_name") == plan.change["endpoint_config_name"]
        return state.get("status") in _GONE


def _invocations_since_sweep(ctx: ActionContext, target: ResourceRef, assumed: dict[str, Any]) -> dict[str, int]:
    since = datetime.fromisoformat(assumed["measured_until"])
    now = ctx.now()
    variants: list[str] = assumed["variants"]
    if now - since < _MIN_WINDOW:
        return dict.fromkeys(variants, 0)
    aws: AwsAdapter = ctx.target(target)
    return invocations_since(aws.cloudwatch, target.id, variants, start=since, end=now)


def _kept_config_differences(ctx: ActionContext, plan: ActionPlan) -> dict[str, tuple[Any, Any]]:
    kept = plan.preconditions[KEPT_CONFIG]
    aws: AwsAdapter = ctx.target(plan.target)
    config = aws.sagemaker.endpoint_config(kept["name"])
    label = f"endpoint config {kept['name']}"
    if config is None:
        return {label: ("kept, to recreate the endpoint from", "gone (deleted since)")}
    # Types only: the config holds the initial counts, the plan the counts autoscaling left.
    def types(variants: list[dict[str, Any]]) -> list[str]:
        return [f"{v['variant']}: {v['instance_type'] or 'serverless'}" for v in variants]

    now, then = types(_variants(config["variants"])), types(kept["variants"])
    return {label: (then, now)} if now != then else {}

"""Run a standalone on-demand instance's interruption-tolerant work on spot, by relaunching it.

EC2 cannot switch a running instance to spot. The plan launches a spot replacement from a launch
template holding the original's configuration (its own template's data when it was launched from
one, else its AMI, key, security groups, instance profile and user data), waits until the
replacement is **running**, and only then stops the original. Stopping, not terminating: the
original and its volumes stay, so the rollback is the same steps reversed: start the original,
wait until it runs, then terminate the replacement (and delete spendpilot's template).

Where a relaunch cannot reproduce the instance by API (an Elastic IP or extra network interfaces
clients may hold, extra volumes a template-less instance would lose), the plan is advisory: a
runbook for a human, and spendpilot changes nothing. The check says which reason applied.

Resuming after a crash is safe: the replacement is found again by its ``spendpilot:replaces``
tag (and RunInstances carries a ClientToken), so no second replacement is launched.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from spendpilot.actions.advisory import ADVISORY
from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.adapters.aws.relaunch import MANAGED_TAG, REPLACES_TAG
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk
from spendpilot.errors import AdapterError

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter

REPLACEMENT_WAIT = timedelta(minutes=10)
"""How long apply waits for the spot replacement to run. Past it the original keeps running, the
approval stands, and ``spendpilot resume`` picks up the same replacement."""


class RelaunchSpotFacts(Facts):
    """A standalone on-demand instance whose work tolerates interruption."""

    instance_type: str
    region: str | None = None
    workload: str
    """The workload tag's value that made it a candidate (training, batch, ci, ...)."""
    launch_template: str | None = None
    """The template it was launched from ("lt-… version 3"), whose data the replacement reuses."""
    live_spot_price: Decimal | None = None
    advisory_reason: str | None = None
    """Why the relaunch cannot be done safely by API; None: spendpilot can do it."""


@register_action("relaunch_on_spot")
class RelaunchOnSpot(Action[RelaunchSpotFacts]):
    facts_model = RelaunchSpotFacts
    permissions = (
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceAttribute",
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:CreateLaunchTemplate",
        "ec2:DeleteLaunchTemplate",
        "ec2:CreateTags",
        "ec2:RunInstances",
        "ec2:StopInstances",
        "ec2:StartInstances",
        "ec2:TerminateInstances",
        "iam:PassRole",
    )
    statements: ClassVar[tuple[dict[str, Any], ...]] = (
        {"Action": ["ec2:DescribeInstanceAttribute", "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions"],
         "Resource": "*"},
        {"Action": ["ec2:CreateLaunchTemplate"], "Resource": "arn:aws:ec2:*:*:launch-template/*",
         "Condition": {"StringEquals": {f"aws:RequestTag/{MANAGED_TAG}": "true"}}},
        {"Action": ["ec2:DeleteLaunchTemplate"], "Resource": "arn:aws:ec2:*:*:launch-template/*",
         "Condition": {"StringEquals": {f"aws:ResourceTag/{MANAGED_TAG}": "true"}}},
        {"Action": ["ec2:RunInstances"], "Resource": ["arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:volume/*"],
         "Condition": {"StringLike": {f"aws:RequestTag/{REPLACES_TAG}": "i-*"}}},
        {"Action": ["ec2:RunInstances"], "Resource": [
            "arn:aws:ec2:*:*:launch-template/*", "arn:aws:ec2:*::image/*", "arn:aws:ec2:*:*:subnet/*",
            "arn:aws:ec2:*:*:network-interface/*", "arn:aws:ec2:*:*:security-group/*", "arn:aws:ec2:*:*:key-pair/*",
        ]},
        {"Action": ["ec2:CreateTags"], "Resource": ["arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:volume/*",
                                                    "arn:aws:ec2:*:*:launch-template/*"],
         "Condition": {"StringEquals": {"ec2:CreateAction": ["RunInstances", "CreateLaunchTemplate"]}}},
        {"Action": ["ec2:StopInstances", "ec2:StartInstances"], "Resource": "arn:aws:ec2:*:*:instance/*"},
        {"Action": ["ec2:TerminateInstances"], "Resource": "arn:aws:ec2:*:*:instance/*",
         "Condition": {"StringLike": {f"aws:ResourceTag/{REPLACES_TAG}": "i-*"}}},
        {"Action": ["iam:PassRole"], "Resource": "*",
         "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}},
    )
    """Scoped where EC2 allows: spendpilot creates and deletes only templates tagged as its own,
    launches only instances tagged as a replacement, and terminates only those."""

    def risk(self, finding: Finding[RelaunchSpotFacts]) -> Risk:
        return Risk.MEDIUM  # a new instance: the work restarts from its last checkpoint

    def build_plan(self, finding: Finding[RelaunchSpotFacts]) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        where = res.ref.location() or "its account and region"
        label = f"{res.ref.id} ({res.ref.name or 'unnamed'}, {facts.instance_type}, {where})"
        if facts.advisory_reason:
            return ActionPlan(
                action=self.kind, target=res.ref,
                change={ADVISORY: True, "reason": facts.advisory_reason, "runbook": _runbook(label, facts)},
                expected_pre_state={}, rollback=None,
                rollback_description="Advisory: spendpilot changes nothing; to undo, start the original again and "
                "terminate the spot instance.",
                description=f"[advisory] Relaunch EC2 instance {label} on spot by hand: {facts.advisory_reason}.",
                permissions=[],
            )
        tags = dict(sorted(res.tags.items()))
        fixed = {"lifecycle": "on-demand", "instance_type": facts.instance_type, "tags": tags}
        source = f"launch template {facts.launch_template}" if facts.launch_template else "the instance's own configuration"
        rollback = ActionPlan(
            action=self.kind, target=res.ref,
            change={"original": "running", "replacement": None},
            expected_pre_state=fixed,
            rollback_description=f"Relaunch {res.ref.id} on spot again.",
            description=f"Start EC2 instance {label} again, wait until it runs, then terminate its spot replacement "
            "and spendpilot's launch template.",
            permissions=list(self.permissions),
        )
        return ActionPlan(
            action=self.kind, target=res.ref,
            change={"original": "stopped", "replacement": "running"},
            expected_pre_state={**fixed, "state": "running"},
            rollback=rollback,
            rollback_description=f"Start {res.ref.id} again, then terminate the spot replacement (`spendpilot rollback`).",
            description=(
                f"Relaunch EC2 instance {label} on spot: a launch template from {source} with spot market options, "
                f"one spot instance from it in the same subnet, and only once that one is running, stop the original "
                f"(kept, with its volumes, for the rollback)."
            ),
            permissions=list(self.permissions),
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        aws: AwsAdapter = ctx.target(target)
        inst = aws.ec2.describe_instance(target.id)
        if inst is None:
            return None
        replacement = aws.relaunch.replacement(target.id)
        return {
            "state": inst.attributes["state"],
            "lifecycle": inst.attributes["lifecycle"],
            "instance_type": inst.attributes["instance_type"],
            "tags": dict(sorted(inst.tags.items())),
            "replacement": replacement["State"]["Name"] if replacement else None,
            "replacement_id": replacement["InstanceId"] if replacement else None,
            "replacement_lifecycle": replacement.get("InstanceLifecycle", "on-demand") if replacement else None,
        }

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        if plan.change.get(ADVISORY):
            return {ADVISORY: True, "handed_over": True, "steps": len(plan.change.get("runbook", []))}
        aws: AwsAdapter = ctx.target(plan.target)
        iid, wait = plan.target.id, REPLACEMENT_WAIT.total_seconds()
        found = aws.relaunch.replacement(iid)
        if plan.change.get("original") == "running":  # the rollback: start first, then terminate
            now = aws.relaunch.describe_raw(iid)
            state = now["State"]["Name"] if now else "gone"
            if state != "running":
                aws.relaunch.start(iid)
                state = aws.relaunch.wait_state(iid, "running", wait)
            if state != "running":
                raise AdapterError(f"{iid} is '{state}' after {REPLACEMENT_WAIT}; its spot replacement was left running")
            result: dict[str, Any] = {"original": state}
            if found is not None:
                result["replacement_terminated"] = found["InstanceId"]
                result["replacement_state"] = aws.relaunch.terminate(found["InstanceId"])
            result["template_deleted"] = aws.relaunch.delete_template(iid)
            return result
        original = aws.relaunch.describe_raw(iid)
        if original is None:
            raise AdapterError(f"{iid} is gone; nothing relaunched")
        if found is None:
            template = aws.relaunch.ensure_template(original)
            # The token repeats for a resumed attempt (same template), not for a relaunch after a
            # rollback (which deleted the template): AWS would answer that with the terminated one.
            new_id = aws.relaunch.run_replacement(original, template, token=f"{plan.plan_hash()}:{template}")
        else:  # an earlier attempt launched it (resume): the same replacement, never a second
            template, new_id = None, found["InstanceId"]
        state = aws.relaunch.wait_state(new_id, "running", wait)
        if state in ("shutting-down", "terminated", "gone"):
            # Reclaimed (no spot capacity): a new template gives the next attempt a new ClientToken,
            # so `resume` launches again instead of getting this ended instance back from AWS.
            aws.relaunch.delete_template(iid)
        if state != "running":
            raise AdapterError(
                f"spot replacement {new_id} of {iid} is '{state}' after {REPLACEMENT_WAIT}; the original was not "
                "stopped (`spendpilot resume` waits again; `spendpilot reject` and terminating the replacement abandon it)"
            )
        return {
            "replacement": new_id, "launch_template": template,
            "original_state_after_call": aws.relaunch.stop(iid),
        }

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        if plan.change.get(ADVISORY):
            return True
        if state is None:
            return False
        if plan.change.get("original") == "running":
            return state.get("state") in ("pending", "running") and state.get("replacement") is None
        return state.get("state") in ("stopping", "stopped") and state.get("replacement") == "running"


def _runbook(label: str, facts: RelaunchSpotFacts) -> list[str]:
    return [
        f"Why not automatic: {facts.advisory_reason}.",
        f"Create a launch template from {label}"
        + (f" (or a new version of {facts.launch_template})" if facts.launch_template else "")
        + " with InstanceMarketOptions MarketType=spot, SpotInstanceType=one-time, "
        "InstanceInterruptionBehavior=terminate, and the network interfaces, addresses and volumes it needs.",
        "Make the work resume from its last checkpoint (spot instances are reclaimed with two minutes' notice).",
        "Launch one instance from the template; move the Elastic IP / secondary interfaces / data volumes to it.",
        "Once it runs the work, stop the on-demand original; terminate it after a week without rollback.",
    ]

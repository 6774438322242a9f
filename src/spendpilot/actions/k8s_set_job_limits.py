"""Set a Job's (or a CronJob's job template's) ``ttlSecondsAfterFinished`` and
``activeDeadlineSeconds``; rollback sets them back to what the sweep saw.

Why these two fields: ``activeDeadlineSeconds`` is the Job controller's own stop for a run that
goes on too long; setting it on a running Job that is already older than the deadline makes the
controller terminate its pods and mark it failed (reason ``DeadlineExceeded``) on its next sync,
which is how a zombie Job is stopped without deleting the record of it. ``ttlSecondsAfterFinished``
lets the TTL controller delete a finished Job (and its pods) after that many seconds, so
finished Jobs do not pile up. Both fields are mutable on an existing Job (its pod template is
not), and on a CronJob they apply to the Jobs it creates from then on.

Every patch is a strategic merge patch sent with ``dryRun=All`` first (``KubeTarget.patch``).
The rollback restores the fields; it cannot revive pods that a deadline has already stopped,
which the plan says.
"""

from __future__ import annotations

from typing import Any

from spendpilot.actions._k8s import RbacRule, dig, kube_target, permission_strings
from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.actions.k8s_facts import JobLimitsFacts
from spendpilot.adapters.kubernetes.target import workload_of
from spendpilot.domain import ActionPlan, Finding, ResourceRef, Risk

_FIELDS = {
    "ttl_seconds": "ttlSecondsAfterFinished",
    "active_deadline_seconds": "activeDeadlineSeconds",
}


def _job_spec_path(kind: str) -> tuple[str, ...]:
    return ("spec", "jobTemplate", "spec") if kind == "CronJob" else ("spec",)


@register_action("k8s_set_job_limits")
class K8sSetJobLimits(Action[JobLimitsFacts]):
    facts_model = JobLimitsFacts
    rbac: tuple[RbacRule, ...] = (
        ("batch", "jobs", ("get", "patch")),
        ("batch", "cronjobs", ("get", "patch")),
    )
    permissions = permission_strings(rbac)

    def risk(self, finding: Finding[JobLimitsFacts]) -> Risk:
        f = finding.facts
        # A deadline below a running Job's age stops it now; a TTL only tidies finished Jobs.
        return (
            Risk.MEDIUM
            if f.active_deadline_seconds is not None and f.workload.kind == "Job"
            else Risk.LOW
        )

    def build_plan(self, finding: Finding[JobLimitsFacts]) -> ActionPlan:
        f = finding.facts
        w = f.workload
        before = {
            "ttl_seconds": f.current_ttl_seconds,
            "active_deadline_seconds": f.current_active_deadline_seconds,
        }
        change = {
            k: v
            for k, v in (
                ("ttl_seconds", f.ttl_seconds),
                ("active_deadline_seconds", f.active_deadline_seconds),
            )
            if v is not None
        }
        after = {**before, **change}
        parts = []
        if "active_deadline_seconds" in change:
            parts.append(f"activeDeadlineSeconds={change['active_deadline_seconds']}")
        if "ttl_seconds" in change:
            parts.append(f"ttlSecondsAfterFinished={change['ttl_seconds']}")
        where = (
            "its job template (Jobs it creates from now on)" if w.kind == "CronJob" else "the Job"
        )
        rollback = ActionPlan(
            action=self.kind,
            target=finding.resource.ref,
            change={k: before[k] for k in change},
            expected_pre_state=after,
            rollback_description=f"Set {', '.join(parts)} on {w.label()} again.",
            description=f"Set {w.label()} back to ttlSecondsAfterFinished={before['ttl_seconds']}, "
            f"activeDeadlineSeconds={before['active_deadline_seconds']} (unset where None).",
            permissions=list(self.permissions),
        )
        stops = (
            " A running Job older than the deadline is stopped by the Job controller (DeadlineExceeded)."
            if w.kind == "Job" and "active_deadline_seconds" in change
            else ""
        )
        return ActionPlan(
            action=self.kind,
            target=finding.resource.ref,
            change=change,
            expected_pre_state=before,
            rollback=rollback,
            rollback_description=(
                "Patch the fields back to what the sweep saw (`spendpilot rollback`); pods a deadline already "
                "stopped are not restarted."
            ),
            description=f"Set {', '.join(parts)} on {where}: {w.label()} (server-side dry run first).{stops}",
            permissions=list(self.permissions),
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        workload = workload_of(target)
        obj = kube_target(ctx.target(target), target).read(workload)
        if obj is None:
            return None
        spec = dig(obj, _job_spec_path(workload.kind)) or {}
        return {key: spec.get(field) for key, field in _FIELDS.items()}

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        workload = workload_of(plan.target)
        target = kube_target(ctx.target(plan.target), plan.target)
        fields = {
            _FIELDS[k]: v for k, v in plan.change.items()
        }  # None deletes the field (merge semantics)
        body: dict[str, Any] = fields
        for key in reversed(_job_spec_path(workload.kind)):
            body = {key: body}
        stored = target.patch(workload, body)
        spec = dig(stored, _job_spec_path(workload.kind)) or {}
        return {"resourceVersion": (stored.get("metadata") or {}).get("resourceVersion"),
                **{k: spec.get(f) for k, f in _FIELDS.items()}}  # fmt: skip

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        return state is not None and all(state.get(k) == v for k, v in plan.change.items())

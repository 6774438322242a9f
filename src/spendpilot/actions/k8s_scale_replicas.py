"""Scale a Deployment or StatefulSet, once, or record an off-hours scale schedule on it.

One-off (``schedule`` unset): the ``/scale`` subresource is patched to ``target_replicas``
(dry run first), which is what ``kubectl scale`` does and what RBAC can grant separately from
editing the workload (``deployments/scale``). Rollback scales back to ``current_replicas``. A
HorizontalPodAutoscaler on the workload would undo a one-off scale: the check proposing it
must leave HPA-managed workloads alone.

With ``schedule`` (a cron expression for when to scale to ``target_replicas``): spendpilot does
not run schedules inside clusters, and pretending a schedule is in force would be worse than
saying it is not. So the action *records* the schedule as annotations on the workload
(``spendpilot.io/scale-schedule``, ``spendpilot.io/scale-schedule-replicas``,
``spendpilot.io/scale-schedule-restore-replicas``): reviewed, approved, audited and reversible
like any change, for an in-cluster scaler (a KEDA cron trigger or a CronJob running
``kubectl scale``, configured once per cluster) to act on. The plan says that nothing scales
until such a scaler reads them. Rollback removes the annotations.
"""

from __future__ import annotations

from typing import Any

from spendpilot.actions._k8s import RbacRule, kube_target, permission_strings
from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.actions.k8s_facts import ScaleReplicasFacts
from spendpilot.adapters.kubernetes.client import MERGE
from spendpilot.adapters.kubernetes.target import workload_of
from spendpilot.domain import ActionPlan, Finding, ResourceRef, Risk

SCHEDULE = "spendpilot.io/scale-schedule"
SCHEDULE_REPLICAS = "spendpilot.io/scale-schedule-replicas"
RESTORE_REPLICAS = "spendpilot.io/scale-schedule-restore-replicas"
_ANNOTATIONS = (SCHEDULE, SCHEDULE_REPLICAS, RESTORE_REPLICAS)


@register_action("k8s_scale_replicas")
class K8sScaleReplicas(Action[ScaleReplicasFacts]):
    facts_model = ScaleReplicasFacts
    rbac: tuple[RbacRule, ...] = (
        ("apps", "deployments", ("get", "patch")),
        ("apps", "statefulsets", ("get", "patch")),
        ("apps", "deployments/scale", ("get", "patch")),
        ("apps", "statefulsets/scale", ("get", "patch")),
    )
    permissions = permission_strings(rbac)

    def risk(self, finding: Finding[ScaleReplicasFacts]) -> Risk:
        f = finding.facts
        if f.schedule:
            return Risk.LOW  # annotations only
        return Risk.HIGH if f.target_replicas == 0 else Risk.MEDIUM

    def build_plan(self, finding: Finding[ScaleReplicasFacts]) -> ActionPlan:
        f = finding.facts
        w = f.workload
        ref = finding.resource.ref
        if f.schedule:
            notes = {
                SCHEDULE: f.schedule,
                SCHEDULE_REPLICAS: str(f.target_replicas),
                RESTORE_REPLICAS: str(f.current_replicas),
            }
            empty = dict.fromkeys(_ANNOTATIONS)
            rollback = ActionPlan(
                action=self.kind, target=ref, change={"annotations": empty}, expected_pre_state={"annotations": notes},
                rollback_description=f"Record the schedule on {w.label()} again.",
                description=f"Remove the scale schedule annotations from {w.label()}.", permissions=list(self.permissions),
            )  # fmt: skip
            return ActionPlan(
                action=self.kind, target=ref, change={"annotations": notes}, expected_pre_state={"annotations": empty},
                rollback=rollback, rollback_description="Remove the annotations (`spendpilot rollback`).",
                description=(
                    f"Record on {w.label()} a schedule to scale to {f.target_replicas} at '{f.schedule}' (back to "
                    f"{f.current_replicas} after) as annotations {SCHEDULE}/{SCHEDULE_REPLICAS}. Advisory until an "
                    "in-cluster scaler (KEDA cron trigger or a kubectl-scale CronJob) acts on them: nothing scales by itself."
                ),
                permissions=list(self.permissions),
            )  # fmt: skip
        rollback = ActionPlan(
            action=self.kind, target=ref, change={"replicas": f.current_replicas},
            expected_pre_state={"replicas": f.target_replicas},
            rollback_description=f"Scale {w.label()} to {f.target_replicas} again.",
            description=f"Scale {w.label()} back to {f.current_replicas} replicas.", permissions=list(self.permissions),
        )  # fmt: skip
        return ActionPlan(
            action=self.kind, target=ref, change={"replicas": f.target_replicas},
            expected_pre_state={"replicas": f.current_replicas}, rollback=rollback,
            rollback_description=f"Scale back to {f.current_replicas} (`spendpilot rollback`).",
            description=f"Scale {w.label()} from {f.current_replicas} to {f.target_replicas} replicas through its "
            "scale subresource (server-side dry run first).",
            permissions=list(self.permissions),
        )  # fmt: skip

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        workload = workload_of(target)
        obj = kube_target(ctx.target(target), target).read(workload)
        if obj is None:
            return None
        notes = (obj.get("metadata") or {}).get("annotations") or {}
        return {
            "replicas": (obj.get("spec") or {}).get("replicas", 1),
            "annotations": {k: notes.get(k) for k in _ANNOTATIONS},
        }

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        workload = workload_of(plan.target)
        target = kube_target(ctx.target(plan.target), plan.target)
        if "annotations" in plan.change:
            stored = target.patch(
                workload,
                {"metadata": {"annotations": plan.change["annotations"]}},
                content_type=MERGE,
            )
            return {"resourceVersion": (stored.get("metadata") or {}).get("resourceVersion")}
        scale = target.scale(workload, int(plan.change["replicas"]))
        return {"replicas": (scale.get("spec") or {}).get("replicas")}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        if state is None:
            return False
        if "annotations" in plan.change:
            return state.get("annotations") == plan.change["annotations"]
        return state.get("replicas") == plan.change["replicas"]

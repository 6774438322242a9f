"""Let a workload's pods run on spot nodes: a preferred node affinity for the spot capacity
label and the tolerations spot nodes' taints need, added to its pod template.

*Preferred*, not required: the scheduler (and Karpenter, which treats a preference as a
requirement first and relaxes it when no spot capacity can be had) puts the pods on spot when
there is spot capacity and on on-demand otherwise, so a spot shortage never leaves the workload
unscheduled. The saving is realised as pods are replaced onto spot nodes: a Deployment rolls at
once (the template changed); a CronJob's next Jobs carry it. A Job's pod template is immutable
(the API refuses the change), so bare Jobs are not proposed.

Lists without a patch merge key (``tolerations``, the affinity terms) are replaced whole by a
strategic merge patch, so the patch carries the template's current list plus the additions; the
plan's pre-state makes sure that list is still what the sweep saw. Rollback removes exactly what
was added (the ``remove`` mode of the same action), keeping anything added by others since.
"""

from __future__ import annotations

from typing import Any

from spendpilot.actions._k8s import (
    POD_TEMPLATE_PATH,
    RbacRule,
    dig,
    kube_target,
    nest,
    permission_strings,
)
from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.actions.k8s_facts import SpotPlacementFacts
from spendpilot.adapters.kubernetes.target import workload_of
from spendpilot.domain import ActionPlan, Finding, ResourceRef, Risk

SPOT_WEIGHT = 100


def spot_term(label: str, values: list[str]) -> dict[str, Any]:
    return {
        "weight": SPOT_WEIGHT,
        "preference": {
            "matchExpressions": [{"key": label, "operator": "In", "values": list(values)}]
        },
    }


def _scheduling(
    obj: dict[str, Any] | None, kind: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    spec = dig(obj, (*POD_TEMPLATE_PATH[kind], "spec")) or {}
    terms = (
        dig(spec, ("affinity", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution"))
        or []
    )
    return list(spec.get("tolerations") or []), list(terms)


def _same_toleration(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("key", "operator", "value", "effect")
    return all(str(a.get(k) or "") == str(b.get(k) or "") for k in keys)


@register_action("k8s_spot_placement")
class K8sSpotPlacement(Action[SpotPlacementFacts]):
    facts_model = SpotPlacementFacts
    rbac: tuple[RbacRule, ...] = (
        ("apps", "deployments", ("get", "patch")),
        ("batch", "cronjobs", ("get", "patch")),
    )
    permissions = permission_strings(rbac)

    def risk(self, finding: Finding[SpotPlacementFacts]) -> Risk:
        return Risk.MEDIUM  # pods restart now (Deployment) and can be interrupted on spot later

    def build_plan(self, finding: Finding[SpotPlacementFacts]) -> ActionPlan:
        f = finding.facts
        w = f.workload
        current = [dict(t) for t in f.current_tolerations]
        added = [dict(t) for t in f.tolerations if not any(_same_toleration(t, x) for x in current)]
        change = {"mode": "add", "label": f.node_affinity_label, "values": list(f.node_affinity_values),
                  "tolerations": added}  # fmt: skip
        before = {"spot_preference": False, "tolerations": current}
        after = {"spot_preference": True, "tolerations": current + added}
        rollback = ActionPlan(
            action=self.kind, target=finding.resource.ref, change={**change, "mode": "remove"}, expected_pre_state=after,
            rollback_description=f"Add the spot preference to {w.label()} again.",
            description=f"Remove the spot node preference ({f.node_affinity_label} in {f.node_affinity_values}) and the "
            f"tolerations spendpilot added from {w.label()}.",
            permissions=list(self.permissions),
        )  # fmt: skip
        rolls = (
            " Its pods are replaced (rolling update) and prefer spot nodes."
            if w.kind == "Deployment"
            else (" The Jobs it creates from now on prefer spot nodes.")
        )
        tol = (
            ", ".join(
                f"{t.get('key')}={t.get('value', '')}:{t.get('effect', '')}" for t in f.tolerations
            )
            or "none"
        )
        return ActionPlan(
            action=self.kind, target=finding.resource.ref, change=change, expected_pre_state=before, rollback=rollback,
            rollback_description="Remove exactly the preference and tolerations added (`spendpilot rollback`).",
            description=(
                f"Add a preferred node affinity ({f.node_affinity_label} in {f.node_affinity_values}, weight {SPOT_WEIGHT}) "
                f"and tolerations ({tol}) to {w.label()}'s pod template (server-side dry run first).{rolls}"
            ),
            permissions=list(self.permissions),
        )  # fmt: skip

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        workload = workload_of(target)
        obj = kube_target(ctx.target(target), target).read(workload)
        return None if obj is None else self._state(obj, workload.kind)

    @staticmethod
    def _state(obj: dict[str, Any], kind: str) -> dict[str, Any]:
        """Whether the template prefers spot nodes (any preferred term ``<label> In [..spot..]``),
        and its tolerations as the source writes them (values as strings)."""
        tolerations, terms = _scheduling(obj, kind)
        spot = any(
            e.get("operator") == "In" and any(str(v).lower() == "spot" or "spot" in str(e.get("key")) for v in e.get("values") or [])
            for t in terms for e in (t.get("preference") or {}).get("matchExpressions") or []
        )  # fmt: skip
        return {
            "spot_preference": spot,
            "tolerations": [{k: str(v) for k, v in t.items()} for t in tolerations],
        }

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        workload = workload_of(plan.target)
        target = kube_target(ctx.target(plan.target), plan.target)
        obj = target.read(workload)
        if obj is None:
            raise LookupError(f"{workload.label()} no longer exists")
        c = plan.change
        tolerations, terms = _scheduling(obj, workload.kind)
        ours = spot_term(c["label"], c["values"])
        if c["mode"] == "add":
            tolerations += [
                t for t in c["tolerations"] if not any(_same_toleration(t, x) for x in tolerations)
            ]
            terms += [] if ours in terms else [ours]
        else:
            tolerations = [
                t for t in tolerations if not any(_same_toleration(t, x) for x in c["tolerations"])
            ]
            terms = [t for t in terms if t != ours]
        spec_patch: dict[str, Any] = {
            "tolerations": tolerations or None,
            "affinity": {
                "nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": terms or None}
            },
        }
        stored = target.patch(
            workload, nest((*POD_TEMPLATE_PATH[workload.kind], "spec"), spec_patch)
        )
        return {
            "resourceVersion": (stored.get("metadata") or {}).get("resourceVersion"),
            **self._state(stored, workload.kind),
        }

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        if state is None:
            return False
        want = plan.change["mode"] == "add"
        return bool(state.get("spot_preference")) == want

"""Set containers' CPU/memory (or GPU) requests and limits in a workload's pod template;
rollback sets them back.

A strategic merge patch of ``containers`` merges by container ``name`` (the list's patch merge
key), so only the containers and resources named in ``proposed`` change; the others (a memory
limit when only requests are proposed, a sidecar) stay as they are. The rollback sets the named
ones back, and a resource the change added (absent before) is sent as null, which removes it. The API server
validates the new values (quantity syntax, request not above limit) in the ``dryRun=All``
request before anything is stored. Changing a Deployment's or StatefulSet's template rolls its
pods; a CronJob's applies to the Jobs it creates next; a Job's template cannot change (the
server refuses).

State is compared as parsed quantities ("1000m" and "1" are the same request).
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
from spendpilot.actions.k8s_facts import ContainerResources, PatchResourcesFacts
from spendpilot.adapters.kubernetes.quantity import QuantityError, parse_quantity
from spendpilot.adapters.kubernetes.target import workload_of
from spendpilot.domain import ActionPlan, Finding, ResourceRef, Risk


def _parsed(values: dict[str, Any] | None) -> dict[str, float]:
    out = {}
    for k, v in (values or {}).items():
        try:
            out[k] = parse_quantity(v)
        except QuantityError:
            out[k] = float("nan")  # unreadable now: never equal to what a plan expects
    return out


def _expected(containers: list[ContainerResources]) -> dict[str, Any]:
    return {
        f"container/{c.container}": {"requests": _parsed(c.requests), "limits": _parsed(c.limits)}
        for c in containers
    }


def _merged(
    current: list[ContainerResources], proposed: list[ContainerResources]
) -> list[ContainerResources]:
    """What the containers hold after the change: current values overlaid by the proposed ones."""
    by_name = {c.container: c for c in current}
    out = []
    for p in proposed:
        c = by_name.get(p.container, ContainerResources(container=p.container))
        out.append(
            ContainerResources(
                container=p.container,
                requests={**c.requests, **p.requests},
                limits={**c.limits, **p.limits},
            )
        )
    return out


def _change(
    to: list[ContainerResources], remove_from: list[ContainerResources] | None = None
) -> dict[str, Any]:
    """Containers' new requests/limits. With ``remove_from`` (a rollback), a resource set there but
    not in ``to`` becomes None: it was added by the change and is removed again."""
    extra = {c.container: c for c in remove_from or []}
    out = []
    for c in to:
        added = extra.get(c.container)
        entry: dict[str, Any] = {"name": c.container}
        for part in ("requests", "limits"):
            values: dict[str, str | None] = dict(getattr(c, part))
            for resource in getattr(added, part, {}) if added else {}:
                values.setdefault(resource, None)
            if values:
                entry[part] = values
        out.append(entry)
    return {"containers": out}


@register_action("k8s_patch_resources")
class K8sPatchResources(Action[PatchResourcesFacts]):
    facts_model = PatchResourcesFacts
    rbac: tuple[RbacRule, ...] = (
        ("apps", "deployments", ("get", "patch")),
        ("apps", "statefulsets", ("get", "patch")),
        ("apps", "daemonsets", ("get", "patch")),
        ("batch", "cronjobs", ("get", "patch")),
    )
    permissions = permission_strings(rbac)

    def risk(self, finding: Finding[PatchResourcesFacts]) -> Risk:
        return Risk.MEDIUM  # pods restart with the new values; a too-low memory limit can OOM-kill

    def build_plan(self, finding: Finding[PatchResourcesFacts]) -> ActionPlan:
        f = finding.facts
        w = f.workload

        def show(cs: list[ContainerResources]) -> str:
            return "; ".join(
                f"{c.container}: requests {c.requests or '{}'}, limits {c.limits or '{}'}"
                for c in cs
            )

        rollback = ActionPlan(
            action=self.kind, target=finding.resource.ref, change=_change(f.current, remove_from=f.proposed),
            expected_pre_state=_expected(_merged(f.current, f.proposed)),
            rollback_description=f"Set {w.label()} to {show(f.proposed)} again.",
            description=f"Set {w.label()}'s containers back to {show(f.current)}.",
            permissions=list(self.permissions),
        )  # fmt: skip
        return ActionPlan(
            action=self.kind, target=finding.resource.ref, change=_change(f.proposed),
            expected_pre_state=_expected(f.current), rollback=rollback,
            rollback_description="Patch the containers back to their previous requests/limits (`spendpilot rollback`).",
            description=f"Set {w.label()}'s containers to {show(f.proposed)} (was {show(f.current)}); server-side dry run first."
            + (" Its pods are replaced (rolling update)." if w.kind in ("Deployment", "StatefulSet", "DaemonSet") else ""),
            permissions=list(self.permissions),
        )  # fmt: skip

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        workload = workload_of(target)
        obj = kube_target(ctx.target(target), target).read(workload)
        return None if obj is None else self._state(obj, workload.kind)

    @staticmethod
    def _state(obj: dict[str, Any], kind: str) -> dict[str, Any]:
        containers = dig(obj, (*POD_TEMPLATE_PATH[kind], "spec", "containers")) or []
        return {
            f"container/{c.get('name')}": {
                "requests": _parsed((c.get("resources") or {}).get("requests")),
                "limits": _parsed((c.get("resources") or {}).get("limits")),
            }
            for c in containers
        }

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        workload = workload_of(plan.target)
        target = kube_target(ctx.target(plan.target), plan.target)
        containers = [
            {"name": c["name"], "resources": {p: c[p] for p in ("requests", "limits") if p in c}}
            for c in plan.change["containers"]
        ]
        stored = target.patch(
            workload, nest((*POD_TEMPLATE_PATH[workload.kind], "spec"), {"containers": containers})
        )
        return {
            "resourceVersion": (stored.get("metadata") or {}).get("resourceVersion"),
            **self._state(stored, workload.kind),
        }

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        if state is None:
            return False
        for c in plan.change["containers"]:
            now = state.get(f"container/{c['name']}")
            if now is None:
                return False
            for part in ("requests", "limits"):
                for resource, value in (c.get(part) or {}).items():
                    have = now[part].get(resource)
                    if (value is None) != (have is None) or (
                        value is not None and have != parse_quantity(value)
                    ):
                        return False
        return True

"""Interruption-tolerant workloads running on on-demand nodes that could prefer spot nodes.

Candidates: CronJobs (their Jobs retry failed pods up to ``backoffLimit``, and each run starts
afresh) and Deployments labelled as batch or training work (``tolerant_labels``), whose running
pods are all on on-demand nodes. Bare Jobs are not proposed: a Job's pod template is immutable.

Never proposed, whatever their labels:
- StatefulSets and DaemonSets (identity, storage and per-node agents: not for spot);
- workloads whose pods mount a PersistentVolumeClaim that is ``ReadWriteOnce``/``ReadWriteOncePod``
  (state tied to one node at a time; a claim the sweep could not read counts as such);
- workloads a PodDisruptionBudget protects from eviction (``maxUnavailable`` 0 / 0 %, or
  ``minAvailable`` 100 % or at least the replica count);
- workloads already preferring spot, or pinned to on-demand by a nodeSelector.

The proposal (``actions/k8s_spot_placement``) adds a preferred node affinity for the spot
label the cluster's own spot nodes carry (Karpenter, EKS managed node groups or GKE) and
tolerations for the taints those nodes have.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from spendpilot.actions._k8s import workload_resource
from spendpilot.actions.k8s_facts import SpotPlacementFacts, WorkloadRef
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.domain.kubernetes import ClusterState, KubePdb, KubePod, KubeWorkload
from spendpilot.savings._k8s import PodCharge, pod_charges
from spendpilot.savings.pricebook import PriceBook

RWO_MODES = {"ReadWriteOnce", "ReadWriteOncePod"}
CAPACITY_LABELS = (
    "karpenter.sh/capacity-type",
    "eks.amazonaws.com/capacityType",
    "cloud.google.com/gke-spot",
)


class SpotPlacementCheckFacts(SpotPlacementFacts):
    pods: list[PodCharge] = Field(default_factory=list)
    hours_per_month: float = 730.0
    hours_basis: str = "runs all month"


class SpotPlacementSettings(BaseModel):
    enabled: bool = True
    tolerant_labels: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "workload-type": ["batch", "training"], "workload": ["batch", "training"],
            "app.kubernetes.io/component": ["batch", "training", "worker"], "spendpilot.io/interruptible": ["true"],
        },
        description="A Deployment with any of these label values (on itself or its pod template) tolerates interruption.",
    )  # fmt: skip
    ignore_label: str = Field(
        "spendpilot.io/ignore", description="Workloads with this label are skipped."
    )


def _labels(w: KubeWorkload) -> dict[str, str]:
    return {**w.pod_template_labels, **w.labels}


def _tolerant(w: KubeWorkload, s: SpotPlacementSettings) -> bool:
    if w.kind == "CronJob":
        return True
    labels = _labels(w)
    return w.kind == "Deployment" and any(
        labels.get(k) in values for k, values in s.tolerant_labels.items()
    )


def _pdb_forbids(pdb: KubePdb, replicas: int) -> bool:
    if pdb.max_unavailable in ("0", "0%"):
        return True
    if pdb.min_available is None:
        return False
    if pdb.min_available.endswith("%"):
        return pdb.min_available == "100%"
    return pdb.min_available.isdigit() and int(pdb.min_available) >= max(replicas, 1)


def _why_not(w: KubeWorkload, pods: list[KubePod], cluster: ClusterState) -> str | None:
    """Why a tolerant-looking workload must stay where it is (None: it may go to spot)."""
    claims = {(p.namespace, n) for p in pods for n in p.pvc_names}
    for ns, name in sorted(claims):
        pvc = next((c for c in cluster.pvcs if (c.namespace, c.name) == (ns, name)), None)
        if pvc is None or RWO_MODES & set(pvc.access_modes):
            return f"mounts PVC {name} ({', '.join(pvc.access_modes) if pvc else 'not read'})"
    for pdb in cluster.pdbs:
        if pdb.namespace == w.namespace and pdb.selector and any(
            all(p.labels.get(k) == v for k, v in pdb.selector.items()) for p in pods
        ) and _pdb_forbids(pdb, w.replicas or len(pods)):  # fmt: skip
            return f"PodDisruptionBudget {pdb.name} forbids eviction"
    affinity = str(w.pod_template_affinity).lower()
    if "spot" in affinity or any(k in CAPACITY_LABELS for k in w.pod_template_node_selector):
        return "already places itself by capacity type"
    return None


def spot_label(cluster: ClusterState) -> tuple[str, list[str]]:
    """The label the cluster's spot nodes carry (default Karpenter's)."""
    for n in cluster.nodes:
        if n.capacity_type != "spot":
            continue
        if "eks.amazonaws.com/capacityType" in n.labels:
            return "eks.amazonaws.com/capacityType", ["SPOT"]
        if "cloud.google.com/gke-spot" in n.labels:
            return "cloud.google.com/gke-spot", ["true"]
    return "karpenter.sh/capacity-type", ["spot"]


def spot_tolerations(cluster: ClusterState) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []
    for n in cluster.nodes:
        if n.capacity_type == "spot":
            for t in n.taints:
                tol = {
                    "key": t.get("key", ""),
                    "operator": "Equal",
                    "value": t.get("value", ""),
                    "effect": t.get("effect", ""),
                }
                if t.get("effect") in ("NoSchedule", "NoExecute") and tol not in seen:
                    seen.append(tol)
    return seen


def _hours(w: KubeWorkload, pods: list[KubePod], snapshot: Snapshot) -> tuple[float, str]:
    if w.kind != "CronJob" or not w.schedule:
        return 730.0, "its pods run all month"
    from apscheduler.triggers.cron import CronTrigger

    try:
        trigger = CronTrigger.from_crontab(w.schedule, timezone="UTC")
    except ValueError:
        return (
            730.0,
            f"schedule {w.schedule!r} not understood: as if it ran all month (upper bound)",
        )
    runs, at, end = 0, snapshot.taken_at, snapshot.taken_at + timedelta(days=30)
    while runs < 10_000:
        nxt = trigger.get_next_fire_time(None, at)
        if nxt is None or nxt > end:
            break
        runs, at = runs + 1, nxt + timedelta(seconds=1)
    started = [p.started_at for p in pods if p.started_at]
    run_hours = (
        max(1.0, (snapshot.taken_at - min(started)).total_seconds() / 3600) if started else 1.0
    )
    hours = min(730.0, runs * run_hours)
    return (
        hours,
        f"{runs} runs in 30 days ({w.schedule}) x {run_hours:.1f} h (the current run so far, at least 1 h)",
    )


@register_check(
    "k8s_spot_placement",
    action_kind="k8s_spot_placement",
    settings=SpotPlacementSettings,
    facts=SpotPlacementCheckFacts,
    description="Interruption-tolerant Kubernetes workloads (CronJobs, batch/training Deployments) on on-demand nodes.",
)
def find_spot_placement(
    snapshot: Snapshot, settings: SpotPlacementSettings, prices: PriceBook
) -> list[Finding[SpotPlacementCheckFacts]]:
    findings: list[Finding[SpotPlacementCheckFacts]] = []
    for cluster in snapshot.clusters:
        label, values = spot_label(cluster)
        tolerations = spot_tolerations(cluster)
        for w in cluster.workloads:
            if (
                w.kind not in ("Deployment", "CronJob")
                or settings.ignore_label in _labels(w)
                or not _tolerant(w, settings)
            ):
                continue
            pods = [
                p for p in cluster.pods
                if p.namespace == w.namespace and p.owner is not None and (p.owner.kind, p.owner.name) == (w.kind, w.name)
                and p.phase == "Running"
            ]  # fmt: skip
            nodes = [cluster.node(p.node) for p in pods]
            if not pods or any(n is None or n.capacity_type != "on_demand" for n in nodes):
                continue
            if _why_not(w, pods, cluster) is not None:
                continue
            charges, _unpriced = pod_charges(cluster, pods)
            hours, basis = _hours(w, pods, snapshot)
            ref = WorkloadRef(
                cluster=cluster.cluster, kind=w.kind, namespace=w.namespace, name=w.name
            )
            facts = SpotPlacementCheckFacts(
                workload=ref, node_affinity_label=label, node_affinity_values=values, tolerations=tolerations,
                current_tolerations=w.pod_template_tolerations, pods=charges, hours_per_month=hours, hours_basis=basis,
            )  # fmt: skip
            types = sorted({n.instance_type or "?" for n in nodes if n is not None})
            findings.append(Finding(
                resource=workload_resource(ref, w.labels),
                summary=f"{w.kind} {w.namespace}/{w.name} in {cluster.cluster} tolerates interruption but runs "
                f"{len(pods)} pod(s) on on-demand {', '.join(types)}: prefer spot nodes",
                facts=facts,
                evidence=[
                    Evidence(label="Interruption tolerant", value="a CronJob (Jobs retry and restart)" if w.kind == "CronJob"
                             else f"labels {', '.join(f'{k}={v}' for k, v in _labels(w).items() if k in settings.tolerant_labels)}",
                             source="workload labels"),
                    Evidence(label="Pods on on-demand nodes", value=", ".join(f"{p.name} on {p.node}" for p in pods),
                             source="pods, node capacity-type labels"),
                    Evidence(label="No blocker", value="no ReadWriteOnce PVC, no PodDisruptionBudget forbidding eviction, "
                             "not a StatefulSet", source="PVCs, PDBs"),
                ],
            ))  # fmt: skip
    return findings

"""The Kubernetes write side: every change is sent with ``dryRun=All`` first, then applied.

The dry run runs the server's own validation and admission (a quantity it refuses, a Job's
immutable pod template, a policy webhook) before anything is stored, so a change the cluster
would refuse is refused with nothing changed. After the apply, the object is read back and the
caller's check decides whether it now shows the change (``Action.is_applied``).
"""

from __future__ import annotations

from typing import Any

from spendpilot.actions.k8s_facts import WorkloadRef
from spendpilot.adapters.kubernetes.client import SMP, KubeApi
from spendpilot.domain import ResourceRef

PROVIDER = "kubernetes"


def resource_ref(workload: WorkloadRef) -> ResourceRef:
    """How a workload is named to the executor and the ``Targets``: the cluster is the account."""
    return ResourceRef(
        provider=PROVIDER,
        kind=f"k8s_{workload.kind.lower()}",
        id=f"{workload.namespace}/{workload.name}",
        account=workload.cluster,
        name=workload.name,
    )


def workload_of(ref: ResourceRef) -> WorkloadRef:
    """The inverse of ``resource_ref``."""
    namespace, name = ref.id.split("/", 1)
    kinds = {"k8s_deployment": "Deployment", "k8s_statefulset": "StatefulSet", "k8s_daemonset": "DaemonSet",
             "k8s_job": "Job", "k8s_cronjob": "CronJob"}  # fmt: skip
    return WorkloadRef(
        cluster=ref.account or "", kind=kinds[ref.kind], namespace=namespace, name=name
    )


class KubeTarget:
    """One cluster's writable side, handed to actions by ``Targets``."""

    def __init__(self, cluster: str, api: KubeApi) -> None:
        self.cluster = cluster
        self.api = api
        self.dry_runs: list[str] = []
        """What this target sent with dryRun=All (the report of an execution names it)."""

    def read(self, workload: WorkloadRef) -> dict[str, Any] | None:
        return self.api.read(workload.kind, workload.namespace, workload.name)

    def patch(self, workload: WorkloadRef, body: Any, content_type: str = SMP) -> dict[str, Any]:
        """Dry run, then apply; answers the stored object. A refusal raises ``AdapterError``
        (with the server's message) from the dry run, before anything is written."""
        self.api.patch(
            workload.kind,
            workload.namespace,
            workload.name,
            body,
            dry_run=True,
            content_type=content_type,
        )
        self.dry_runs.append(f"patch {workload.label()}")
        return self.api.patch(
            workload.kind,
            workload.namespace,
            workload.name,
            body,
            dry_run=False,
            content_type=content_type,
        )

    def read_replicas(self, workload: WorkloadRef) -> int | None:
        scale = self.api.read_scale(workload.kind, workload.namespace, workload.name)
        return None if scale is None else int((scale.get("spec") or {}).get("replicas", 0))

    def scale(self, workload: WorkloadRef, replicas: int) -> dict[str, Any]:
        self.api.patch_scale(
            workload.kind, workload.namespace, workload.name, replicas, dry_run=True
        )
        self.dry_runs.append(f"scale {workload.label()} to {replicas}")
        return self.api.patch_scale(
            workload.kind, workload.namespace, workload.name, replicas, dry_run=False
        )

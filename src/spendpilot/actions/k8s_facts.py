"""The facts Kubernetes checks hand to Kubernetes actions and estimators.

Kept in one module because several checks share one action (rightsizing and the idle-GPU check
both end in a patch of container resources; the idle check and the off-hours check both end in
a scale). A check subclasses the facts of the action it proposes; the action reads only the
fields declared here, so the check can add its own evidence fields freely.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from spendpilot.domain import Facts


class WorkloadRef(BaseModel):
    """Which workload an action changes: cluster (kubeconfig context), kind, namespace, name."""

    model_config = ConfigDict(frozen=True)

    cluster: str
    kind: str  # "Deployment" | "StatefulSet" | "Job" | "CronJob" | "DaemonSet"
    namespace: str
    name: str

    def label(self) -> str:
        return f"{self.cluster}/{self.namespace}/{self.kind.lower()}/{self.name}"


class ContainerResources(BaseModel):
    """One container's requests/limits, as quantities the API accepts ("250m", "512Mi", "1")."""

    model_config = ConfigDict(frozen=True)

    container: str
    requests: dict[str, str] = Field(default_factory=dict)
    limits: dict[str, str] = Field(default_factory=dict)


class K8sWorkloadFacts(Facts):
    workload: WorkloadRef


class PatchResourcesFacts(K8sWorkloadFacts):
    """Set containers' requests/limits to ``proposed``; ``current`` is what the sweep saw (drift
    check and rollback both use it)."""

    current: list[ContainerResources]
    proposed: list[ContainerResources]


class ScaleReplicasFacts(K8sWorkloadFacts):
    """Scale a Deployment/StatefulSet from ``current_replicas`` to ``target_replicas``."""

    current_replicas: int = Field(ge=0)
    target_replicas: int = Field(ge=0)
    schedule: str | None = None
    """When set (a cron expression, e.g. "0 20 * * 1-5"), the proposal is a scale-to-zero
    *schedule* (off-hours) rather than a one-off scale; the action writes it as described in
    its module."""


class JobLimitsFacts(K8sWorkloadFacts):
    """Set a Job's (or a CronJob's jobTemplate's) ``ttlSecondsAfterFinished`` and/or
    ``activeDeadlineSeconds``; None leaves that field alone. ``current_*`` are the sweep's view."""

    current_ttl_seconds: int | None = None
    current_active_deadline_seconds: int | None = None
    ttl_seconds: int | None = None
    active_deadline_seconds: int | None = None


class SpotPlacementFacts(K8sWorkloadFacts):
    """Add spot node affinity and tolerations to a workload's pod template."""

    node_affinity_label: str = "karpenter.sh/capacity-type"
    node_affinity_values: list[str] = Field(default_factory=lambda: ["spot"])
    tolerations: list[dict[str, str]] = Field(default_factory=list)
    current_tolerations: list[dict[str, str]] = Field(default_factory=list)
    """The pod template's tolerations as the sweep saw them (drift check; rollback keeps them)."""

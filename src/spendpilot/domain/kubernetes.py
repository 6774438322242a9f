"""What a sweep knows about one Kubernetes cluster: its objects and their usage history.

The Kubernetes source reads objects through the API server; the Prometheus source reads usage.
Both land here so checks (rightsizing, idle GPU pods, zombie Jobs, spot placement) and cost
allocation work on one typed picture, never on raw API JSON. Quantities are already parsed
(CPU in cores, memory in bytes, GPUs as a count or a fraction of a physical GPU).
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from spendpilot.domain.resources import MetricPoint


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class GpuSharing(_Frozen):
    """How a node's physical GPUs are shared, when they are.

    ``mig``: the GPUs are partitioned into MIG slices; ``mig_profiles`` maps the extended resource
    (``nvidia.com/mig-1g.10gb``) to the fraction of one physical GPU a slice of it is (1/7 for a
    1g slice of an A100/H100). ``time_slicing``: each physical GPU is advertised ``replicas`` times
    (NVIDIA device plugin ``sharing.timeSlicing``), so one advertised ``nvidia.com/gpu`` is
    ``1/replicas`` of a GPU.
    """

    mode: str  # "none" | "mig" | "time_slicing"
    replicas: int = 1
    mig_profiles: dict[str, float] = Field(default_factory=dict)


class KubeNode(_Frozen):
    name: str
    instance_type: str | None = None
    """``node.kubernetes.io/instance-type`` (or the older ``beta.kubernetes.io/instance-type``)."""
    zone: str | None = None
    region: str | None = None
    capacity_type: str = "on_demand"
    """"spot" or "on_demand", from karpenter.sh/capacity-type, eks.amazonaws.com/capacityType or
    cloud.google.com/gke-spot."""
    provider_id: str | None = None
    """``spec.providerID``, e.g. ``aws:///us-east-1a/i-0abc``; its last part is the instance id."""
    cpu_cores: float = 0.0
    memory_bytes: float = 0.0
    gpu_model: str | None = None
    """``nvidia.com/gpu.product``."""
    gpu_count: int = 0
    """Physical GPUs (``nvidia.com/gpu.count``; else allocatable ``nvidia.com/gpu`` / replicas)."""
    gpu_sharing: GpuSharing = GpuSharing(mode="none")
    allocatable: dict[str, float] = Field(default_factory=dict)
    """Allocatable resources as parsed numbers (``cpu`` cores, ``memory`` bytes, ``nvidia.com/gpu``...)."""
    labels: dict[str, str] = Field(default_factory=dict)
    created_at: AwareDatetime | None = None
    taints: list[dict[str, str]] = Field(default_factory=list)
    """``spec.taints`` (key, value, effect): what a pod must tolerate to run here."""

    @property
    def instance_id(self) -> str | None:
        if self.provider_id and self.provider_id.startswith("aws://"):
            return self.provider_id.rsplit("/", 1)[-1] or None
        return None


class KubeContainer(_Frozen):
    name: str
    requests: dict[str, float] = Field(default_factory=dict)
    """``cpu`` in cores, ``memory`` in bytes, extended resources (``nvidia.com/gpu``, MIG) as counts."""
    limits: dict[str, float] = Field(default_factory=dict)


class OwnerRef(_Frozen):
    kind: str  # "Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet", ...
    name: str


class KubePod(_Frozen):
    namespace: str
    name: str
    node: str | None = None
    phase: str = "Running"
    owner: OwnerRef | None = None
    """The top-level controller (a ReplicaSet resolved to its Deployment, a Job to its CronJob)."""
    containers: list[KubeContainer] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    pvc_names: list[str] = Field(default_factory=list)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, str]] = Field(default_factory=list)
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None

    def request(self, resource: str) -> float:
        return sum(c.requests.get(resource, 0.0) for c in self.containers)


class KubeWorkload(_Frozen):
    """A Deployment, StatefulSet, DaemonSet, Job or CronJob."""

    kind: str
    namespace: str
    name: str
    replicas: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    pod_template_labels: dict[str, str] = Field(default_factory=dict)
    containers: list[KubeContainer] = Field(default_factory=list)
    """The pod template's containers, with their requests and limits as written."""
    # Job / CronJob fields
    ttl_seconds_after_finished: int | None = None
    active_deadline_seconds: int | None = None
    started_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    suspended: bool = False
    created_at: AwareDatetime | None = None
    owner: OwnerRef | None = None
    """The controller that owns it (a Job created by a CronJob names the CronJob)."""
    pod_template_node_selector: dict[str, str] = Field(default_factory=dict)
    pod_template_tolerations: list[dict[str, str]] = Field(default_factory=list)
    pod_template_affinity: dict[str, Any] = Field(default_factory=dict)
    schedule: str | None = None
    """A CronJob's ``spec.schedule`` (cron syntax)."""
    """The pod template's ``affinity`` as written (nodeAffinity, podAffinity...)."""


class KubeHpa(_Frozen):
    namespace: str
    name: str
    target_kind: str
    target_name: str
    resources: list[str] = Field(default_factory=list)
    """Resource metrics it scales on ("cpu", "memory")."""
    min_replicas: int | None = None
    max_replicas: int | None = None


class KubePvc(_Frozen):
    namespace: str
    name: str
    access_modes: list[str] = Field(default_factory=list)
    storage_bytes: float = 0.0
    storage_class: str | None = None


class KubePdb(_Frozen):
    namespace: str
    name: str
    selector: dict[str, str] = Field(default_factory=dict)
    """matchLabels of the budget's selector."""
    max_unavailable: str | None = None
    min_available: str | None = None
    disruptions_allowed: int | None = None


CURRENT_READING = "metrics.k8s.io"
"""``UsageSeries.labels["source"]`` of a one-point reading from metrics-server (no history)."""


class UsageSeries(_Frozen):
    """One container's (or one GPU's) usage over time, as Prometheus reports it.

    ``metric`` is one of ``cpu_cores`` (rate of container_cpu_usage_seconds_total),
    ``memory_bytes`` (container_memory_working_set_bytes), ``gpu_util_percent``
    (DCGM_FI_DEV_GPU_UTIL), ``gpu_fb_used_mib`` (DCGM_FI_DEV_FB_USED).
    """

    namespace: str
    pod: str
    container: str | None = None
    metric: str
    step_seconds: int = 3600
    points: list[MetricPoint] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra labels (a GPU's ``gpu``/``UUID``/``modelName`` from the DCGM exporter)."""

    def values(self) -> list[float]:
        return [p.value for p in self.points]


class ClusterState(BaseModel):
    """One cluster as one sweep read it."""

    cluster: str
    """The kubeconfig context name (or the configured name) that identifies it in reports."""
    read_at: AwareDatetime
    nodes: list[KubeNode] = Field(default_factory=list)
    pods: list[KubePod] = Field(default_factory=list)
    workloads: list[KubeWorkload] = Field(default_factory=list)
    hpas: list[KubeHpa] = Field(default_factory=list)
    pvcs: list[KubePvc] = Field(default_factory=list)
    pdbs: list[KubePdb] = Field(default_factory=list)
    namespaces: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Namespace -> its labels."""
    usage: list[UsageSeries] = Field(default_factory=list)
    usage_window_hours: float = 0.0
    """How much history ``usage`` covers (the Prometheus look-back actually read)."""

    def node(self, name: str | None) -> KubeNode | None:
        return next((n for n in self.nodes if n.name == name), None) if name else None

    def workload(self, kind: str, namespace: str, name: str) -> KubeWorkload | None:
        return next(
            (w for w in self.workloads if w.kind == kind and w.namespace == namespace and w.name == name),
            None,
        )

    def usage_of(self, namespace: str, pod: str, metric: str) -> list[UsageSeries]:
        return [u for u in self.usage if u.namespace == namespace and u.pod == pod and u.metric == metric]

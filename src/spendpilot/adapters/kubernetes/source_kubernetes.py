"""The Kubernetes source: one cluster (one kubeconfig context) per source, read through the API
server with the official ``kubernetes`` client into one ``ClusterState``.

Each context is its own source, so one unreachable cluster is one named gap while the others
are read. Within a cluster, nodes and pods (and the controllers that own pods) are the core: if
they cannot be read the whole cluster is a gap. HPAs, PVCs and PDBs are read on their own: a
role that may not list them costs a partial gap (``Gap.part``) and the checks that need them
(spot placement needs PVCs and PDBs) see them as unknown rather than absent.

It is also the Kubernetes *target*: actions on a workload in its cluster patch through it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field

from spendpilot.adapters.base import Source, SourceContext, SourceSettings, register_source
from spendpilot.adapters.kubernetes._objects import meta
from spendpilot.adapters.kubernetes.client import KubeApi
from spendpilot.adapters.kubernetes.nodes import read_node
from spendpilot.adapters.kubernetes.pod_metrics import read_pod_metrics
from spendpilot.adapters.kubernetes.pods import owner_index, read_pod
from spendpilot.adapters.kubernetes.target import PROVIDER, KubeTarget
from spendpilot.adapters.kubernetes.workloads import read_hpa, read_pdb, read_pvc, read_workload
from spendpilot.domain import Gap, ResourceRef, SourceResult
from spendpilot.domain.kubernetes import ClusterState, UsageSeries
from spendpilot.errors import AdapterError, ConfigError

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")

READ_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("", "nodes", ("get", "list")),
    ("", "namespaces", ("get", "list")),
    ("", "pods", ("get", "list")),
    ("", "persistentvolumeclaims", ("get", "list")),
    ("apps", "deployments", ("get", "list")),
    ("apps", "statefulsets", ("get", "list")),
    ("apps", "daemonsets", ("get", "list")),
    ("apps", "replicasets", ("get", "list")),
    ("batch", "jobs", ("get", "list")),
    ("batch", "cronjobs", ("get", "list")),
    ("autoscaling", "horizontalpodautoscalers", ("get", "list")),
    ("policy", "poddisruptionbudgets", ("get", "list")),
    ("metrics.k8s.io", "pods", ("get", "list")),
)
"""(API group, resource, verbs) the source reads: the RBAC rules ``spendpilot policy`` prints."""


def rule_strings(rules: Sequence[tuple[str, str, tuple[str, ...]]]) -> tuple[str, ...]:
    """Rules as ``k8s:<group>/<resource>:<verb>`` strings (the ``permissions`` of a kind)."""
    return tuple(
        f"k8s:{group or 'core'}/{resource}:{verb}"
        for group, resource, verbs in rules
        for verb in verbs
    )


class KubernetesSettings(SourceSettings):
    kind: str = "kubernetes"
    kubeconfig: Path | None = Field(
        None,
        description="The kubeconfig file. Unset: the first file of $KUBECONFIG, else ~/.kube/config.",
    )
    contexts: list[str] = Field(
        default_factory=list,
        description="kubeconfig contexts to read, each its own cluster (named by its context). Empty: the current context.",
    )
    request_timeout: float = Field(
        30.0, gt=0, le=600, description="Seconds each API request may take."
    )
    current_usage: bool = Field(
        True,
        description="Read each pod's current CPU and memory from metrics.k8s.io (metrics-server) as a one-point "
        "reading. History for rightsizing and idle checks comes from a `prometheus` source; when one reads "
        "this cluster, its history replaces the reading.",
    )


def default_kubeconfig() -> Path:
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), None)
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


def current_context(kubeconfig: Path) -> str:
    from kubernetes import config

    try:
        _contexts, current = config.list_kube_config_contexts(str(kubeconfig))
    except Exception as exc:  # missing file, no current-context, bad YAML
        raise AdapterError(f"kubeconfig {kubeconfig}: {' '.join(str(exc).split())}") from exc
    return str(current["name"])


class KubernetesClusterSource:
    """One cluster. With no context configured, the kubeconfig's current context, resolved when
    read (so a missing kubeconfig is this source's gap, not a start-up failure)."""

    def __init__(self, settings: KubernetesSettings, context: str | None) -> None:
        self.settings = settings
        self.kubeconfig = (
            settings.kubeconfig.expanduser() if settings.kubeconfig else default_kubeconfig()
        )
        self._context = context
        label = settings.name or "kubernetes"
        self.name = (
            f"{label} {context}"
            if context and (len(settings.contexts) > 1 or settings.name is None)
            else label
        )

    @cached_property
    def context(self) -> str:
        return self._context or current_context(self.kubeconfig)

    @cached_property
    def api(self) -> KubeApi:
        return KubeApi(self.kubeconfig, self.context, timeout=self.settings.request_timeout)

    def target_for(self, ref: ResourceRef) -> KubeTarget | None:
        if ref.provider != PROVIDER:
            return None
        try:
            cluster = self.context
        except AdapterError:
            return None
        return KubeTarget(cluster, self.api) if ref.account == cluster else None

    def read(self, ctx: SourceContext) -> SourceResult:
        api = self.api
        api.version()  # one cheap call first: an unreachable cluster fails here with its address
        raw: dict[str, list[dict[str, Any]]] = {
            kind: api.workloads(kind) for kind in (*WORKLOAD_KINDS, "ReplicaSet")
        }
        owners = owner_index(raw["ReplicaSet"], raw["Job"])
        nodes = [read_node(n) for n in api.nodes()]
        pods = [read_pod(p, owners) for p in api.pods()]
        namespaces = {
            str(meta(n).get("name")): dict(meta(n).get("labels") or {}) for n in api.namespaces()
        }
        workloads = [read_workload(kind, obj) for kind in WORKLOAD_KINDS for obj in raw[kind]]
        gaps: list[Gap] = []
        parts: dict[str, list[Any]] = {}
        for part, read in (
            (
                "HorizontalPodAutoscalers",
                lambda: [read_hpa(o) for o in api.workloads("HorizontalPodAutoscaler")],
            ),
            ("PersistentVolumeClaims", lambda: [read_pvc(o) for o in api.pvcs()]),
            (
                "PodDisruptionBudgets",
                lambda: [read_pdb(o) for o in api.workloads("PodDisruptionBudget")],
            ),
        ):
            try:
                parts[part] = read()
            except AdapterError as exc:
                parts[part] = []
                gaps.append(Gap(source=self.name, part=part, error=str(exc)))
        usage, warnings = self._current_usage(api, ctx)
        cluster = ClusterState(
            cluster=self.context, read_at=ctx.now, nodes=nodes, pods=pods, workloads=workloads,
            hpas=parts["HorizontalPodAutoscalers"], pvcs=parts["PersistentVolumeClaims"],
            pdbs=parts["PodDisruptionBudgets"], namespaces=namespaces, usage=usage,
        )  # fmt: skip
        gpus = sum(n.gpu_count for n in nodes)
        summary = (
            f"cluster {self.context}: {len(nodes):,} nodes{f' ({gpus} GPUs)' if gpus else ''}, {len(pods):,} pods, "
            f"{len(workloads):,} workloads in {len(namespaces)} namespace{'' if len(namespaces) == 1 else 's'}"
        )
        if usage:
            summary += f", current usage of {len({(u.namespace, u.pod) for u in usage}):,} pods (metrics.k8s.io)"
        return SourceResult(clusters=[cluster], gaps=gaps, summary=summary, warnings=warnings)

    def _current_usage(self, api: KubeApi, ctx: SourceContext) -> tuple[list[UsageSeries], list[str]]:
        """metrics-server's reading, or a warning: a cluster without metrics-server is common
        and costs only the current reading, so it is not a gap."""
        if not self.settings.current_usage:
            return [], []
        try:
            objects = api.pod_metrics()
        except AdapterError as exc:
            return [], [f"no current pod usage from metrics.k8s.io ({exc}); a prometheus source gives history"]
        return [s for obj in objects for s in read_pod_metrics(obj, ctx.now)], []


@register_source(
    "kubernetes",
    settings=KubernetesSettings,
    description="Kubernetes clusters (kubeconfig contexts): nodes, GPUs, pods, workloads, HPAs, PVCs, PDBs.",
    permissions=rule_strings(READ_RULES),
)
def kubernetes_sources(settings: KubernetesSettings, home: Path) -> Sequence[Source]:
    if len(set(settings.contexts)) != len(settings.contexts):
        raise ConfigError(
            f"kubernetes source {settings.name or ''}: a context is listed twice in `contexts`"
        )
    return [KubernetesClusterSource(settings, c) for c in settings.contexts] or [
        KubernetesClusterSource(settings, None)
    ]

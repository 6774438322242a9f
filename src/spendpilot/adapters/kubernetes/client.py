"""One cluster's API through the official ``kubernetes`` client, answering plain JSON dicts.

The client's typed models refuse fields they do not know (``extra="forbid"``), and a cluster
newer than the client has such fields; so every call asks for the raw response
(``_preload_content=False``) and the readers parse the JSON themselves. Errors still arrive as
the client's ``ApiException`` (with the server's ``Status`` body), turned into ``AdapterError``
here with the cluster, the path and the server's message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spendpilot.errors import AdapterError

SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"

# kind -> (API class, read, patch, read the scale subresource, patch it)
_WORKLOAD_CALLS: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "Deployment": ("AppsV1Api", "read_namespaced_deployment", "patch_namespaced_deployment",
                   "read_namespaced_deployment_scale", "patch_namespaced_deployment_scale"),
    "StatefulSet": ("AppsV1Api", "read_namespaced_stateful_set", "patch_namespaced_stateful_set",
                    "read_namespaced_stateful_set_scale", "patch_namespaced_stateful_set_scale"),
    "DaemonSet": ("AppsV1Api", "read_namespaced_daemon_set", "patch_namespaced_daemon_set", None, None),
    "Job": ("BatchV1Api", "read_namespaced_job", "patch_namespaced_job", None, None),
    "CronJob": ("BatchV1Api", "read_namespaced_cron_job", "patch_namespaced_cron_job", None, None),
}  # fmt: skip


def api_error_message(exc: Exception) -> str:
    """The server's ``Status.message`` when there is one, else the exception's first line."""
    body = getattr(exc, "body", None)
    if body:
        try:
            status = json.loads(body)
            if isinstance(status, dict) and status.get("message"):
                return f"{status.get('code', getattr(exc, 'status', ''))} {status.get('reason', '')}: {status['message']}"
        except (ValueError, TypeError):
            pass
    status_code = getattr(exc, "status", None)
    text = " ".join(str(exc).split())[:300]
    return f"{status_code} {text}" if status_code else text


class KubeApi:
    """The calls spendpilot makes on one cluster (one kubeconfig context)."""

    def __init__(self, kubeconfig: Path | None, context: str, timeout: float = 30.0) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.timeout = timeout
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from kubernetes import config

            try:
                self._client = config.new_client_from_config(
                    config_file=str(self.kubeconfig) if self.kubeconfig else None,
                    context=self.context,
                )
            except Exception as exc:  # the loader raises ConfigException, OSError, yaml errors
                where = self.kubeconfig or "the default kubeconfig"
                raise AdapterError(f"kubeconfig {where}, context {self.context!r}: {exc}") from exc
        return self._client

    def _call(
        self, api_class: str, method: str, what: str, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        fn: Callable[..., Any] = getattr(getattr(client, api_class)(self.client), method)
        try:
            response = fn(*args, _preload_content=False, _request_timeout=self.timeout, **kwargs)
        except ApiException as exc:
            raise AdapterError(f"cluster {self.context}: {what}: {api_error_message(exc)}") from exc
        except Exception as exc:  # urllib3 connection errors, timeouts
            raise AdapterError(
                f"cluster {self.context}: {what}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            ) from exc
        data = json.loads(response.data or b"{}")
        if not isinstance(data, dict):
            raise AdapterError(f"cluster {self.context}: {what}: the answer is not a JSON object")
        return data

    def items(self, api_class: str, method: str, what: str, *args: Any) -> list[dict[str, Any]]:
        return list(self._call(api_class, method, f"list {what}", *args).get("items") or [])

    # --- reads the source makes
    def version(self) -> dict[str, Any]:
        return self._call("VersionApi", "get_code", "GET /version")

    def nodes(self) -> list[dict[str, Any]]:
        return self.items("CoreV1Api", "list_node", "nodes")

    def namespaces(self) -> list[dict[str, Any]]:
        return self.items("CoreV1Api", "list_namespace", "namespaces")

    def pods(self) -> list[dict[str, Any]]:
        return self.items("CoreV1Api", "list_pod_for_all_namespaces", "pods")

    def pod_metrics(self) -> list[dict[str, Any]]:
        """metrics.k8s.io ``PodMetrics`` (metrics-server): each container's usage right now."""
        return self.items(
            "CustomObjectsApi", "list_cluster_custom_object", "pod metrics (metrics.k8s.io)",
            "metrics.k8s.io", "v1beta1", "pods",
        )

    def pvcs(self) -> list[dict[str, Any]]:
        return self.items(
            "CoreV1Api", "list_persistent_volume_claim_for_all_namespaces", "persistentvolumeclaims"
        )

    def workloads(self, kind: str) -> list[dict[str, Any]]:
        method = {
            "Deployment": ("AppsV1Api", "list_deployment_for_all_namespaces"),
            "StatefulSet": ("AppsV1Api", "list_stateful_set_for_all_namespaces"),
            "DaemonSet": ("AppsV1Api", "list_daemon_set_for_all_namespaces"),
            "ReplicaSet": ("AppsV1Api", "list_replica_set_for_all_namespaces"),
            "Job": ("BatchV1Api", "list_job_for_all_namespaces"),
            "CronJob": ("BatchV1Api", "list_cron_job_for_all_namespaces"),
            "HorizontalPodAutoscaler": (
                "AutoscalingV2Api",
                "list_horizontal_pod_autoscaler_for_all_namespaces",
            ),
            "PodDisruptionBudget": ("PolicyV1Api", "list_pod_disruption_budget_for_all_namespaces"),
        }[kind]
        return self.items(*method, kind)

    # --- reads and writes the actions make
    def read(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None when the server says 404."""
        api_class, read, _patch, _sr, _sp = self._calls(kind)
        try:
            return self._call(api_class, read, f"get {kind} {namespace}/{name}", name, namespace)
        except AdapterError as exc:
            if getattr(exc.__cause__, "status", None) == 404:
                return None
            raise

    def patch(
        self,
        kind: str,
        namespace: str,
        name: str,
        body: Any,
        *,
        dry_run: bool,
        content_type: str = SMP,
    ) -> dict[str, Any]:
        api_class, _read, patch, _sr, _sp = self._calls(kind)
        extra = {"dry_run": "All"} if dry_run else {}
        what = f"{'dry-run ' if dry_run else ''}patch {kind} {namespace}/{name}"
        return self._call(
            api_class, patch, what, name, namespace, body, _content_type=content_type, **extra
        )

    def read_scale(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        api_class, _read, _patch, read_scale, _sp = self._calls(kind)
        if read_scale is None:
            raise AdapterError(f"{kind} has no scale subresource")
        try:
            return self._call(
                api_class, read_scale, f"get {kind} {namespace}/{name}/scale", name, namespace
            )
        except AdapterError as exc:
            if getattr(exc.__cause__, "status", None) == 404:
                return None
            raise

    def patch_scale(
        self, kind: str, namespace: str, name: str, replicas: int, *, dry_run: bool
    ) -> dict[str, Any]:
        api_class, _read, _patch, _sr, patch_scale = self._calls(kind)
        if patch_scale is None:
            raise AdapterError(f"{kind} has no scale subresource")
        extra = {"dry_run": "All"} if dry_run else {}
        what = f"{'dry-run ' if dry_run else ''}scale {kind} {namespace}/{name} to {replicas}"
        body = {"spec": {"replicas": replicas}}
        return self._call(
            api_class, patch_scale, what, name, namespace, body, _content_type=MERGE, **extra
        )

    @staticmethod
    def _calls(kind: str) -> tuple[str, str, str, str | None, str | None]:
        if kind not in _WORKLOAD_CALLS:
            raise AdapterError(f"spendpilot does not change {kind} objects")
        return _WORKLOAD_CALLS[kind]

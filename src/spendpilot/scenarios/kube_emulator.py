"""A small emulator of the Kubernetes API paths spendpilot uses. It is NOT a kube-apiserver.

No kube-apiserver can run on the machines spendpilot is developed and demonstrated on, yet the
Kubernetes source and actions must talk real HTTP through the official ``kubernetes`` client,
exactly as they talk to a cluster. This server holds objects seeded from manifests (dicts or
YAML) and answers the REST paths and JSON shapes of the real API for those objects:

- ``GET /version``; list (cluster-wide and per namespace) and get for nodes, namespaces, pods,
  PVCs (``/api/v1``), Deployments, StatefulSets, DaemonSets, ReplicaSets (``/apis/apps/v1``),
  Jobs, CronJobs (``/apis/batch/v1``), HPAs (``/apis/autoscaling/v2``), PDBs
  (``/apis/policy/v1``) and pod metrics (``/apis/metrics.k8s.io/v1beta1``);
- ``PATCH`` with ``application/strategic-merge-patch+json`` (lists with a patch merge key, such
  as ``containers`` by ``name``, merged item by item as the real server does),
  ``application/merge-patch+json`` (RFC 7386) and ``application/json-patch+json`` (RFC 6902);
- the ``/scale`` subresource of Deployments and StatefulSets (``autoscaling/v1`` ``Scale``);
- ``?dryRun=All``: validated and answered, not stored;
- ``metadata.resourceVersion`` from one counter, bumped on every write; a patch that names a
  stale resourceVersion is a 409 Conflict; errors are ``Status`` objects (404 NotFound,
  422 Invalid, 409 Conflict, 415 UnsupportedMediaType, 405 MethodNotAllowed).

What it does not do: watch, create/delete, admission, controllers (a scaled Deployment gets no
new pods; the seeded pods stay as they are), authentication (any bearer token is accepted).
The validation is the part of the real server's that spendpilot's writes can trip: negative
replicas, malformed quantities, requests above limits, a Job's immutable pod template.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

GIT_VERSION = "v1.31.0-spendpilot-emulator"
VERSION_INFO = {
    "major": "1", "minor": "31", "gitVersion": GIT_VERSION, "gitCommit": "0" * 40, "gitTreeState": "clean",
    "buildDate": "2024-08-13T07:28:49Z", "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64",
}  # fmt: skip
"""The shape of a real ``/version`` (every field is required by the official client's model)."""


@dataclass(frozen=True)
class ResourceType:
    group_version: str  # "v1", "apps/v1"
    plural: str
    kind: str
    namespaced: bool

    @property
    def prefix(self) -> str:
        return "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"


RESOURCE_TYPES: tuple[ResourceType, ...] = (
    ResourceType("v1", "nodes", "Node", False),
    ResourceType("v1", "namespaces", "Namespace", False),
    ResourceType("v1", "pods", "Pod", True),
    ResourceType("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True),
    ResourceType("apps/v1", "deployments", "Deployment", True),
    ResourceType("apps/v1", "statefulsets", "StatefulSet", True),
    ResourceType("apps/v1", "daemonsets", "DaemonSet", True),
    ResourceType("apps/v1", "replicasets", "ReplicaSet", True),
    ResourceType("batch/v1", "jobs", "Job", True),
    ResourceType("batch/v1", "cronjobs", "CronJob", True),
    ResourceType("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True),
    ResourceType("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    ResourceType("metrics.k8s.io/v1beta1", "pods", "PodMetrics", True),
)
_BY_PATH = {(t.group_version, t.plural): t for t in RESOURCE_TYPES}
_BY_KIND = {(t.group_version, t.kind): t for t in RESOURCE_TYPES}
_SCALABLE = {"deployments", "statefulsets", "replicasets"}

# Lists the real API merges item by item in a strategic merge patch, and their merge keys
# (``patchMergeKey`` in the OpenAPI schema). Any other list is replaced whole, as there.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "conditions": "type",
}

_QUANTITY = re.compile(
    r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)


class ApiError(Exception):
    """Answered as a ``Status`` object with ``code``."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def status(self) -> dict[str, Any]:
        return {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        }  # fmt: skip


# --- patches ------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any, field: str | None = None) -> Any:
    """Kubernetes strategic merge patch for the lists spendpilot touches.

    Maps merge as in a merge patch; a list named in ``MERGE_KEYS`` is merged item by item on its
    key (an item ``{"$patch": "delete", name: ...}`` removes one); other lists are replaced.
    A map carrying ``"$patch": "replace"`` replaces instead of merging.
    """
    if isinstance(patch, list):
        key = MERGE_KEYS.get(field or "")
        if key is None or not isinstance(target, list):
            return [
                copy.deepcopy(x) for x in patch if not (isinstance(x, dict) and x.get("$patch"))
            ]
        merged = [copy.deepcopy(x) for x in target]
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                raise ApiError(
                    422, "Invalid", f"{field}: every item of a strategic merge patch needs `{key}`"
                )
            at = next(
                (
                    i
                    for i, x in enumerate(merged)
                    if isinstance(x, dict) and x.get(key) == item[key]
                ),
                None,
            )
            if item.get("$patch") == "delete":
                if at is not None:
                    merged.pop(at)
            elif at is None:
                merged.append(strategic_merge_patch({}, item))
            else:
                merged[at] = strategic_merge_patch(merged[at], item)
        return merged
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = strategic_merge_patch(result.get(key), value, key)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", f"json patch: path {path!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902 JSON patch: add, remove, replace, test (move/copy are not used by spendpilot)."""
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json patch: the body must be a JSON array of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        if not parts:
            raise ApiError(422, "Invalid", "json patch: cannot operate on the whole document")
        parent: Any = doc
        for part in parts[:-1]:
            try:
                parent = parent[int(part)] if isinstance(parent, list) else parent[part]
            except (KeyError, IndexError, ValueError) as exc:
                raise ApiError(
                    422, "Invalid", f"json patch: path {op.get('path')!r} does not exist"
                ) from exc
        last = parts[-1]
        if kind == "test":
            here = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if here != op.get("value"):
                raise ApiError(422, "Invalid", f"json patch: test failed at {op.get('path')!r}")
        elif kind in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op.get("value"))
                elif kind == "add":
                    parent.insert(int(last), op.get("value"))
                else:
                    parent[int(last)] = op.get("value")
            else:
                if kind == "replace" and last not in parent:
                    raise ApiError(
                        422, "Invalid", f"json patch: replace of missing {op.get('path')!r}"
                    )
                parent[last] = op.get("value")
        elif kind == "remove":
            try:
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            except (KeyError, IndexError, ValueError) as exc:
                raise ApiError(
                    422, "Invalid", f"json patch: remove of missing {op.get('path')!r}"
                ) from exc
        else:
            raise ApiError(422, "Invalid", f"json patch: unsupported op {kind!r}")
    return doc


# --- validation --------------------------------------------------------------------------


def _parse_quantity(value: Any) -> float:
    """Just enough to compare a request with a limit (the source has the full parser)."""
    text = str(value)
    if not _QUANTITY.match(text):
        raise ValueError(text)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "n": 1e-9,
             "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}  # fmt: skip
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix) and not re.search(r"\d[eE][+-]?\d+$", text):
            return float(text[: -len(suffix)]) * units[suffix]
    return float(text)


def _pod_spec(kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get(
            "spec"
        )
    return (spec.get("template") or {}).get("spec")


def _invalid(kind: str, name: str, field: str, why: str) -> ApiError:
    """The real server's wording: ``Deployment.apps "web" is invalid: spec.replicas: ...``."""
    group = next(
        (
            t.group_version.split("/")[0]
            for t in RESOURCE_TYPES
            if t.kind == kind and "/" in t.group_version
        ),
        "",
    )
    return ApiError(
        422, "Invalid", f'{kind}{"." + group if group else ""} "{name}" is invalid: {field}: {why}'
    )


def validate(rtype: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
    """The checks of the real API that spendpilot's writes could trip (raise ApiError 422)."""
    name = new.get("metadata", {}).get("name", "")
    kind = rtype.kind
    spec = new.get("spec") or {}
    replicas = spec.get("replicas")
    if replicas is not None and (
        not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0
    ):
        raise _invalid(
            kind,
            name,
            "spec.replicas",
            f"Invalid value: {replicas!r}: must be greater than or equal to 0",
        )
    job_spec = (
        spec
        if kind == "Job"
        else ((spec.get("jobTemplate") or {}).get("spec") or {})
        if kind == "CronJob"
        else {}
    )
    for field, minimum in (("ttlSecondsAfterFinished", 0), ("activeDeadlineSeconds", 1)):
        value = job_spec.get(field)
        if value is not None and (not isinstance(value, int) or value < minimum):
            raise _invalid(
                kind, name, f"spec.{field}", f"Invalid value: {value!r}: must be >= {minimum}"
            )
    if kind == "Job" and (old.get("spec") or {}).get("template") != spec.get("template"):
        raise _invalid(kind, name, "spec.template", "Invalid value: field is immutable")
    pod = _pod_spec(kind, new) or {}
    for i, container in enumerate(pod.get("containers") or []):
        if not container.get("name"):
            raise _invalid(kind, name, f"spec.containers[{i}].name", "Required value")
        res = container.get("resources") or {}
        parsed: dict[str, dict[str, float]] = {}
        for part in ("requests", "limits"):
            parsed[part] = {}
            for resource, qty in (res.get(part) or {}).items():
                try:
                    parsed[part][resource] = _parse_quantity(qty)
                except ValueError:
                    raise _invalid(
                        kind,
                        name,
                        f"spec.containers[{i}].resources.{part}[{resource}]",
                        f"Invalid value: {qty!r}: quantities must match the regular expression "
                        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                    ) from None
        for resource, request in parsed["requests"].items():
            limit = parsed["limits"].get(resource)
            if limit is not None and request > limit + 1e-12:
                raise _invalid(
                    kind,
                    name,
                    f"spec.containers[{i}].resources.requests",
                    f"Invalid value: {res['requests'][resource]!r}: must be less than or equal to {resource} limit of {res['limits'][resource]}",
                )


# --- the store ---------------------------------------------------------------------------


def _now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeObjectStore:
    """Objects by (resource type, namespace, name); one resourceVersion counter for all."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[ResourceType, dict[tuple[str, str], dict[str, Any]]] = {
            t: {} for t in RESOURCE_TYPES
        }
        self._version = 1000

    def _bump(self) -> str:
        self._version += 1
        return str(self._version)

    def add(self, manifest: Mapping[str, Any]) -> None:
        """Seed one object from a manifest (``apiVersion`` + ``kind`` pick its type)."""
        obj = copy.deepcopy(dict(manifest))
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        rtype = _BY_KIND.get(key)
        if rtype is None:
            raise ValueError(f"the emulator does not serve {key[1] or '?'} of {key[0] or '?'}")
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            raise ValueError(f"{rtype.kind} without metadata.name")
        if rtype.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        with self._lock:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", _now_rfc3339())
            if rtype.kind in (
                "Deployment",
                "StatefulSet",
                "DaemonSet",
                "ReplicaSet",
                "Job",
                "CronJob",
            ):
                meta.setdefault("generation", 1)
            meta["resourceVersion"] = self._bump()
            self._objects[rtype][(meta.get("namespace", ""), meta["name"])] = obj
            if rtype.namespaced and rtype.kind != "PodMetrics":
                ns_type = _BY_PATH[("v1", "namespaces")]
                if ("", meta["namespace"]) not in self._objects[ns_type]:
                    self.add(
                        {
                            "apiVersion": "v1",
                            "kind": "Namespace",
                            "metadata": {"name": meta["namespace"]},
                        }
                    )

    def add_all(self, manifests: Iterable[Mapping[str, Any]]) -> None:
        for m in manifests:
            if m.get("kind") == "List":
                self.add_all(m.get("items") or [])
            else:
                self.add(m)

    def list(self, rtype: ResourceType, namespace: str | None) -> tuple[list[dict[str, Any]], str]:
        with self._lock:
            items = [
                copy.deepcopy(o)
                for (ns, _), o in sorted(self._objects[rtype].items())
                if namespace in (None, ns)
            ]
            return items, str(self._version)

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        with self._lock:
            obj = self._objects[rtype].get((namespace or "", name))
            if obj is None:
                group = rtype.group_version.split("/")[0] if "/" in rtype.group_version else ""
                resource = f"{rtype.plural}.{group}" if group else rtype.plural
                raise ApiError(404, "NotFound", f'{resource} "{name}" not found')
            return copy.deepcopy(obj)

    def replace(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        new: dict[str, Any],
        dry_run: bool,
    ) -> dict[str, Any]:
        """Validate ``new`` against the stored object and store it (unless ``dry_run``)."""
        with self._lock:
            old = self.get(rtype, namespace, name)
            meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
            wanted = meta.get("resourceVersion")
            if wanted not in (None, old_meta["resourceVersion"]):
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {rtype.plural} "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again",
                )
            for fixed in ("name", "namespace", "uid", "creationTimestamp"):
                if fixed in old_meta:
                    meta[fixed] = old_meta[fixed]
            validate(rtype, old, new)
            if new.get("spec") != old.get("spec") and "generation" in old_meta:
                meta["generation"] = int(old_meta["generation"]) + 1
            if dry_run:
                meta["resourceVersion"] = old_meta["resourceVersion"]
                return new
            meta["resourceVersion"] = self._bump()
            self._objects[rtype][(namespace or "", name)] = copy.deepcopy(new)
            return new


# --- HTTP --------------------------------------------------------------------------------


def _route(path: str) -> tuple[ResourceType, str | None, str | None, str | None]:
    """(type, namespace, name, subresource) for an API path; ApiError 404 for anything else."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        gv, rest = "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        raise ApiError(
            404, "NotFound", f"the server could not find the requested resource ({path})"
        )
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise ApiError(
            404, "NotFound", f"the server could not find the requested resource ({path})"
        )
    rtype = _BY_PATH.get((gv, rest[0]))
    if rtype is None or (namespace is not None and not rtype.namespaced):
        raise ApiError(
            404, "NotFound", f"the server could not find the requested resource ({path})"
        )
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and not (
        sub == "scale" and rtype.plural in _SCALABLE and rtype.group_version == "apps/v1"
    ):
        raise ApiError(
            404, "NotFound", f"the server could not find the requested resource ({path})"
        )
    if name is not None and rtype.namespaced and namespace is None:
        raise ApiError(
            404, "NotFound", f"the server could not find the requested resource ({path})"
        )
    return rtype, namespace, name, sub


def _scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


class _Handler(BaseHTTPRequestHandler):
    server: _KubeHttpServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: with Nagle on, each reply waits ~40 ms for a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        self.server.emulator.requests.append(f"{self.command} {self.path}")

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except json.JSONDecodeError as exc:
            raise ApiError(400, "BadRequest", f"the request body is not JSON: {exc}") from exc

    def _handle(self) -> None:
        try:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if self.command == "GET" and url.path.rstrip("/") == "/version":
                self._send(200, VERSION_INFO)
                return
            code, body = self.server.emulator.serve(
                self.command, url.path, query, self.headers.get("Content-Type", ""), self._body
            )
            self._send(code, body)
        except ApiError as err:
            self._send(err.code, err.status())

    do_GET = do_PATCH = do_PUT = do_POST = do_DELETE = _handle


class _KubeHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    emulator: KubeEmulator


class KubeEmulator:
    """One emulated cluster: a store and an HTTP server on 127.0.0.1 and a free port."""

    def __init__(self, manifests: Iterable[Mapping[str, Any]] = (), name: str = "emulated") -> None:
        self.name = name
        self.store = KubeObjectStore()
        self.store.add_all(manifests)
        self.requests: list[str] = []
        """``METHOD path`` of every request answered (tests assert on dry runs with it)."""
        self._server: _KubeHttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the emulator first"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> str:
        self._server = _KubeHttpServer(("127.0.0.1", 0), _Handler)
        self._server.emulator = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"kube-emulator-{self.name}", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve(
        self, method: str, path: str, query: dict[str, list[str]], content_type: str, body: Any
    ) -> tuple[int, dict[str, Any]]:
        rtype, namespace, name, sub = _route(path)
        dry_run = query.get("dryRun", [""])[0]
        if dry_run not in ("", "All"):
            raise ApiError(
                400, "BadRequest", f"Invalid dryRun value {dry_run!r}: only 'All' is supported"
            )
        if method == "GET" and name is None:
            items, version = self.store.list(rtype, namespace)
            selector = query.get("labelSelector", [""])[0]
            if selector:
                wanted = dict(p.split("=", 1) for p in selector.split(",") if "=" in p)
                items = [
                    i
                    for i in items
                    if all(
                        (i["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items()
                    )
                ]
            return 200, {
                "kind": f"{rtype.kind}List",
                "apiVersion": rtype.group_version,
                "metadata": {"resourceVersion": version},
                "items": items,
            }
        if name is None:
            raise ApiError(
                405,
                "MethodNotAllowed",
                f"{method} is not supported on a collection by this emulator",
            )
        if method == "GET":
            obj = self.store.get(rtype, namespace, name)
            return 200, _scale_of(obj) if sub == "scale" else obj
        if method not in ("PATCH", "PUT") or rtype.kind == "PodMetrics":
            raise ApiError(
                405, "MethodNotAllowed", f"{method} {path} is not supported by this emulator"
            )
        patch = body()
        current = self.store.get(rtype, namespace, name)
        if sub == "scale":
            scale = _scale_of(current)
            new_scale = self._patched(scale, patch, content_type) if method == "PATCH" else patch
            replicas = (new_scale.get("spec") or {}).get("replicas")
            new = copy.deepcopy(current)
            new.setdefault("spec", {})["replicas"] = replicas
            if (new_scale.get("metadata") or {}).get("resourceVersion"):
                new["metadata"]["resourceVersion"] = new_scale["metadata"]["resourceVersion"]
            return 200, _scale_of(self.store.replace(rtype, namespace, name, new, dry_run == "All"))
        new = self._patched(current, patch, content_type) if method == "PATCH" else patch
        if not isinstance(new, dict):
            raise ApiError(400, "BadRequest", "the body must be a JSON object")
        if method == "PUT" and not (new.get("metadata") or {}).get("resourceVersion"):
            new.setdefault("metadata", {})["resourceVersion"] = current["metadata"][
                "resourceVersion"
            ]
        return 200, self.store.replace(rtype, namespace, name, new, dry_run == "All")

    @staticmethod
    def _patched(current: dict[str, Any], patch: Any, content_type: str) -> Any:
        media = content_type.split(";")[0].strip().lower()
        if media == "application/strategic-merge-patch+json":
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "a strategic merge patch must be a JSON object")
            return strategic_merge_patch(current, patch)
        if media == "application/merge-patch+json":
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
            return merge_patch(current, patch)
        if media == "application/json-patch+json":
            return json_patch(current, patch)
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format ({media or 'none'}) - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json",
        )


def load_manifests(path: Path) -> list[dict[str, Any]]:
    """Every document of a (multi-document) YAML manifest file; ``List`` objects are flattened."""
    docs: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc:
            continue
        if not isinstance(doc, dict):
            raise ValueError(f"{path}: every YAML document must be a Kubernetes object (a mapping)")
        docs.extend(doc.get("items") or [] if doc.get("kind") == "List" else [doc])
    return docs


def kubeconfig(
    clusters: Mapping[str, str], current: str | None = None, namespace: str = "default"
) -> dict[str, Any]:
    """A kubeconfig with one context (and cluster and user) per name -> server URL."""
    names = list(clusters)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "current-context": current or (names[0] if names else ""),
        "clusters": [{"name": n, "cluster": {"server": url}} for n, url in clusters.items()],
        "users": [{"name": f"{n}-user", "user": {"token": "emulator-token"}} for n in names],
        "contexts": [
            {"name": n, "context": {"cluster": n, "user": f"{n}-user", "namespace": namespace}}
            for n in names
        ],
    }


def write_kubeconfig(path: Path, clusters: Mapping[str, str], current: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig(clusters, current), sort_keys=False))
    return path


@contextmanager
def kube_emulators(
    clusters: Mapping[str, Iterable[Mapping[str, Any]]], kubeconfig_path: Path | None = None
) -> Iterator[dict[str, KubeEmulator]]:
    """Start one emulator per cluster name (its manifests seeded) and, with ``kubeconfig_path``,
    write a kubeconfig whose contexts are those names; stop them all afterwards."""
    started: dict[str, KubeEmulator] = {}
    try:
        for name, manifests in clusters.items():
            emulator = KubeEmulator(manifests, name=name)
            emulator.start()
            started[name] = emulator
        if kubeconfig_path is not None:
            write_kubeconfig(kubeconfig_path, {n: e.url for n, e in started.items()})
        yield started
    finally:
        for emulator in started.values():
            emulator.stop()

"""Small helpers shared by the readers: metadata, timestamps, container resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from spendpilot.adapters.kubernetes.quantity import QuantityError, parse_resources
from spendpilot.domain.kubernetes import KubeContainer
from spendpilot.errors import AdapterError


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def where(kind: str, obj: dict[str, Any]) -> str:
    m = meta(obj)
    namespace = m.get("namespace")
    return f"{kind} {f'{namespace}/' if namespace else ''}{m.get('name', '?')}"


def timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as the API writes it ("2024-05-01T10:00:00Z"), or None."""
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def containers(
    kind: str, obj: dict[str, Any], pod_spec: dict[str, Any] | None
) -> list[KubeContainer]:
    """Each container's requests and limits parsed. A limit without a request is also the
    request, as the API server defaults it on admission (extended resources such as
    ``nvidia.com/gpu`` are usually written as limits only)."""
    out = []
    for c in (pod_spec or {}).get("containers") or []:
        res = c.get("resources") or {}
        try:
            limits = parse_resources(res.get("limits"))
            requests = {**limits, **parse_resources(res.get("requests"))}
        except QuantityError as exc:
            raise AdapterError(f"{where(kind, obj)}, container {c.get('name')!r}: {exc}") from exc
        out.append(KubeContainer(name=str(c.get("name", "")), requests=requests, limits=limits))
    return out

"""The two Prometheus HTTP API calls spendpilot needs: an instant query and a range query.

On the standard library, like the other small HTTP adapters. Everything that goes wrong becomes a
``PrometheusError`` whose message names the server, the query and what to fix: an unreachable
server, an HTTP error, a reply that is not the documented JSON envelope, or ``status: error``
(with Prometheus' own ``errorType``/``error``). The source turns those into named gaps.

Replies follow https://prometheus.io/docs/prometheus/latest/querying/api/: ``data.resultType``
is ``matrix`` for a range query (``values`` of ``[unix seconds, "value"]``) and ``vector`` for
an instant query (one ``value`` each).
"""

from __future__ import annotations

import http.client
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from spendpilot.errors import AdapterError

MAX_POINTS_PER_SERIES = 11_000
"""Prometheus refuses a range query that would return more points than this per series."""


class PrometheusError(AdapterError):
    """The Prometheus API could not answer a query."""


@dataclass(frozen=True)
class RangeSeries:
    labels: dict[str, str]
    points: list[tuple[float, float]]
    """(unix seconds, value); NaN and infinite values dropped."""


@dataclass(frozen=True)
class InstantSample:
    labels: dict[str, str]
    value: float


class PrometheusClient:
    def __init__(self, url: str, *, timeout_seconds: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_seconds = timeout_seconds

    def query(self, promql: str, at: datetime | None = None) -> list[InstantSample]:
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        data = self._call("/api/v1/query", params, promql)
        if data.get("resultType") != "vector":
            raise PrometheusError(f"Prometheus at {self.url}: query {promql!r} returned {data.get('resultType')!r}, expected a vector")
        out: list[InstantSample] = []
        for item in _result(data, self.url, promql):
            value = _number(item.get("value"), self.url, promql)
            if value is not None:
                out.append(InstantSample(labels=_labels(item), value=value[1]))
        return out

    def query_range(self, promql: str, start: datetime, end: datetime, step_seconds: int) -> list[RangeSeries]:
        """One range query, split into time windows when it would exceed Prometheus' point cap."""
        if step_seconds <= 0:
            raise ValueError("step must be positive")
        merged: dict[tuple[tuple[str, str], ...], RangeSeries] = {}
        window = (MAX_POINTS_PER_SERIES - 1) * step_seconds
        t0, t_end = start.timestamp(), end.timestamp()
        while t0 <= t_end:
            t1 = min(t_end, t0 + window)
            params = {"query": promql, "start": f"{t0:.3f}", "end": f"{t1:.3f}", "step": str(step_seconds)}
            data = self._call("/api/v1/query_range", params, promql)
            if data.get("resultType") != "matrix":
                raise PrometheusError(
                    f"Prometheus at {self.url}: range query {promql!r} returned {data.get('resultType')!r}, expected a matrix"
                )
            for item in _result(data, self.url, promql):
                labels = _labels(item)
                key = tuple(sorted(labels.items()))
                points = merged.setdefault(key, RangeSeries(labels, [])).points
                points.extend(_numbers(item.get("values"), self.url, promql))
            t0 = t1 + step_seconds
        return list(merged.values())

    def _call(self, path: str, params: dict[str, str], promql: str) -> dict[str, object]:
        body = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(
            f"{self.url}{path}", data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as reply:
                raw = reply.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            detail = _error_detail(raw) or f"HTTP {exc.code}"
            raise PrometheusError(f"Prometheus at {self.url} refused {promql!r}: {detail}") from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PrometheusError(
                f"Prometheus at {self.url} is unreachable ({reason}); check the source's `url`"
            ) from exc
        try:
            envelope = json.loads(raw)
        except ValueError as exc:
            raise PrometheusError(f"Prometheus at {self.url}: reply to {promql!r} is not JSON") from exc
        if not isinstance(envelope, dict):
            raise PrometheusError(f"Prometheus at {self.url}: reply to {promql!r} is not a JSON object")
        if envelope.get("status") != "success":
            detail = _error_detail(raw) or f"status {envelope.get('status')!r}"
            raise PrometheusError(f"Prometheus at {self.url} refused {promql!r}: {detail}")
        data = envelope.get("data")
        if not isinstance(data, dict):
            raise PrometheusError(f"Prometheus at {self.url}: reply to {promql!r} has no `data` object")
        return data


def _error_detail(raw: bytes) -> str | None:
    try:
        envelope = json.loads(raw)
    except ValueError:
        return None
    if isinstance(envelope, dict) and envelope.get("status") == "error":
        return f"{envelope.get('errorType', 'error')}: {envelope.get('error', '')}".strip()
    return None


def _result(data: dict[str, object], url: str, promql: str) -> list[dict[str, object]]:
    result = data.get("result")
    if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
        raise PrometheusError(f"Prometheus at {url}: reply to {promql!r} has no `result` list")
    return result


def _labels(item: dict[str, object]) -> dict[str, str]:
    metric = item.get("metric") or {}
    return {str(k): str(v) for k, v in metric.items()} if isinstance(metric, dict) else {}


def _numbers(raw: object, url: str, promql: str) -> list[tuple[float, float]]:
    """A range result's ``values``: one comprehension over the whole series (a 14-day hourly
    read of 1,000 pods is 671k samples; a call per sample dominated the read)."""
    if raw is None:
        return []
    try:
        pairs = [(float(t), float(v)) for t, v in raw]  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise PrometheusError(f"Prometheus at {url}: reply to {promql!r} has a sample that is not [time, value]") from exc
    return [p for p in pairs if math.isfinite(p[1])]


def _number(raw: object, url: str, promql: str) -> tuple[float, float] | None:
    if not isinstance(raw, list) or len(raw) != 2:
        raise PrometheusError(f"Prometheus at {url}: reply to {promql!r} has a sample that is not [time, value]")
    try:
        at, value = float(raw[0]), float(raw[1])
    except (TypeError, ValueError) as exc:
        raise PrometheusError(f"Prometheus at {url}: reply to {promql!r} has a non-numeric sample {raw!r}") from exc
    if math.isnan(value) or math.isinf(value):
        return None
    return at, value

"""OTLP JSON trace exports of GenAI spans with a weekly rhythm, for hourly anomaly tests.

Shape as in ``tests/data/otlp/semconv.json`` (OpenTelemetry GenAI semantic conventions).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path


def _attr(key: str, value: str | int) -> dict[str, object]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def requests_per_hour(moment: datetime, peak: int = 8) -> int:
    """Office hours on weekdays, a trickle at night and at weekends."""
    office = max(0.0, math.sin(math.pi * (moment.hour - 7) / 12)) if 7 <= moment.hour <= 19 else 0.0
    weekday = 1.0 if moment.weekday() < 5 else 0.35
    return max(1, round(peak * (0.25 + office) * weekday))


def write_export(path: Path, *, end: datetime, weeks: int, models: Sequence[str], feature: str,
                 spike_model: str | None = None, spike_hours: int = 0, spike_factor: int = 4,
                 seed: int = 1) -> int:
    """Hourly spans for ``weeks`` weeks up to ``end`` (exclusive); the last ``spike_hours`` hours
    send ``spike_factor`` times the usual requests to ``spike_model``. Returns the span count."""
    rng = random.Random(seed)
    spans = []
    first = end - timedelta(weeks=weeks)
    hour = first
    while hour < end:
        in_spike = spike_model is not None and hour >= end - timedelta(hours=spike_hours)
        for model in models:
            count = requests_per_hour(hour) * (spike_factor if in_spike and model == spike_model else 1)
            for i in range(count):
                start = hour + timedelta(seconds=rng.randrange(3600))
                nanos = int(start.timestamp() * 1e9)
                spans.append({
                    "traceId": f"{rng.getrandbits(128):032x}", "spanId": f"{rng.getrandbits(64):016x}",
                    "name": f"chat {model}", "kind": 3, "startTimeUnixNano": str(nanos),
                    "endTimeUnixNano": str(nanos + 900_000_000),
                    "attributes": [
                        _attr("gen_ai.operation.name", "chat"), _attr("gen_ai.provider.name", "openai"),
                        _attr("gen_ai.request.model", model),
                        _attr("gen_ai.usage.input_tokens", int(2000 * rng.uniform(0.9, 1.1))),
                        _attr("gen_ai.usage.output_tokens", int(300 * rng.uniform(0.9, 1.1))),
                        _attr("spendpilot.feature", feature),
                    ], "status": {}, "i": i,
                })
        hour += timedelta(hours=1)
    for s in spans:
        s.pop("i")
    document = {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "acme-api")]},
                                   "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]}
    path.write_text(json.dumps(document))
    return len(spans)


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)

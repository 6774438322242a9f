"""A scenario's GenAI spans delivered the way an instrumented application delivers them.

``llm_requests.yaml`` with ``delivery: otlp_http`` (the demo organisation) is not written to a
file: its requests become spans of the real OpenTelemetry Python SDK (one ``TracerProvider`` per
resource, ``tracer.start_span`` with the request's own start time and attributes, a
``BatchSpanProcessor``) and the SDK's OTLP/HTTP protobuf exporter (gzip) sends them to
``spendpilot``'s receiver (``adapters/otel/receiver.py``), started on a free port of 127.0.0.1 for
the delivery and stopped after it. The lake thus holds what a user's application would have sent,
through the wire format and the receiver a user runs.

Deterministic: the spans are generated from the scenario's seed and ``now``
(``scenarios/spans.py``, ``scenarios/llm_traffic.py``) and keep their trace and span ids (an id
generator hands the SDK the generated ids), so a re-sent delivery restates, never duplicates.
Nothing is lost silently: the spans the receiver read are counted and must equal those sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind

from spendpilot.adapters.otel.receiver import OtlpReceiver
from spendpilot.config import OtelSettings
from spendpilot.errors import ScenarioError
from spendpilot.lake.otlp import OtlpIngestReport
from spendpilot.scenarios.spans import LlmRequestsSpec, request_span_documents

EXPORT_BATCH = 1024
"""Spans per OTLP/HTTP request (the SDK's default is 512; fewer requests, fewer lake commits)."""

AttributeValue = str | bool | int | float | Sequence[str] | Sequence[bool] | Sequence[int] | Sequence[float]


@dataclass
class SentSpans:
    """What one delivery sent and what the receiver made of it."""

    url: str
    sent: int = 0
    export_requests: int = 0
    read: int = 0
    stored: int = 0
    skipped: int = 0
    quarantined: int = 0
    features: dict[str, int] = field(default_factory=dict)
    """Spans sent per ``spendpilot.feature`` (or resource ``service.name``)."""

    def summary(self) -> str:
        return (f"Sent {self.sent:,} GenAI spans of {len(self.features)} features with the OpenTelemetry SDK's "
                f"OTLP/HTTP exporter to {self.url} ({self.export_requests} requests): {self.read:,} read, "
                f"{self.stored:,} stored, {self.skipped:,} skipped, {self.quarantined:,} quarantined")


def scenario_span_documents(spec: LlmRequestsSpec, *, now: datetime, seed: int) -> Iterator[dict[str, Any]]:
    """Every span of ``spec`` as OTLP/JSON documents: its feature profiles, then its patterns.

    All of them on the ``days`` whole days before today, like a daily usage export: a partial
    today would move a look-back that ends at the latest usage day (``frontier_model_simple_tasks``)
    for every feature, those from the export too."""
    yield from request_span_documents(spec, now=now, seed=seed)
    if spec.patterns:
        from spendpilot.scenarios.llm_traffic import traffic_from_spec
        from spendpilot.scenarios.otlp_export import otlp_document

        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        yield otlp_document(traffic_from_spec(spec, midnight))


def send_scenario_spans(spec: LlmRequestsSpec, lake_dir: Path, otel: OtelSettings, *, now: datetime,
                        seed: int) -> SentSpans:
    """Send ``spec``'s spans through a receiver on 127.0.0.1 into ``lake_dir``."""
    settings = otel.model_copy(update={"store_prompt_text": spec.store_prompt_text})
    return send_documents(scenario_span_documents(spec, now=now, seed=seed), lake_dir, settings)


class _CountingReceiver(OtlpReceiver):
    """The receiver, adding up its deliveries' reports for the sender's check."""

    def __init__(self, lake_dir: Path, settings: OtelSettings) -> None:
        super().__init__(lake_dir, settings, port=0)  # 0: a free port, never the user's 4318
        self.reports: list[OtlpIngestReport] = []

    def ingest(self, document: dict[str, Any], body: bytes) -> OtlpIngestReport:
        report = super().ingest(document, body)
        self.reports.append(report)
        return report


def send_documents(documents: Iterable[dict[str, Any]], lake_dir: Path, otel: OtelSettings) -> SentSpans:
    """Send OTLP/JSON ``documents`` with the SDK exporter to a receiver started for the purpose.

    Raises ``ScenarioError`` when the receiver read fewer spans than were sent (an export the SDK
    gave up on, or spans its queue dropped).
    """
    by_resource: dict[tuple[tuple[str, AttributeValue], ...], list[dict[str, Any]]] = defaultdict(list)
    for doc in documents:
        for resource_spans in doc.get("resourceSpans", []):
            key = tuple(sorted(_attributes(resource_spans.get("resource", {}).get("attributes", [])).items()))
            for scope in resource_spans.get("scopeSpans", []):
                by_resource[key].extend(scope.get("spans", []))

    receiver = _CountingReceiver(Path(lake_dir), otel)
    receiver.start()
    result = SentSpans(url=receiver.url)
    try:
        for resource_attrs, spans in by_resource.items():
            ids = _GivenIds()
            provider = _provider(dict(resource_attrs), receiver.url, ids, len(spans))
            try:  # shut down (flushing what is queued) while the receiver still listens
                tracer = provider.get_tracer("spendpilot.scenarios")
                for raw in spans:
                    attrs = _attributes(raw.get("attributes", []))
                    ids.trace_id, ids.span_id = int(raw["traceId"], 16), int(raw["spanId"], 16)
                    kind = SpanKind(max(1, int(raw.get("kind", 3))) - 1)  # OTLP numbers kinds from 1 (0: unspecified)
                    span = tracer.start_span(raw["name"], context=Context(), kind=kind, attributes=attrs,
                                             start_time=int(raw["startTimeUnixNano"]))
                    span.end(end_time=int(raw["endTimeUnixNano"]))
                    feature = str(attrs.get("spendpilot.feature") or dict(resource_attrs).get("service.name", ""))
                    result.features[feature] = result.features.get(feature, 0) + 1
                result.sent += len(spans)
                if not provider.force_flush(120_000):
                    raise ScenarioError(f"the OTLP exporter did not deliver {len(spans):,} spans to {receiver.url} "
                                        "in 120 s")
            finally:
                provider.shutdown()
    finally:
        receiver.close()
    for report in receiver.reports:
        result.export_requests += 1
        result.read += report.spans_read
        result.stored += report.spans_stored
        result.skipped += report.spans_skipped
        result.quarantined += report.spans_quarantined
    if result.read != result.sent:
        raise ScenarioError(f"sent {result.sent:,} spans to {result.url}, the receiver read {result.read:,}: "
                            "the exporter dropped or failed to deliver some (see its log; OTEL_SDK_DISABLED=true "
                            "turns the SDK off)")
    return result


def _provider(resource: dict[str, AttributeValue], url: str, ids: IdGenerator, spans: int) -> TracerProvider:
    """A TracerProvider exporting over OTLP/HTTP protobuf with gzip, queue sized to hold every span."""
    session = requests.Session()
    session.trust_env = False  # a loopback receiver: never through the user's HTTP(S)_PROXY
    exporter = OTLPSpanExporter(endpoint=url, timeout=60, compression=Compression.Gzip, session=session)
    # Sampler and limits given, not read from OTEL_TRACES_SAMPLER / OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT:
    # the user's settings for their own applications must not sample or truncate the scenario's spans.
    provider = TracerProvider(
        resource=Resource.create(resource), id_generator=ids, shutdown_on_exit=False, sampler=ALWAYS_ON,
        span_limits=SpanLimits(max_span_attributes=SpanLimits.UNSET, max_span_attribute_length=SpanLimits.UNSET),
    )
    provider.add_span_processor(BatchSpanProcessor(
        exporter, max_queue_size=max(spans, EXPORT_BATCH), max_export_batch_size=EXPORT_BATCH, schedule_delay_millis=60_000,
    ))
    return provider


class _GivenIds(IdGenerator):
    """Hands the SDK the generated span's own ids (set before each ``start_span``)."""

    def __init__(self) -> None:
        self.trace_id = 0
        self.span_id = 0

    def generate_trace_id(self) -> int:
        return self.trace_id

    def generate_span_id(self) -> int:
        return self.span_id


def _attributes(items: list[dict[str, Any]]) -> dict[str, AttributeValue]:
    return {item["key"]: _value(item["key"], item.get("value", {})) for item in items}


def _value(key: str, value: dict[str, Any]) -> AttributeValue:
    """An OTLP/JSON ``AnyValue`` as the SDK's attribute value (scalars and homogeneous arrays)."""
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        items = [_value(key, v) for v in value["arrayValue"].get("values", [])]
        texts = [i for i in items if isinstance(i, str)]
        numbers = [i for i in items if isinstance(i, int) and not isinstance(i, bool)]
        if len(texts) == len(items):
            return texts
        if len(numbers) == len(items):
            return numbers
    raise ScenarioError(f"span attribute {key!r}: value {value!r} has no OpenTelemetry SDK attribute type")

"""LLM usage from OpenTelemetry GenAI spans: OTLP JSON in, one lake row per model request out.

``_wire`` reads the OTLP JSON shape, ``genai`` decides what a span says about a model request
(the attribute styles and the containment rule), ``store`` writes deliveries into the lake and
rolls requests up into the daily usage the LLM checks read, ``compact`` merges small files.
"""

from spendpilot.lake.otlp._wire import looks_like_otlp_json, read_otlp_json_bytes
from spendpilot.lake.otlp.genai import GenAiRequest
from spendpilot.lake.otlp.store import (
    REQUESTS_AREA,
    OtlpIngestReport,
    body_digest,
    ingest_otlp_file,
    ingest_otlp_records,
    otlp_files,
    read_llm_requests,
    span_daily_usage,
)

__all__ = [
    "REQUESTS_AREA",
    "GenAiRequest",
    "OtlpIngestReport",
    "body_digest",
    "ingest_otlp_file",
    "ingest_otlp_records",
    "looks_like_otlp_json",
    "otlp_files",
    "read_llm_requests",
    "read_otlp_json_bytes",
    "span_daily_usage",
]

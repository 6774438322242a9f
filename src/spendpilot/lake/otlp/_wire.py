"""OTLP trace exports as JSON: the wire shape only (documents, spans, attribute values).

What is read is the OTLP/JSON encoding of ``ExportTraceServiceRequest``, as the OpenTelemetry
Collector's file exporter writes it: ``resourceSpans`` → ``scopeSpans`` → ``spans``, either one
document or one document per line (JSON Lines), optionally gzip-compressed. The protobuf JSON
mapping allows the original snake_case field names too (``resource_spans``), so both are read.

Values follow that mapping: an ``AnyValue`` is ``{"stringValue": ...}``, ``{"intValue": "12"}``
(64-bit integers are written as strings, but numbers are accepted), ``{"doubleValue": 1.5}``,
``{"boolValue": true}``, ``{"arrayValue": {"values": [...]}}``, ``{"kvlistValue": {"values":
[{"key": ..., "value": ...}]}}`` or ``{"bytesValue": "<base64>"}``. An ``intValue`` that is not an
integer is kept as its text, so the layer that knows which attribute matters can quarantine the
span naming that attribute instead of this module refusing the whole file.

Trace and span ids are hex in OTLP/JSON (the specification's exception to the protobuf mapping);
a generic protobuf-to-JSON converter writes them as base64, so 16- and 8-byte base64 ids are
turned into hex too. An id that is neither is kept as written (and refused later, per span).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spendpilot.errors import IngestError

SNIFF_BYTES = 1 << 20
"""How much of a file ``looks_like_otlp_json`` reads."""

AttrValue = Any
"""str, bool, int, float, list, dict or None: an ``AnyValue`` as a Python value."""


@dataclass
class WireSpan:
    """One span as written, with its resource's attributes beside it."""

    ordinal: int
    """1 for the first span of the input, counting over every document."""
    line: int
    """Line of the document holding the span (1 for a single-document file)."""
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_ns: AttrValue
    end_ns: AttrValue
    attributes: dict[str, AttrValue]
    resource: dict[str, AttrValue]
    scope: str
    raw: Mapping[str, Any] = field(repr=False)


@dataclass
class BrokenRecord:
    """A line (or document part) that holds no readable span: counted and quarantined whole."""

    ordinal: int
    line: int
    reason: str
    raw_text: str


def _get(obj: Mapping[str, Any], camel: str, snake: str) -> Any:
    return obj[camel] if camel in obj else obj.get(snake)


def any_value(value: Any) -> AttrValue:
    """An OTLP ``AnyValue`` object as a Python value (see the module docstring)."""
    if not isinstance(value, Mapping):
        return value
    for camel, snake in (("stringValue", "string_value"), ("boolValue", "bool_value")):
        if camel in value or snake in value:
            return _get(value, camel, snake)
    if "intValue" in value or "int_value" in value:
        raw = _get(value, "intValue", "int_value")
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int):
            return raw
        try:
            return int(str(raw))
        except ValueError:
            return str(raw)
    if "doubleValue" in value or "double_value" in value:
        raw = _get(value, "doubleValue", "double_value")
        if isinstance(raw, str):  # NaN and Infinity are strings in the JSON mapping
            try:
                return float(raw)
            except ValueError:
                return raw
        return raw
    if "arrayValue" in value or "array_value" in value:
        inner = _get(value, "arrayValue", "array_value") or {}
        return [any_value(v) for v in (inner.get("values") or [])]
    if "kvlistValue" in value or "kvlist_value" in value:
        inner = _get(value, "kvlistValue", "kvlist_value") or {}
        return attributes(inner.get("values") or [])
    if "bytesValue" in value or "bytes_value" in value:
        return _get(value, "bytesValue", "bytes_value")
    return None


def attributes(items: Any) -> dict[str, AttrValue]:
    """A ``KeyValue`` list as a dict; the last of repeated keys wins, as in the SDKs."""
    found: dict[str, AttrValue] = {}
    if not isinstance(items, list):
        return found
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("key"), str):
            found[item["key"]] = any_value(item.get("value"))
    return found


def hex_id(value: Any, size: int) -> str:
    """A ``size``-byte id as lowercase hex, from hex or base64; "" when absent."""
    if not isinstance(value, str) or not value:
        return ""
    text = value.strip()
    if len(text) == 2 * size:
        try:
            bytes.fromhex(text)
            return text.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text
    return raw.hex() if len(raw) == size else text


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise IngestError(f"{path}: not a readable gzip file ({exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def looks_like_otlp_json(path: Path) -> bool:
    """Whether a file's content (not its name) is an OTLP JSON trace export.

    Reads at most ``SNIFF_BYTES`` (after gunzip): the text must start with ``{`` and name
    ``resourceSpans`` (or ``resource_spans``) as a key early on. A CSV usage export or a FOCUS
    file never does.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rb") as handle:
            start = handle.read(4096)
            if not start.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n").startswith("{"):
                return False  # a CSV or Parquet file is told apart without reading further
            start += handle.read(SNIFF_BYTES - len(start))
    except (OSError, EOFError):
        return False
    text = start.decode("utf-8", errors="ignore")
    return '"resourceSpans"' in text or '"resource_spans"' in text


def documents_from_text(text: str, source: str) -> Iterator[tuple[int, Any]]:
    """``(line, parsed JSON or None when the line is not JSON)`` for one document or JSON Lines.

    A file that is one JSON value is one document (however it is indented); otherwise every
    non-blank line is one. A single document that is not JSON at all refuses the file.
    """
    try:
        yield 1, json.loads(text)
        return
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            lines = [ln for ln in text.splitlines() if ln.strip()]
            if len(lines) <= 1:
                raise IngestError(f"{source}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError:
            yield number, None


def spans_of(docs: Iterator[tuple[int, Any]]) -> Iterator[WireSpan | BrokenRecord]:
    """Every span of every document, in input order; unreadable lines as ``BrokenRecord``."""
    ordinal = 0
    for line, doc in docs:
        if not isinstance(doc, Mapping) or not isinstance(
            _get(doc, "resourceSpans", "resource_spans"), list
        ):
            ordinal += 1
            reason = ("not JSON" if doc is None
                      else "not an OTLP trace document (no resourceSpans list)")
            text = "" if doc is None else json.dumps(doc)[:2000]
            yield BrokenRecord(ordinal, line, reason, text)
            continue
        for resource_spans in _get(doc, "resourceSpans", "resource_spans"):
            if not isinstance(resource_spans, Mapping):
                continue
            resource = attributes((resource_spans.get("resource") or {}).get("attributes"))
            for scope_spans in _get(resource_spans, "scopeSpans", "scope_spans") or []:
                if not isinstance(scope_spans, Mapping):
                    continue
                scope = (scope_spans.get("scope") or {}).get("name") or ""
                for span in scope_spans.get("spans") or []:
                    ordinal += 1
                    if not isinstance(span, Mapping):
                        yield BrokenRecord(ordinal, line, "span is not a JSON object", json.dumps(span))
                        continue
                    yield WireSpan(
                        ordinal=ordinal,
                        line=line,
                        trace_id=hex_id(_get(span, "traceId", "trace_id"), 16),
                        span_id=hex_id(_get(span, "spanId", "span_id"), 8),
                        parent_span_id=hex_id(_get(span, "parentSpanId", "parent_span_id"), 8),
                        name=str(span.get("name") or ""),
                        start_ns=_get(span, "startTimeUnixNano", "start_time_unix_nano"),
                        end_ns=_get(span, "endTimeUnixNano", "end_time_unix_nano"),
                        attributes=attributes(span.get("attributes")),
                        resource=resource,
                        scope=str(scope),
                        raw=span,
                    )


def read_otlp_json_file(path: Path) -> Iterator[WireSpan | BrokenRecord]:
    """The spans of an OTLP JSON file (gzip or not), in input order."""
    return spans_of(documents_from_text(_read_text(Path(path)), str(path)))


def read_otlp_json_bytes(body: bytes, source: str) -> Iterator[WireSpan | BrokenRecord]:
    """The spans of one OTLP/HTTP JSON request body (already decompressed)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{source}: not UTF-8 text (byte {exc.start})") from exc
    return spans_of(documents_from_text(text, source))

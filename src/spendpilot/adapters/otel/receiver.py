"""An OTLP/HTTP trace receiver on 127.0.0.1: applications export GenAI spans straight to spendpilot.

``POST /v1/traces`` with ``application/x-protobuf`` (decoded with the official
``opentelemetry-proto`` messages) or ``application/json`` (the OTLP/JSON encoding), optionally
``Content-Encoding: gzip``. Each request is one delivery through the same ingest path as a file
(``spendpilot.lake.otlp``): its GenAI spans are stored, others skipped, unusable ones quarantined.

Answers follow the OTLP/HTTP specification: 200 with an ``ExportTraceServiceResponse`` in the
request's encoding, carrying ``partial_success`` (``rejected_spans`` and a message) when some spans
were quarantined; 400 for a body that cannot be decoded (not retryable); 415 for another content
type; 404 for another path; 413 for a body over ``MAX_BODY_BYTES``; 503 when the lake cannot be
written (retryable: the exporter tries again later). Error bodies are a ``google.rpc.Status``.

Only loopback is listened on: the receiver has no authentication, and spans may carry prompts.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import zlib
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from spendpilot.config import OtelSettings
from spendpilot.errors import SpendpilotError
from spendpilot.lake.otlp import OtlpIngestReport, body_digest, ingest_otlp_records
from spendpilot.lake.otlp._wire import spans_of
from spendpilot.lake.otlp.compact import compact_requests

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
TRACES_PATH = "/v1/traces"
PROTOBUF, JSON = "application/x-protobuf", "application/json"
MAX_BODY_BYTES = 32 * 1024 * 1024
_INVALID_ARGUMENT, _UNAVAILABLE = 3, 14


class BadRequest(Exception):
    """The body cannot be decoded as an OTLP trace export (HTTP 400)."""


class TooLarge(BadRequest):
    """The body is over ``MAX_BODY_BYTES`` (HTTP 413)."""


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def status_body(code: int, message: str) -> bytes:
    """A ``google.rpc.Status`` (field 1 ``code``, field 2 ``message``) in protobuf encoding.

    Written by hand to avoid a dependency for two fields.
    """
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def decode_request(body: bytes, content_type: str) -> dict[str, Any]:
    """An ``ExportTraceServiceRequest`` as an OTLP/JSON document (ids become hex later)."""
    if content_type == PROTOBUF:
        try:
            message = ExportTraceServiceRequest.FromString(body)
        except DecodeError as exc:
            raise BadRequest(f"not an ExportTraceServiceRequest protobuf ({exc})") from exc
        return {"resourceSpans": [], **json_format.MessageToDict(message)}  # {} for no spans
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"not JSON ({exc})") from exc
    spans = document.get("resourceSpans", document.get("resource_spans", [])) if isinstance(
        document, dict) else None
    if not isinstance(spans, list):
        raise BadRequest("not an OTLP/JSON ExportTraceServiceRequest (no resourceSpans list)")
    return {"resourceSpans": spans}


class OtlpReceiver:
    """The HTTP server; ``start()`` serves on a thread, ``serve_forever()`` in the caller's."""

    def __init__(self, lake_dir: Path, settings: OtelSettings | None = None, port: int | None = None
                 ) -> None:
        self.lake_dir = Path(lake_dir)
        self.settings = settings or OtelSettings()
        self._ingest_lock = threading.Lock()  # one commit at a time keeps restatement simple
        self.server = ThreadingHTTPServer(
            (HOST, self.settings.receiver_port if port is None else port), _handler_for(self)
        )
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{TRACES_PATH}"

    def ingest(self, document: dict[str, Any], body: bytes) -> OtlpIngestReport:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        records = list(spans_of(iter([(1, document)])))
        with self._ingest_lock:
            report = ingest_otlp_records(records, Path(f"otlp-http-{stamp}"), body_digest(body),
                                         self.lake_dir, self.settings)
            try:  # one file per export request: merge them before they slow every commit
                compact_requests(self.lake_dir)
            except (OSError, pa.ArrowException) as exc:  # stored already; merging can wait
                log.warning("otlp receiver: small files not merged yet: %s", exc)
            return report

    def start(self) -> OtlpReceiver:
        self._thread = threading.Thread(target=self.server.serve_forever, name="otlp-receiver",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join()


def _handler_for(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: with Nagle on, each reply waits ~40 ms for a delayed ACK

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
            log.debug("otlp receiver: " + format, *args)

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _fail(self, status: int, code: int, message: str) -> None:
            self._send(status, status_body(code, message), PROTOBUF)

        def _body(self) -> bytes:
            """The request body, sent with a Content-Length or chunked (never silently empty)."""
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks: list[bytes] = []
                total = 0
                while True:
                    size_line = self.rfile.readline(1024).split(b";")[0].strip()
                    try:
                        size = int(size_line, 16)
                    except ValueError as exc:
                        raise BadRequest("malformed chunked body") from exc
                    if size == 0:  # the last chunk; trailer lines (if any) are read and ignored
                        trailer = self.rfile.readline(1024)
                        while trailer not in (b"\r\n", b"\n", b""):
                            trailer = self.rfile.readline(1024)
                        return b"".join(chunks)
                    total += size
                    if total > MAX_BODY_BYTES:
                        raise TooLarge(f"body over {MAX_BODY_BYTES} bytes")
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline(1024)
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError as exc:
                raise BadRequest("Content-Length is not a number") from exc
            if length > MAX_BODY_BYTES:
                raise TooLarge(f"body over {MAX_BODY_BYTES} bytes")
            return self.rfile.read(length)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            if self.path.split("?")[0] != TRACES_PATH:
                self._fail(404, 5, f"no such path {self.path}; traces go to {TRACES_PATH}")
                return
            try:
                body = self._body()
            except BadRequest as exc:
                self._fail(413 if isinstance(exc, TooLarge) else 400, _INVALID_ARGUMENT, str(exc))
                self.close_connection = True
                return
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if content_type not in (PROTOBUF, JSON):
                self._fail(415, _INVALID_ARGUMENT, f"unsupported content type {content_type!r}; "
                           f"send {PROTOBUF} or {JSON}")
                return
            try:
                if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                    body = gzip.decompress(body)
                document = decode_request(body, content_type)
            except (BadRequest, OSError, EOFError, zlib.error) as exc:
                self._fail(400, _INVALID_ARGUMENT, str(exc))
                return
            try:
                report = receiver.ingest(document, body)
            except (SpendpilotError, OSError) as exc:
                log.warning("otlp receiver: lake not written: %s", exc)
                self._fail(503, _UNAVAILABLE, f"spans not stored, try again: {exc}")
                return
            log.info("otlp receiver: %d spans, %d stored, %d skipped, %d quarantined",
                     report.spans_read, report.spans_stored, report.spans_skipped,
                     report.spans_quarantined)
            self._send(200, _response(report, content_type), content_type)

    return Handler


def _response(report: OtlpIngestReport, content_type: str) -> bytes:
    response = ExportTraceServiceResponse()
    if report.spans_quarantined:
        reasons = "; ".join(f"{n} × {reason}" for reason, n in report.reasons.items())
        response.partial_success.CopyFrom(ExportTracePartialSuccess(
            rejected_spans=report.spans_quarantined, error_message=f"quarantined: {reasons}"
        ))
    if content_type == PROTOBUF:
        return response.SerializeToString()
    return json.dumps(json_format.MessageToDict(response)).encode()

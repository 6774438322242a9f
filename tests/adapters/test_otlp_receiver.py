"""The OTLP/HTTP receiver, fed by the real OpenTelemetry Python SDK and its OTLP/HTTP exporter."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind
from tests.conftest import DATA

from spendpilot.adapters.otel.receiver import OtlpReceiver, status_body
from spendpilot.config import OtelSettings
from spendpilot.lake import read_llm_usage
from spendpilot.lake.otlp import read_llm_requests


@pytest.fixture
def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # the exporter honours proxy variables
    started = OtlpReceiver(tmp_path / "lake", OtelSettings(), port=0).start()  # 0: a free port
    yield started
    started.close()


def _post(url: str, body: bytes, content_type: str, **headers: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type, **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers["Content-Type"]


def test_the_sdk_exporter_delivers_genai_spans_into_the_lake(receiver: OtlpReceiver) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "acme-api"}))
    exporter = OTLPSpanExporter(endpoint=receiver.url, timeout=10)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("spendpilot.test")
    with tracer.start_as_current_span("invoke_agent triage", kind=SpanKind.INTERNAL) as agent:
        agent.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "triage",
                              "gen_ai.usage.input_tokens": 3000, "gen_ai.usage.output_tokens": 90})
        for n, cached in ((1000, 0), (2000, 1536)):
            with tracer.start_as_current_span("chat gpt-4.1", kind=SpanKind.CLIENT) as chat:
                chat.set_attributes({
                    "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4.1", "gen_ai.response.model": "gpt-4.1-2025-04-14",
                    "gen_ai.usage.input_tokens": n, "gen_ai.usage.output_tokens": 45,
                    "gen_ai.usage.cache_read.input_tokens": cached,
                    "gen_ai.request.max_tokens": 256, "gen_ai.response.finish_reasons": ["stop"],
                    "gen_ai.conversation.id": "conv-1", "spendpilot.team": "support",
                    "gen_ai.system_instructions": '[{"type": "text", "content": "Be brief."}]',
                })
        with tracer.start_as_current_span("GET /orders"):
            pass
    assert provider.force_flush(10_000)
    provider.shutdown()

    requests = read_llm_requests(receiver.lake_dir)
    assert [(r.feature, r.team, r.input_tokens, r.cache_read_input_tokens, r.uncached_input_tokens)
            for r in requests] == [("triage", "support", 1000, 0, 1000), ("triage", "support", 2000, 1536, 464)]
    assert {(r.model, r.response_model, r.max_tokens, r.finish_reason, r.conversation_id)
            for r in requests} == {("gpt-4.1", "gpt-4.1-2025-04-14", 256, "stop", "conv-1")}
    assert all(r.latency_ms is not None and r.latency_ms >= 0 for r in requests)
    assert all(r.prompt_prefix_sha256 and r.system_instructions is None for r in requests)
    [usage] = read_llm_usage(receiver.lake_dir)
    assert (usage.feature, usage.requests, usage.input_tokens, usage.cached_input_tokens,
            usage.output_tokens) == ("triage", 2, 3000, 1536, 90)


def test_json_bodies_partial_success_and_refusals(receiver: OtlpReceiver) -> None:
    document = json.loads((DATA / "otlp" / "semconv.json").read_text())
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[1]["attributes"].append({"key": "gen_ai.usage.output_tokens", "value": {"intValue": "-1"}})
    body = gzip.compress(json.dumps(document).encode())

    status, answer, content_type = _post(receiver.url, body, "application/json", **{"Content-Encoding": "gzip"})
    assert (status, content_type) == (200, "application/json")
    assert json.loads(answer) == {"partialSuccess": {
        "rejectedSpans": "1", "errorMessage": "quarantined: 1 × gen_ai.usage.output_tokens: negative count"}}
    assert len(read_llm_requests(receiver.lake_dir)) == 3

    # The same request retried: nothing changes.
    assert _post(receiver.url, body, "application/json", **{"Content-Encoding": "gzip"})[0] == 200
    assert len(read_llm_requests(receiver.lake_dir)) == 3

    status, answer, _ = _post(receiver.url, b"\x00\xffnot protobuf", "application/x-protobuf")
    assert status == 400 and answer.startswith(b"\x08\x03")
    assert _post(receiver.url, b"{}", "text/plain")[0] == 415
    assert _post(receiver.url, b"[1, 2]", "application/json")[0] == 400
    assert _post(receiver.url.replace("/v1/traces", "/v1/metrics"), b"{}", "application/json")[0] == 404
    status, answer, _ = _post(receiver.url, b"", "application/x-protobuf")  # an empty export
    assert status == 200 and not ExportTraceServiceResponse.FromString(answer).HasField("partial_success")


def test_status_body_is_a_google_rpc_status() -> None:
    from google.rpc.status_pb2 import Status

    decoded = Status.FromString(status_body(3, "x" * 200))
    assert (decoded.code, decoded.message) == (3, "x" * 200)


def test_the_daemon_runs_the_receiver_when_configured(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port free now; the daemon binds it a moment later
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "spendpilot.toml"
    config.write_text(f"[aws]\nenabled = false\n[otel]\nreceiver_enabled = true\nreceiver_port = {port}\n")
    home = tmp_path / "home"
    daemon = subprocess.Popen(
        [sys.executable, "-m", "spendpilot.cli", "daemon", "--home", str(home), "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1"},
    )
    guard = threading.Timer(120, daemon.kill)  # a daemon that never announces fails, not hangs
    guard.start()
    try:
        assert daemon.stdout is not None
        seen = []
        for line in daemon.stdout:  # wait for the announcement, however long start-up takes
            seen.append(line)
            if "receiving OTLP/HTTP traces on" in line:
                break
        assert f"http://127.0.0.1:{port}/v1/traces" in "".join(seen), "".join(seen)
        body = (DATA / "otlp" / "openinference.json").read_bytes()
        assert _post(f"http://127.0.0.1:{port}/v1/traces", body, "application/json")[0] == 200
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=60)
        guard.cancel()
    assert len(read_llm_requests(home / "lake")) == 4


def test_a_chunked_body_is_read_whole(receiver: OtlpReceiver) -> None:
    body = (DATA / "otlp" / "openllmetry.jsonl").read_text().splitlines()[0].encode()
    request = urllib.request.Request(receiver.url, data=iter([body[:500], body[500:]]), method="POST",
                                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert len(read_llm_requests(receiver.lake_dir)) == 2

"""OpenTelemetry GenAI spans (OTLP JSON) into the lake: styles, containment, quarantine, dedupe."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.conftest import DATA

from spendpilot.checks import all_checks
from spendpilot.config import OtelSettings
from spendpilot.domain import Resource, ResourceRef, Snapshot
from spendpilot.errors import IngestError
from spendpilot.lake import health, ingest_llm_usage_file, read_llm_usage
from spendpilot.lake.otlp import (
    ingest_otlp_file,
    looks_like_otlp_json,
    read_llm_requests,
)
from spendpilot.lake.otlp.compact import compact_requests
from spendpilot.lake.otlp.store import DUPLICATE
from spendpilot.savings.pricebook import PriceBook

OTLP = DATA / "otlp"
STYLES = ("semconv.json", "openllmetry.jsonl", "openinference.json")
SUPPORT_PROMPT = "You are the support assistant for Acme. Answer in two sentences."
START = 1_793_613_600_000_000_000  # 2026-11-02T10:00:00Z


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def _span(span_id: str, trace_id: str = "5b8efff798038103d269b633813fc60c", *,
          start: int | str = START, **attrs: Any) -> dict[str, Any]:
    return {
        "traceId": trace_id, "spanId": span_id, "name": "chat", "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(int(start) + 2_000_000_000) if isinstance(start, int) else None,
        "attributes": [_attr(k.replace("__", "."), v) for k, v in attrs.items()],
    }


def _doc(*spans: dict[str, Any], service: str = "acme-api", **resource: str) -> dict[str, Any]:
    attrs = [_attr("service.name", service)] + [_attr(k.replace("__", "."), v) for k, v in resource.items()]
    return {"resourceSpans": [{"resource": {"attributes": attrs},
                               "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}]}]}


def _chat(span_id: str, **extra: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai__operation__name": "chat", "gen_ai__provider__name": "openai",
        "gen_ai__request__model": "gpt-4.1", "gen_ai__usage__input_tokens": 100,
        "gen_ai__usage__output_tokens": 10, "spendpilot__feature": "clf",
    }
    attrs.update(extra)
    return _span(span_id, **{k: v for k, v in attrs.items() if v is not None})


def _write(path: Path, *docs: dict[str, Any]) -> Path:
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    return path


def _per_feature(lake: Path) -> dict[str, tuple[int, int, int, int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for u in read_llm_usage(lake):
        t = totals[u.feature]
        for i, n in enumerate((u.requests, u.input_tokens, u.cached_input_tokens, u.output_tokens)):
            t[i] += n
    return {f: (t[0], t[1], t[2], t[3]) for f, t in totals.items()}


def _all_text(lake: Path) -> str:
    """Every value of every Parquet file under ``lake`` (requests and quarantine), as text."""
    return "\n".join(str(v) for p in lake.rglob("*.parquet")
                     for column in pq.read_table(p).to_pydict().values() for v in column)


def test_three_attribute_styles_ingest_to_the_same_per_feature_totals(tmp_path: Path) -> None:
    expected = {
        "invoice-summarizer": (2, 7100, 5000, 700),
        "support-bot": (2, 2100, 1024, 230),
    }
    hashes = set()
    for name in STYLES:
        lake = tmp_path / name
        report = ingest_otlp_file(OTLP / name, lake)
        assert (report.spans_read, report.spans_stored, report.spans_skipped,
                report.spans_quarantined) == (6, 4, 2, 0), name
        assert _per_feature(lake) == expected, name
        assert {f.feature: (f.requests, f.input_tokens, f.cache_read_input_tokens, f.output_tokens)
                for f in report.features} == expected, name
        requests = read_llm_requests(lake)
        support = [r for r in requests if r.feature == "support-bot"]
        assert {r.conversation_id for r in support} == {"conv-7f3a"}, name
        assert {(r.max_tokens, r.finish_reason) for r in support} == {(512, "stop")}, name
        assert all(r.system_instructions is None and r.input_messages is None for r in requests), name
        hashes |= {r.prompt_prefix_sha256 for r in support}
    assert hashes == {hashlib.sha256(SUPPORT_PROMPT.encode()).hexdigest()}


def test_prompt_text_is_absent_from_the_lake_unless_opted_in(tmp_path: Path) -> None:
    document = json.loads((OTLP / "semconv.json").read_text())
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[1]["attributes"].append(_attr("gen_ai.request.model", ""))  # quarantined: no model
    spans[1]["attributes"] = [a for a in spans[1]["attributes"] if a["key"] != "gen_ai.response.model"]
    report = ingest_otlp_file(_write(tmp_path / "q.json", document), tmp_path / "default")
    assert report.spans_quarantined == 1
    stored = _all_text(tmp_path / "default")
    assert "Acme" in (OTLP / "semconv.json").read_text() and "order 1234" in (OTLP / "semconv.json").read_text()
    assert "Acme" not in stored and "order 1234" not in stored
    assert "gpt-4.1" in stored  # the check can see what it looks for

    ingest_otlp_file(OTLP / "openllmetry.jsonl", tmp_path / "kept", OtelSettings(store_prompt_text=True))
    first = read_llm_requests(tmp_path / "kept")[0]
    assert first.system_instructions == SUPPORT_PROMPT
    assert json.loads(first.input_messages or "[]")[1] == {"role": "user", "content": "Where is my order 1234?"}


def test_containment_rule_splits_cached_tokens_and_recognises_anthropic_exclusive_counts(
    tmp_path: Path,
) -> None:
    doc = _doc(
        # OTel semantics: 1000 input tokens of which 800 were cache reads.
        _chat("0000000000000001", gen_ai__usage__input_tokens=1000,
              gen_ai__usage__cache_read__input_tokens=800),
        # Anthropic API's input_tokens passed through: 50 uncached + 800 read + 100 written.
        _chat("0000000000000002", gen_ai__provider__name="anthropic",
              gen_ai__request__model="claude-sonnet-4-20250514", gen_ai__usage__input_tokens=50,
              gen_ai__usage__cache_read__input_tokens=800,
              gen_ai__usage__cache_creation__input_tokens=100),
    )
    ingest_otlp_file(_write(tmp_path / "c.json", doc), tmp_path / "lake")
    by_span = {r.span_id: r for r in read_llm_requests(tmp_path / "lake")}
    otel, anthropic = by_span["0000000000000001"], by_span["0000000000000002"]
    assert (otel.input_tokens, otel.cache_read_input_tokens, otel.uncached_input_tokens) == (1000, 800, 200)
    assert (anthropic.input_tokens, anthropic.cache_read_input_tokens,
            anthropic.cache_creation_input_tokens, anthropic.uncached_input_tokens) == (950, 800, 100, 150)


def test_unusable_genai_spans_are_quarantined_naming_the_field(tmp_path: Path) -> None:
    doc = _doc(
        _chat("0000000000000001"),
        _chat("0000000000000002", gen_ai__usage__output_tokens=-5),
        _chat("0000000000000003", gen_ai__usage__input_tokens="lots"),
        _chat("0000000000000004", gen_ai__request__model=None),
        _span("0000000000000005", start="yesterday", llm__model_name="m", llm__token_count__prompt=3),
        _span("0000000000000006", http__request__method="GET"),
    )
    path = _write(tmp_path / "q.jsonl", doc, {"not": "otlp"})
    path.write_text(path.read_text() + "{broken\n")
    report = ingest_otlp_file(path, tmp_path / "lake")

    assert (report.spans_read, report.spans_stored, report.spans_skipped, report.spans_quarantined) == (8, 1, 1, 6)
    assert report.spans_read == report.spans_stored + report.spans_skipped + report.spans_quarantined
    assert report.skipped == {"not a GenAI span": 1}
    assert report.reasons == {
        "gen_ai.usage.output_tokens: negative count": 1,
        "gen_ai.usage.input_tokens: not an integer": 1,
        "gen_ai.request.model: missing model (no gen_ai.request.model, gen_ai.response.model or llm.model_name)": 1,
        "startTimeUnixNano: missing or not a time in nanoseconds": 1,
        "not an OTLP trace document (no resourceSpans list)": 1,
        "not JSON": 1,
    }
    assert report.examples[0].message == (
        f"{path}:1 span 0000000000000002 gen_ai.usage.output_tokens: negative count ('-5')"
    )
    assert report.quarantine_file is not None
    rows = pq.read_table(report.quarantine_file).to_pylist()
    assert [(r["line"], r["span_id"], r["_field"]) for r in rows][:2] == [
        ("1", "0000000000000002", "gen_ai.usage.output_tokens"),
        ("1", "0000000000000003", "gen_ai.usage.input_tokens"),
    ]
    assert [r["line"] for r in rows][-2:] == ["2", "3"]


def test_a_span_is_stored_once_however_often_it_is_delivered(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = ingest_otlp_file(OTLP / "semconv.json", lake)
    again = ingest_otlp_file(OTLP / "semconv.json", lake)
    assert (first.spans_stored, again.spans_stored) == (4, 4)
    assert len(read_llm_requests(lake)) == 4
    assert _per_feature(lake)["support-bot"] == (2, 2100, 1024, 230)

    # A retried export: one span re-sent (with a later count), one new, one twice in the batch.
    retry = _doc(_span("eee19b7ec3c1b174", start=START, spendpilot__feature="support-bot",
                       gen_ai__provider__name="openai", gen_ai__request__model="gpt-4.1",
                       gen_ai__usage__input_tokens=1200, gen_ai__usage__output_tokens=150),
                 _chat("0000000000000009"), _chat("0000000000000009"))
    retry["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "5b8efff798038103d269b633813fc60c"
    report = ingest_otlp_file(_write(tmp_path / "retry.json", retry), lake)
    assert report.skipped == {DUPLICATE: 1}
    assert report.rows_replaced == 1
    requests = read_llm_requests(lake)
    assert len(requests) == 5
    assert sorted(r.span_id for r in requests).count("eee19b7ec3c1b174") == 1


def test_attribution_follows_the_configured_attributes_span_parent_then_resource(tmp_path: Path) -> None:
    parent = _span("00000000000000aa", gen_ai__agent__name="triage-agent", spendpilot__team="growth")
    child = _chat("00000000000000bb", spendpilot__feature=None)
    child["parentSpanId"] = "00000000000000aa"
    orphan = _chat("00000000000000cc", spendpilot__feature=None)
    path = _write(tmp_path / "a.json", _doc(parent, child, orphan, service="billing-svc",
                                            spendpilot__customer="initech"))
    ingest_otlp_file(path, tmp_path / "default")
    by_span = {r.span_id: r for r in read_llm_requests(tmp_path / "default")}
    assert (by_span["00000000000000bb"].feature, by_span["00000000000000bb"].team) == ("triage-agent", "growth")
    assert by_span["00000000000000bb"].customer == "initech"
    assert by_span["00000000000000cc"].feature == "billing-svc"

    custom = OtelSettings(feature_attributes=["spendpilot.customer"], team_attributes=["service.name"])
    ingest_otlp_file(path, tmp_path / "custom", custom)
    assert {(r.feature, r.team) for r in read_llm_requests(tmp_path / "custom")} == {("initech", "billing-svc")}


def test_wire_variants_gzip_snake_case_base64_ids_and_detection(tmp_path: Path) -> None:
    trace = bytes.fromhex("5b8efff798038103d269b633813fc60c")
    doc = {"resource_spans": [{"resource": {"attributes": [_attr("service.name", "s")]},
                               "scope_spans": [{"spans": [{
                                   "trace_id": base64.b64encode(trace).decode(),
                                   "span_id": base64.b64encode(bytes(range(1, 9))).decode(),
                                   "start_time_unix_nano": START,
                                   "attributes": [
                                       {"key": "llm.model_name", "value": {"string_value": "gpt-4.1"}},
                                       {"key": "llm.token_count.prompt", "value": {"int_value": 7}},
                                       {"key": "llm.token_count.completion", "value": {"doubleValue": 2.0}},
                                   ]}]}]}]}
    path = tmp_path / "export.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    assert looks_like_otlp_json(path)
    assert not looks_like_otlp_json(DATA / "focus" / "planted_bad_rows.csv")
    report = ingest_otlp_file(path, tmp_path / "lake")
    assert report.spans_stored == 1
    [r] = read_llm_requests(tmp_path / "lake")
    assert (r.trace_id, r.span_id) == (trace.hex(), "0102030405060708")
    assert (r.input_tokens, r.output_tokens, r.provider, r.feature) == (7, 2, "unknown", "s")
    assert r.start_time == datetime(2026, 11, 2, 10, tzinfo=UTC)

    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(IngestError, match="bad.json: not JSON"):
        ingest_otlp_file(tmp_path / "bad.json", tmp_path / "lake")


def test_usage_exports_win_over_spans_for_the_same_provider_feature_and_day(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest_otlp_file(OTLP / "semconv.json", lake)
    export = tmp_path / "usage.csv"
    export.write_text(
        "day,provider,model,feature,requests,input_tokens,output_tokens,cost\n"
        "2026-11-02,openai,gpt-4.1,support-bot,3,3000,300,0.10\n"
    )
    ingest_llm_usage_file(export, lake)
    assert _per_feature(lake) == {"support-bot": (3, 3000, 0, 300),
                                  "invoice-summarizer": (2, 7100, 5000, 700)}


def test_route_to_model_check_fires_from_spans_alone(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest_otlp_file(OTLP / "semconv.json", lake)
    route = Resource(ref=ResourceRef(provider="aws", kind="llm_feature", id="support-bot", name="support-bot"),
                     attributes={"model": "gpt-4.1", "parameter": "/p/support-bot/model"})
    snap = Snapshot(taken_at=datetime(2026, 11, 3, tzinfo=UTC), resources=[route],
                    llm_usage=read_llm_usage(lake))
    spec = all_checks()["frontier_model_simple_tasks"]
    [finding] = spec.run(snap, spec.settings({"min_requests": 2}), PriceBook.bundled())
    assert (finding.facts.model, finding.facts.requests, finding.facts.cached_input_tokens) == ("gpt-4.1", 2, 1024)


def test_merging_small_files_keeps_every_request_once(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest_otlp_file(OTLP / "semconv.json", lake)
    for n in range(1, 3):
        ingest_otlp_file(_write(tmp_path / f"d{n}.json", _doc(_chat(f"00000000000000a{n}"))), lake)
    before = read_llm_requests(lake)
    assert len(list((lake / "llm_requests").glob("*.parquet"))) == 3

    assert compact_requests(lake, at_least=4) == 0
    assert compact_requests(lake, at_least=3) == 3
    assert [p.name[:10] for p in (lake / "llm_requests").glob("*.parquet")] == ["compacted-"]
    assert read_llm_requests(lake) == before

    again = ingest_otlp_file(tmp_path / "d1.json", lake)  # re-delivered after the merge
    assert again.rows_replaced == 1
    assert read_llm_requests(lake) == before


def test_a_span_carrying_two_styles_is_read_once_current_semconv_first(tmp_path: Path) -> None:
    both = _chat("0000000000000001", gen_ai__usage__input_tokens=100, gen_ai__usage__prompt_tokens=90,
                 llm__token_count__prompt=80, llm__token_count__completion=7, gen_ai__usage__output_tokens=None,
                 gen_ai__usage__completion_tokens=None)
    ingest_otlp_file(_write(tmp_path / "b.json", _doc(both)), tmp_path / "lake")
    [r] = read_llm_requests(tmp_path / "lake")
    assert (r.input_tokens, r.output_tokens, r.attribute_style) == (100, 7, "otel-semconv")


def test_lake_health_counts_the_stored_requests(tmp_path: Path) -> None:
    ingest_otlp_file(OTLP / "openinference.json", tmp_path / "lake")
    report = health(tmp_path / "lake")
    assert (report.llm_request_rows, report.llm_usage_rows, report.readable) == (4, 0, True)

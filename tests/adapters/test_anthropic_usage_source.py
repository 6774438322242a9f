"""The Anthropic source against a local server replaying the Admin API reference's shapes, and
the containment rule: the same traffic read from Anthropic and from OpenAI lands on the same
token numbers."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.adapters.llm_usage_server import (
    ANTHROPIC,
    ANTHROPIC_DATA,
    OPENAI,
    OPENAI_DATA,
    Canned,
    load,
    usage_api_server,
)

from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.adapters.llm.source_anthropic import AnthropicUsageSettings, AnthropicUsageSource
from spendpilot.adapters.llm.source_openai import OpenAiUsageSettings, OpenAiUsageSource
from spendpilot.agent.collect import collect_snapshot
from spendpilot.checks import all_checks
from spendpilot.domain import Resource, ResourceRef, Snapshot
from spendpilot.savings.pricebook import PriceBook

KEY = "sk-ant-admin01-test-5d1e"  # test-only value
NOW = datetime(2025, 8, 3, 9, 0, tzinfo=UTC)
USAGE, COST = "/v1/organizations/usage_report/messages", "/v1/organizations/cost_report"
WORKSPACE = "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"  # the reference example's


def example_result(**changes: Any) -> dict[str, Any]:
    return load(ANTHROPIC_DATA / "usage_report_messages_example.json")["data"][0]["results"][0] | changes


def cost_result(**changes: Any) -> dict[str, Any]:
    return load(ANTHROPIC_DATA / "cost_report_example.json")["data"][0]["results"][0] | changes


def page(day: str, *results: dict[str, Any]) -> dict[str, Any]:
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return {"data": [{"starting_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "ending_at": start.replace(day=start.day + 1).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "results": list(results)}]}


def ctx() -> SourceContext:
    return SourceContext(now=NOW, prices=PriceBook.bundled())


def source(url: str, sleeps: list[float] | None = None, **settings: Any) -> AnthropicUsageSource:
    return AnthropicUsageSource(AnthropicUsageSettings(base_url=url, **settings),
                                sleep=(sleeps if sleeps is not None else []).append)


@pytest.fixture
def admin_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", KEY)
    return KEY


def test_the_reference_example_adds_anthropics_input_parts_up(admin_key: str) -> None:
    with usage_api_server(ANTHROPIC, admin_key) as server:
        server.pages = {USAGE: [load(ANTHROPIC_DATA / "usage_report_messages_example.json")],
                        COST: [load(ANTHROPIC_DATA / "cost_report_example.json")]}
        got = source(server.url, feature_by_workspace={WORKSPACE: "support-bot"}).read(ctx())
    [row] = got.llm_usage
    assert (row.day, row.provider, row.model, row.feature, row.project_id) == (
        date(2025, 8, 1), "anthropic", "claude-sonnet-4-20250514", "support-bot", WORKSPACE)
    # 1500 uncached + 200 cache read + 1000 (1h) + 500 (5m) cache writes: every input token.
    assert (row.input_tokens, row.cached_input_tokens, row.cache_write_input_tokens, row.output_tokens) == (3200, 200, 1500, 500)
    assert row.requests == 0  # the usage report has no request count
    assert (row.cost, row.currency) == (Decimal("1.2345"), "USD")  # "123.45" is in cents
    assert "no request counts" in got.summary


def test_pages_parameters_and_headers_are_the_documented_ones(admin_key: str) -> None:
    with usage_api_server(ANTHROPIC, admin_key) as server:
        server.pages = {
            USAGE: [page(f"2025-08-0{d}", example_result(model="claude-opus-4-1-20250805")) for d in (1, 2)],
            COST: [page("2025-08-01", cost_result(model="claude-opus-4-1-20250805", amount="1000")),
                   page("2025-08-02", cost_result(model=None, token_type=None, cost_type="web_search", amount="50"),
                        cost_result(workspace_id=None, model=None, cost_type="code_execution", amount="7"))],
        }
        got = source(server.url, lookback_days=7).read(ctx())
    first, second = server.requests_to(USAGE)
    assert first.headers["x-api-key"] == KEY and first.headers["anthropic-version"] == "2023-06-01"
    assert first.query["group_by[]"] == ["workspace_id", "model"]
    assert (first.query["starting_at"], first.query["ending_at"]) == (["2025-07-28T00:00:00Z"], ["2025-08-03T09:00:00Z"])
    assert (first.query["bucket_width"], first.query["limit"]) == (["1d"], ["31"])
    assert second.query["page"] == ["page_Y3Vyc29yLTE="]
    assert server.requests_to(COST)[0].query["group_by[]"] == ["workspace_id", "description"]
    assert [(r.day.day, r.feature, r.cost) for r in got.llm_usage] == [
        (1, WORKSPACE, Decimal("10")), (2, WORKSPACE, Decimal("0.5"))]
    # The default workspace's code execution cost has no usage row to sit on: said, not dropped silently.
    assert got.warnings == ["0.07 USD of Anthropic costs matched no messages usage row (day, workspace, model) "
                            "and is not in the LLM usage rows"]


def test_a_429_with_retry_after_then_success(admin_key: str) -> None:
    sleeps: list[float] = []
    with usage_api_server(ANTHROPIC, admin_key) as server:
        server.pages = {USAGE: [page("2025-08-01", example_result())]}
        server.first = {USAGE: [Canned(429, (ANTHROPIC_DATA / "error_rate_limit.json").read_bytes(),
                                       headers={"retry-after": "12"}),
                                Canned(529, b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}')]}
        got = source(server.url, sleeps, costs=False).read(ctx())
    assert sleeps == [12.0, 2.0]
    assert got.llm_usage[0].input_tokens == 3200


def test_a_refused_key_is_a_named_gap_without_the_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CLAUDE_ADMIN", "sk-ant-admin01-WRONG")
    caplog.set_level(logging.DEBUG)
    with usage_api_server(ANTHROPIC, KEY) as server:
        server.pages = {USAGE: [page("2025-08-01")]}
        [anthropic] = build_sources([{"kind": "anthropic", "base_url": server.url, "admin_key_env": "CLAUDE_ADMIN"}], tmp_path)
        snap = collect_snapshot([anthropic], ctx())
    [gap] = snap.gaps
    assert (gap.source, gap.error) == ("anthropic usage", "Anthropic refused the admin key in CLAUDE_ADMIN (HTTP 401) for "
                                       "/v1/organizations/usage_report/messages: set CLAUDE_ADMIN to an organization admin "
                                       "key with usage access")
    assert "WRONG" not in caplog.text


def test_equivalent_traffic_lands_on_the_same_tokens_from_either_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """100 requests: 500 uncached input tokens, 400 read from the cache, 100 written to it, 300 out.
    OpenAI reports input 1000 *including* the cache parts; Anthropic reports the parts apart."""
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", KEY)
    openai_result = load(OPENAI_DATA / "completions_result_example.json") | {
        "input_tokens": 1000, "input_cached_tokens": 400, "input_cache_write_tokens": 100,
        "input_uncached_tokens": 500, "output_tokens": 300, "num_model_requests": 100}
    openai_page = {"object": "page", "data": [{"object": "bucket", "start_time": 1754006400,
                                               "end_time": 1754092800, "results": [openai_result]}]}
    anthropic_result = example_result(uncached_input_tokens=500, cache_read_input_tokens=400, output_tokens=300,
                                      cache_creation={"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 0})
    with usage_api_server(OPENAI, KEY, prefix="/v1") as o, usage_api_server(ANTHROPIC, KEY) as a:
        o.pages = {"/v1/organization/usage/completions": [openai_page]}
        a.pages = {USAGE: [page("2025-08-01", anthropic_result)]}
        [from_openai] = OpenAiUsageSource(OpenAiUsageSettings(base_url=o.url, embeddings=False, costs=False)).read(ctx()).llm_usage
        [from_anthropic] = source(a.url, costs=False).read(ctx()).llm_usage
    tokens = ("input_tokens", "cached_input_tokens", "cache_write_input_tokens", "output_tokens")
    assert [getattr(from_openai, t) for t in tokens] == [getattr(from_anthropic, t) for t in tokens] == [1000, 400, 100, 300]
    assert from_openai.day == from_anthropic.day == date(2025, 8, 1)


def test_an_undocumented_page_is_one_line(admin_key: str) -> None:
    with usage_api_server(ANTHROPIC, admin_key) as server:
        server.pages = {USAGE: [page("2025-08-01")]}
        server.first = {USAGE: [Canned(200, json.dumps({"data": [{"starting_at": "yesterday", "ending_at": "today",
                                                                  "results": []}], "has_more": False}).encode())]}
        [anthropic] = build_sources([{"kind": "anthropic", "base_url": server.url}], Path("."))
        snap = collect_snapshot([anthropic], ctx())
    [gap] = snap.gaps
    assert gap.error.startswith("Anthropic /v1/organizations/usage_report/messages page 1 is not the documented shape: "
                                "data.0.starting_at: ")
    assert "\n" not in gap.error


def test_without_request_counts_the_frontier_check_skips_anthropic_rows(admin_key: str) -> None:
    """Short requests on a frontier Claude model, but the report cannot say how many requests: the
    check does not guess an average, so it finds nothing (the README says so)."""
    model = "claude-opus-4-1-20250805"
    short = example_result(model=model, uncached_input_tokens=40_000, cache_read_input_tokens=0, output_tokens=5_000,
                           cache_creation={"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0})
    with usage_api_server(ANTHROPIC, admin_key) as server:
        server.pages = {USAGE: [page("2025-08-01", short), page("2025-08-02", short)]}
        rows = source(server.url, costs=False, feature_by_workspace={WORKSPACE: "support-bot"}).read(ctx()).llm_usage
    route = Resource(ref=ResourceRef(provider="aws", kind="llm_feature", id="support-bot", name="support-bot"),
                     attributes={"model": model, "parameter": "/spendpilot/features/support-bot/model"})
    spec = all_checks()["frontier_model_simple_tasks"]
    prices = PriceBook.bundled()
    assert prices.tier(model) == "frontier"
    snap = Snapshot(taken_at=NOW, resources=[route], llm_usage=rows)
    assert spec.run(snap, spec.settings({"min_requests": 0}), prices) == []  # not a division by zero
    # The same rows with a request count (as a usage export or spans would give) are found.
    counted = Snapshot(taken_at=NOW, resources=[route], llm_usage=[r.model_copy(update={"requests": 100}) for r in rows])
    assert len(spec.run(counted, spec.settings({"min_requests": 1}), prices)) == 1

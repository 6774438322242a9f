"""The OpenAI source against a local server replaying the spec's documented pages: every page is
read, the documented parameters are sent, a 429 is waited out, and a refused key is a named gap
that names the environment variable and never shows the key."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.adapters.llm_usage_server import OPENAI, OPENAI_DATA, Canned, load, usage_api_server

from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.adapters.llm.source_openai import OpenAiUsageSettings, OpenAiUsageSource
from spendpilot.agent.collect import collect_snapshot
from spendpilot.errors import AdapterError
from spendpilot.savings.pricebook import PriceBook

KEY = "sk-admin-test-7f3a9c"  # what the server accepts; a test-only value, never a real key
NOW = datetime(2024, 11, 3, 15, 30, tzinfo=UTC)
DAY1 = 1730419200  # 2024-11-01T00:00:00Z, the spec examples' bucket
COMPLETIONS, EMBEDDINGS, COSTS = ("/v1/organization/usage/completions", "/v1/organization/usage/embeddings",
                                  "/v1/organization/costs")


def result(example: str, **changes: Any) -> dict[str, Any]:
    """The spec's documented result object, with some values changed."""
    return load(OPENAI_DATA / example) | changes


def page(day: int, *results: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "data": [{"object": "bucket", "start_time": day, "end_time": day + 86400,
                                        "results": list(results)}]}


def ctx() -> SourceContext:
    return SourceContext(now=NOW, prices=PriceBook.bundled())


def source(url: str, sleeps: list[float] | None = None, **settings: Any) -> OpenAiUsageSource:
    return OpenAiUsageSource(OpenAiUsageSettings(base_url=url, **settings),
                             sleep=(sleeps if sleeps is not None else []).append)


@pytest.fixture
def admin_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    return KEY


def test_the_spec_examples_read_as_usage_rows(admin_key: str) -> None:
    with usage_api_server(OPENAI, admin_key, prefix="/v1") as server:
        # The documented example pages as the spec gives them (the server sets has_more/next_page).
        server.pages = {COMPLETIONS: [load(OPENAI_DATA / "completions_page_example.json")],
                        EMBEDDINGS: [load(OPENAI_DATA / "embeddings_page_example.json")],
                        COSTS: [load(OPENAI_DATA / "costs_page_example.json")]}
        got = source(server.url).read(ctx())
    [row] = got.llm_usage  # model and project are null in the examples: one "unknown" row
    assert (row.day, row.model, row.feature, row.project_id) == (date(2024, 11, 1), "unknown", "openai-default-project", None)
    # Containment: input_tokens (1000 + 16 embeddings) already includes the 400 cached and 100 cache-write.
    assert (row.input_tokens, row.cached_input_tokens, row.cache_write_input_tokens) == (1016, 400, 100)
    assert (row.output_tokens, row.requests) == (500, 7)
    assert (row.cost, row.currency) == (Decimal("0.06"), "USD")


def test_every_page_is_read_with_the_documented_parameters(admin_key: str) -> None:
    gpt = result("completions_result_example.json", model="gpt-4.1", project_id="proj_abc")
    with usage_api_server(OPENAI, admin_key, prefix="/v1") as server:
        server.pages = {
            COMPLETIONS: [page(DAY1 + n * 86400, gpt | {"num_model_requests": 10 + n}) for n in range(3)],
            EMBEDDINGS: [page(DAY1, result("embeddings_result_example.json", project_id="proj_abc"))],
            COSTS: [page(DAY1, result("costs_result_example.json", project_id="proj_abc")),
                    page(DAY1 + 86400, result("costs_result_example.json", project_id="proj_abc"))],
        }
        got = source(server.url, feature_by_project={"proj_abc": "ticket-classifier"}).read(ctx())
    first, *rest = server.requests_to(COMPLETIONS)
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.query["group_by"] == ["project_id", "model"]  # form-style array, as the spec declares
    assert (first.query["bucket_width"], first.query["limit"]) == (["1d"], ["31"])
    assert first.query["start_time"] == [str(int(datetime(2024, 10, 5, tzinfo=UTC).timestamp()))]  # 30 days to today
    assert first.query["end_time"] == [str(int(NOW.timestamp()))]
    assert "page" not in first.query and [r.query["page"] for r in rest] == [["page_Y3Vyc29yLTE="], ["page_Y3Vyc29yLTI="]]
    assert len(server.requests_to(COSTS)) == 2
    gpt_rows = [r for r in got.llm_usage if r.model == "gpt-4.1"]
    assert [(r.day.day, r.requests, r.feature) for r in gpt_rows] == [(1, 10, "ticket-classifier"), (2, 11, "ticket-classifier"),
                                                                      (3, 12, "ticket-classifier")]
    embed = next(r for r in got.llm_usage if r.model == "text-embedding-ada-002-v2")
    assert (embed.input_tokens, embed.output_tokens, embed.requests) == (20, 0, 2)
    # Day 1's 0.06 USD is split between the project's two models by tokens; day 2 has one model.
    assert sum(r.cost for r in got.llm_usage if r.day.day == 1) == Decimal("0.06")
    assert gpt_rows[1].cost == Decimal("0.06")
    assert got.warnings == []


def test_features_by_api_key_win_over_the_project_and_add_the_grouping(admin_key: str) -> None:
    rows = [result("completions_result_example.json", model="gpt-4.1", project_id="proj_abc", api_key_id=k)
            for k in ("key_abc", "key_xyz")]
    costs = [result("costs_result_example.json", project_id="proj_abc", api_key_id=k, amount={"value": v, "currency": "usd"})
             for k, v in (("key_abc", 1.25), ("key_xyz", 0.5))]
    with usage_api_server(OPENAI, admin_key, prefix="/v1") as server:
        server.pages = {COMPLETIONS: [page(DAY1, *rows)], COSTS: [page(DAY1, *costs)]}
        got = source(server.url, embeddings=False, feature_by_project={"proj_abc": "support-bot"},
                     feature_by_api_key={"key_xyz": "summarizer"}).read(ctx())
    assert server.requests_to(COMPLETIONS)[0].query["group_by"] == ["project_id", "model", "api_key_id"]
    assert server.requests_to(COSTS)[0].query["group_by"] == ["project_id", "api_key_id"]
    # Each key's cost goes to its own feature, not spread over the project.
    assert sorted((r.feature, r.cost) for r in got.llm_usage) == [("summarizer", Decimal("0.5")),
                                                                  ("support-bot", Decimal("1.25"))]


def test_a_429_is_waited_out_for_its_retry_after_then_read(admin_key: str) -> None:
    sleeps: list[float] = []
    limited = Canned(429, json.dumps({"error": {"message": "Rate limit reached", "type": "requests",
                                                "param": None, "code": "rate_limit_exceeded"}}).encode(),
                     headers={"Retry-After": "7"})
    with usage_api_server(OPENAI, admin_key, prefix="/v1") as server:
        server.pages = {COMPLETIONS: [page(DAY1, result("completions_result_example.json"))]}
        server.first = {COMPLETIONS: [limited, Canned(503, b"upstream busy")]}
        got = source(server.url, sleeps, embeddings=False, costs=False).read(ctx())
    assert sleeps == [7.0, 2.0]  # the server's seven seconds, then backoff for the 503 (second attempt)
    assert len(server.requests_to(COMPLETIONS)) == 3
    assert got.llm_usage[0].requests == 5


def test_errors_that_persist_end_the_read_with_one_line(admin_key: str) -> None:
    with usage_api_server(OPENAI, admin_key, prefix="/v1") as server:
        server.pages = {COMPLETIONS: [page(DAY1)]}
        server.first = {COMPLETIONS: [Canned(500, b'{"error": {"message": "boom"}}')] * 3}
        with pytest.raises(AdapterError) as failed:
            source(server.url, max_retries=2, embeddings=False, costs=False).read(ctx())
        assert str(failed.value) == ("OpenAI /organization/usage/completions still answered HTTP 500 after 2 retries: boom")

        server.first = {COMPLETIONS: [Canned(429, b"{}", headers={"retry-after": "3600"})]}
        with pytest.raises(AdapterError, match=r"retry after 3600s \(more than max_retry_wait_seconds = 60\)"):
            source(server.url, embeddings=False, costs=False).read(ctx())

        server.first = {COMPLETIONS: [Canned(200, b"<html>maintenance</html>")]}
        with pytest.raises(AdapterError, match="^OpenAI /organization/usage/completions answered something that is not JSON$"):
            source(server.url, embeddings=False, costs=False).read(ctx())

        server.first = {COMPLETIONS: [Canned(200, json.dumps(page(DAY1, {"object": "organization.usage.completions.result",
                                                                          "input_tokens": "many"})).encode())]}
        with pytest.raises(AdapterError, match=r"page 1 is not the documented shape: data\.0\.results\.0\.input_tokens"):
            source(server.url, embeddings=False, costs=False).read(ctx())


def test_a_refused_key_is_a_named_gap_that_never_shows_the_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-admin-WRONG-0123456789"
    monkeypatch.setenv("OPENAI_ADMIN_KEY", wrong)
    caplog.set_level(logging.DEBUG)
    with usage_api_server(OPENAI, KEY, prefix="/v1") as server:
        server.pages = {COMPLETIONS: [page(DAY1)]}
        [openai] = build_sources([{"kind": "openai", "name": "openai prod", "base_url": server.url}], tmp_path)
        snap = collect_snapshot([openai], ctx())
    [gap] = snap.gaps
    assert gap.source == "openai prod"
    assert gap.error == ("OpenAI refused the admin key in OPENAI_ADMIN_KEY (HTTP 401) for /organization/usage/completions: "
                         "set OPENAI_ADMIN_KEY to an organization admin key with usage access")
    assert wrong not in gap.error and wrong not in caplog.text and "WRONG" not in caplog.text
    assert snap.llm_usage == []


def test_no_key_and_no_server_are_named_gaps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    with usage_api_server(OPENAI, KEY) as server:
        closed = server.url  # the port is free again once the server stops
    sources = build_sources([{"kind": "openai", "name": "no key"},
                             {"kind": "openai", "name": "nobody home", "base_url": closed, "admin_key_env": "SP_TEST_KEY",
                              "max_retries": 0}], tmp_path)
    monkeypatch.setenv("SP_TEST_KEY", KEY)
    snap = collect_snapshot(sources, ctx())
    errors = {g.source: g.error for g in snap.gaps}
    assert errors["no key"] == "OpenAI usage not read: set OPENAI_ADMIN_KEY to an organization admin key"
    assert errors["nobody home"].startswith(f"OpenAI could not be reached at {closed} (")
    assert KEY not in errors["nobody home"]

"""Every kind of token priced once, at its own price, checked against sums done by hand.

The hand computations use the per-1M prices of litellm 1.109.1 (bundled), written out in each
test so a reader can redo them: e.g. claude-sonnet-4-5 input $3, output $15, cache read $0.30,
5-minute cache write $3.75, 1-hour cache write $6, batch input $1.50 and output $7.50.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from tests.conftest import DATA as TEST_DATA
from tests.conftest import run_cli

from spendpilot.errors import ConfigError
from spendpilot.savings.price_refresh import refresh_prices, report_lines
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.token_cost import TokenCounts, UnpricedTokens, token_cost

UPSTREAM = TEST_DATA / "llm-prices" / "litellm_prices_openai_anthropic_bedrock.json"
M = Decimal(1_000_000)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook.bundled()


def test_every_price_kind_of_an_anthropic_model_is_in_the_book(book: PriceBook) -> None:
    p = book.token_price("claude-sonnet-4-5")
    assert p is not None
    per_m = {k: getattr(p, k) * M for k in (
        "input_per_token", "output_per_token", "cached_input_per_token", "cache_write_per_token",
        "cache_write_1h_per_token", "batch_input_per_token", "batch_output_per_token",
        "batch_cached_input_per_token", "reasoning_per_token")}
    assert per_m == {
        "input_per_token": Decimal("3"), "output_per_token": Decimal("15"),
        "cached_input_per_token": Decimal("0.3"), "cache_write_per_token": Decimal("3.75"),
        "cache_write_1h_per_token": Decimal("6"), "batch_input_per_token": Decimal("1.5"),
        "batch_output_per_token": Decimal("7.5"), "batch_cached_input_per_token": Decimal("0.15"),
        "reasoning_per_token": Decimal("15"),
    }
    assert p.reasoning_priced_separately is False  # thinking is billed as output
    assert p.source.as_of == "litellm 1.109.1, copied 2026-11-23"
    assert "BerriAI/litellm" in p.source.name


def test_otel_counts_price_cached_and_reasoning_tokens_once(book: PriceBook) -> None:
    """OTel input 10,000 includes 6,000 cache reads and 2,000 5-minute writes; output 1,000
    includes 400 reasoning. By hand: 2,000 x $3 + 6,000 x $0.30 + 2,000 x $3.75 + 600 x $15
    + 400 x $15 per 1M = 0.006 + 0.0018 + 0.0075 + 0.009 + 0.006 = $0.0303."""
    price = book.token_price("claude-sonnet-4-5")
    assert price is not None
    counts = TokenCounts.from_otel(input_tokens=10_000, cache_read=6_000, cache_write=2_000,
                                   output_tokens=1_000, reasoning=400)
    cost = token_cost(price, counts)
    assert (cost.uncached_input, cost.cache_read, cost.cache_write, cost.output, cost.reasoning) == (
        Decimal("0.006"), Decimal("0.0018"), Decimal("0.0075"), Decimal("0.009"), Decimal("0.006"))
    assert cost.total == Decimal("0.0303")
    # The double-counting mistake (all input at the input price, cache reads again) costs more:
    assert cost.total < Decimal(10_000) * price.input_per_token + Decimal(6_000) * price.cached_input_per_token  # type: ignore[operator]


def test_the_same_request_counted_the_anthropic_way_costs_the_same(book: PriceBook) -> None:
    """Anthropic's API reports input_tokens 2,000 *without* the 6,000 read and 2,000 written."""
    price = book.token_price("claude-sonnet-4-5")
    assert price is not None
    api = TokenCounts.from_anthropic_api(input_tokens=2_000, cache_read_input_tokens=6_000,
                                         cache_creation_5m=2_000, output_tokens=1_000)
    assert api.input_total == 10_000
    assert token_cost(price, api).total == Decimal("0.0303")


def test_one_hour_cache_writes_use_their_own_price(book: PriceBook) -> None:
    """claude-opus-4-5: 1,000 one-hour writes x $10/1M = $0.01; 5-minute ones x $6.25 = $0.00625."""
    price = book.token_price("claude-opus-4-5")
    assert price is not None
    hour = TokenCounts.from_anthropic_api(input_tokens=0, output_tokens=0, cache_creation_1h=1_000)
    five = TokenCounts.from_anthropic_api(input_tokens=0, output_tokens=0, cache_creation_5m=1_000)
    assert token_cost(price, hour).total == Decimal("0.01")
    assert token_cost(price, five).total == Decimal("0.00625")


def test_openai_reasoning_and_cached_tokens_by_hand(book: PriceBook) -> None:
    """gpt-4.1: input $2, cached $0.50, output $8 per 1M. OTel input 5,000 incl. 3,072 cached;
    output 800 incl. 500 reasoning: 1,928 x 2 + 3,072 x 0.5 + 300 x 8 + 500 x 8 = $0.011792."""
    price = book.token_price("gpt-4.1-2025-04-14")
    assert price is not None and price.model == "gpt-4.1-2025-04-14"
    counts = TokenCounts.from_otel(input_tokens=5_000, cache_read=3_072, output_tokens=800, reasoning=500)
    assert token_cost(price, counts).total == Decimal("0.011792")


def test_batch_prices_by_hand(book: PriceBook) -> None:
    """gpt-4.1 batch: input $1, output $4 per 1M: 5,000 x 1 + 800 x 4 = $0.0082 (vs $0.0164)."""
    price = book.token_price("gpt-4.1")
    assert price is not None
    counts = TokenCounts.from_otel(input_tokens=5_000, output_tokens=800)
    assert token_cost(price, counts, batch=True).total == Decimal("0.0082")
    assert token_cost(price, counts).total == Decimal("0.0164")


def test_a_missing_price_is_an_error_not_zero(book: PriceBook) -> None:
    price = book.token_price("gpt-4.1")
    assert price is not None and price.batch_cached_input_per_token is None
    cached = TokenCounts.from_otel(input_tokens=5_000, cache_read=2_000, output_tokens=10)
    with pytest.raises(UnpricedTokens, match="cache-read"):
        token_cost(price, cached, batch=True)


def test_openai_cache_writes_cost_the_input_price(book: PriceBook) -> None:
    """OpenAI has no cache-write charge: a write is an ordinary input token ($2/1M on gpt-4.1)."""
    price = book.token_price("gpt-4.1")
    assert price is not None and price.cache_write_per_token is None
    counts = TokenCounts.from_otel(input_tokens=1_000, cache_write=1_000, output_tokens=0)
    assert token_cost(price, counts).total == Decimal("0.002")


def test_impossible_otel_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="from_anthropic_api"):
        TokenCounts.from_otel(input_tokens=100, cache_read=500, output_tokens=1)
    with pytest.raises(ValueError, match="reasoning"):
        TokenCounts.from_otel(input_tokens=100, output_tokens=10, reasoning=11)


@pytest.mark.parametrize(("model", "minimum"), [
    ("claude-sonnet-4-5-20250929", 1024),
    ("claude-haiku-4-5-20251001", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-opus-4-7", 4096),          # litellm says 2,048; the docs as quoted say 4,096: larger kept
    ("claude-sonnet-4-6", 2048),        # sources disagree (1,024 / 2,048): larger kept
    ("anthropic.claude-3-5-haiku-20241022-v1:0", 2048),
    ("us.anthropic.claude-haiku-4-5-20251001-v1:0", 4096),
    ("gpt-4.1", 1024),
    ("gpt-4o-2024-08-06", 1024),
])
def test_prompt_cache_minimum_per_model(book: PriceBook, model: str, minimum: int) -> None:
    assert book.prompt_cache_minimum(model) == minimum
    price = book.token_price(model)
    assert price is not None and price.prompt_cache_min_tokens == minimum


def test_a_model_without_a_known_minimum_has_none(book: PriceBook) -> None:
    assert book.prompt_cache_minimum("amazon.nova-pro-v1:0") is None


# --------------------------------------------------------------------------- prices refresh


def _upstream() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(UPSTREAM.read_text(encoding="utf-8"))
    return loaded


def test_refresh_overrides_the_bundled_prices_and_says_what_changed(tmp_path: Path) -> None:
    data = _upstream()
    entry = dict(data["gpt-4.1"])  # type: ignore[call-overload]
    entry["input_cost_per_token"] = 1.5e-06
    data["gpt-4.1"] = entry
    data["my-new-model"] = {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                            "litellm_provider": "openai", "mode": "chat"}
    source = tmp_path / "prices.json"
    source.write_text(json.dumps(data))
    home = tmp_path / "home"
    report = refresh_prices(source, home, litellm_version="9.9.9")
    assert [(c.model, c.field, c.before, c.after) for c in report.changed] == [
        ("gpt-4.1", "input_cost_per_token", Decimal("0.000002"), Decimal("0.0000015"))]
    assert report.added == ["my-new-model"]
    lines = report_lines(report)
    assert "  gpt-4.1 input_cost_per_token: $2/1M -> $1.5/1M" in lines
    refreshed = PriceBook.for_home(home).token_price("gpt-4.1")
    assert refreshed is not None and refreshed.input_per_token == Decimal("0.0000015")
    assert refreshed.source.as_of is not None and refreshed.source.as_of.startswith("litellm 9.9.9")
    assert PriceBook.for_home(tmp_path / "other").token_price("gpt-4.1").input_per_token == Decimal("0.000002")  # type: ignore[union-attr]


def test_refresh_refuses_a_bad_entry_naming_model_and_field(tmp_path: Path) -> None:
    data = _upstream()
    entry = dict(data["claude-sonnet-4-5"])  # type: ignore[call-overload]
    entry["cache_read_input_token_cost"] = "cheap"
    data["claude-sonnet-4-5"] = entry
    source = tmp_path / "bad.json"
    source.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="'claude-sonnet-4-5', field 'cache_read_input_token_cost'"):
        refresh_prices(source, tmp_path / "home")
    assert not (tmp_path / "home" / "prices").exists()


def test_refresh_refuses_a_price_per_million_mistaken_for_per_token(tmp_path: Path) -> None:
    source = tmp_path / "wrong.json"
    source.write_text(json.dumps({"gpt-x": {"input_cost_per_token": 2.0, "output_cost_per_token": 8.0,
                                            "litellm_provider": "openai", "mode": "chat"}}))
    with pytest.raises(ConfigError, match="'gpt-x', field 'input_cost_per_token'.*not a per-token"):
        refresh_prices(source, tmp_path / "home")


def test_prices_refresh_cli(tmp_path: Path) -> None:
    source = tmp_path / "prices.json"
    source.write_text(UPSTREAM.read_text(encoding="utf-8"))
    home = tmp_path / "home"
    proc = run_cli("prices", "refresh", "--from", str(source), "--home", str(home), check=True)
    assert "overrides the bundled prices" in proc.stdout
    assert (home / "prices" / "llm_prices.json").is_file()
    bad = run_cli("prices", "refresh", "--from", str(tmp_path / "missing.json"), "--home", str(home))
    assert bad.returncode == 2 and "missing.json" in bad.stderr


def test_routing_saving_prices_cache_writes_at_the_write_price(book: PriceBook) -> None:
    """claude-opus-4-5 -> claude-sonnet-4-6, 30 days of 1M input (200k read, 100k written) and
    100k output. Per 1M: opus input $5, read $0.50, write $6.25, output $25; sonnet-4-6 input $3,
    read $0.30, write $3.75, output $15. Full delta, 30 days scaled by 30.4167/30:
    700k x 2 + 200k x 0.20 + 100k x 2.50 + 100k x 10 per 1M = 1.4 + 0.04 + 0.25 + 1.0 = 2.69;
    x 30.4167 / 30 = 2.72736; expected share 90% = 2.4546 -> $2.45."""
    from spendpilot.actions.route_to_model import RouteFacts
    from spendpilot.domain import Finding, Resource, ResourceRef
    from spendpilot.savings.registry import estimate

    facts = RouteFacts(model="claude-opus-4-5", target_model="claude-sonnet-4-6", days=30, requests=1000,
                       input_tokens=1_000_000, cached_input_tokens=200_000, cache_write_input_tokens=100_000,
                       output_tokens=100_000)
    resource = Resource(ref=ResourceRef(provider="aws", kind="llm_feature", id="f"))
    finding = Finding(resource=resource, summary="", facts=facts, rule="frontier_model_simple_tasks",
                      action_kind="route_to_model")
    est = estimate(finding, book)
    assert est is not None
    assert est.high.amount == Decimal("2.73") and est.expected.amount == Decimal("2.45")

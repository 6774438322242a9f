"""Token cost lands in the FOCUS lake as rows chargeback can sum, and never twice.

Usage arrives as GenAI spans (an OTLP JSON export, through the real ingest); a FOCUS billing
export that bills the same provider and day wins over the derived rows.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from spendpilot.config import OtelSettings
from spendpilot.domain import LlmRequest
from spendpilot.lake import ingest_file
from spendpilot.lake.otlp import ingest_otlp_file
from spendpilot.lake.schema import FOCUS_COLUMNS
from spendpilot.lake.token_focus import write_token_focus
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.otlp_export import write_otlp_json

PRICES = PriceBook.bundled()
DAY1, DAY2 = date(2026, 11, 2), date(2026, 11, 3)


def _requests() -> list[LlmRequest]:
    rows = []
    for day in (DAY1, DAY2):
        for i in range(10):
            rows.append(LlmRequest(
                start_time=datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(minutes=i),
                provider="openai", model="gpt-4.1-mini", feature="support-bot", team="care",
                conversation_id=f"c{day}-{i}", input_tokens=1_000, cache_read_input_tokens=400, output_tokens=200,
            ))
    return rows


def _lake_with_spans(tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    spans = write_otlp_json(_requests(), tmp_path / "spans.json")
    ingest_otlp_file(spans, lake, OtelSettings())
    return lake


def _ai_rows(lake: Path) -> list[tuple]:
    return duckdb.sql(
        f"SELECT \"BillingAccountId\", CAST(\"ChargePeriodStart\" AS DATE) AS d, \"BilledCost\", \"ConsumedUnit\", "
        f"\"ConsumedQuantity\", \"SkuId\", \"Tags\" FROM read_parquet('{lake}/focus/**/*.parquet', hive_partitioning=true) "
        "WHERE \"ServiceCategory\" = 'AI and Machine Learning' ORDER BY 1, 2"
    ).fetchall()


def _bill(tmp_path: Path, days: list[date], cost: str) -> Path:
    path = tmp_path / "bill.csv"
    names = [c.name for c in FOCUS_COLUMNS]
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=names, extrasaction="ignore")
        w.writeheader()
        for day in days:
            w.writerow({
                "BilledCost": cost, "EffectiveCost": cost, "ListCost": cost, "BillingAccountId": "org-acme",
                "BillingAccountName": "acme", "BillingCurrency": "USD", "BillingPeriodStart": "2026-11-01 00:00:00",
                "BillingPeriodEnd": "2026-12-01 00:00:00", "ChargeCategory": "Usage", "ChargeDescription": "gpt-4.1-mini",
                "ChargePeriodStart": f"{day} 00:00:00", "ChargePeriodEnd": f"{day + timedelta(days=1)} 00:00:00",
                "ProviderName": "OpenAI", "PublisherName": "OpenAI", "InvoiceIssuerName": "OpenAI",
                "ServiceCategory": "AI and Machine Learning", "ServiceName": "OpenAI API", "ChargeFrequency": "Usage-Based",
                "PricingCategory": "Standard", "ConsumedQuantity": "24000", "ConsumedUnit": "Tokens", "SkuId": "gpt-4.1-mini",
            })
    return path


def test_token_cost_becomes_focus_rows_priced_like_a_hand_computation(tmp_path: Path) -> None:
    lake = _lake_with_spans(tmp_path)
    report = write_token_focus(lake, PRICES)
    assert report.rows_written == 2 and report.skipped_billed == 0
    price = PRICES.token_price("gpt-4.1-mini")
    assert price is not None and price.cached_input_per_token is not None
    per_day = 10 * (600 * price.input_per_token + 400 * price.cached_input_per_token + 200 * price.output_per_token)
    rows = _ai_rows(lake)
    assert [(r[0], r[1]) for r in rows] == [("spendpilot-tokens:OpenAI", DAY1), ("spendpilot-tokens:OpenAI", DAY2)]
    for r in rows:
        assert abs(Decimal(str(r[2])) - per_day) < Decimal("0.000001")
        assert r[3] == "Tokens" and Decimal(str(r[4])) == 12_000 and r[5] == "gpt-4.1-mini"
        assert '"feature": "support-bot"' in r[6] and '"team": "care"' in r[6]
    write_token_focus(lake, PRICES)  # derived again: restated, not added
    assert len(_ai_rows(lake)) == 2


def test_a_billing_export_for_the_same_provider_and_day_wins(tmp_path: Path) -> None:
    lake = _lake_with_spans(tmp_path)
    ingest_file(_bill(tmp_path, [DAY1], "5.00"), lake)
    report = write_token_focus(lake, PRICES)
    assert report.skipped_billed == 1 and report.rows_written == 1
    by_day: dict[date, list[str]] = {}
    for r in _ai_rows(lake):
        by_day.setdefault(r[1], []).append(r[0])
    assert by_day == {DAY1: ["org-acme"], DAY2: ["spendpilot-tokens:OpenAI"]}


def test_derived_rows_are_withdrawn_when_the_bill_arrives_later(tmp_path: Path) -> None:
    lake = _lake_with_spans(tmp_path)
    write_token_focus(lake, PRICES)
    ingest_file(_bill(tmp_path, [DAY1, DAY2], "5.00"), lake)
    report = write_token_focus(lake, PRICES)
    assert report.withdrawn_periods == ["OpenAI 2026-11"]
    total = sum(Decimal(str(r[2])) for r in _ai_rows(lake))
    assert total == Decimal("10.00")  # the bill alone, nothing derived left beside it

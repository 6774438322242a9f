"""Token cost as FOCUS rows, so chargeback sums cloud and tokens in one query.

One row per day and (provider, model, feature): ServiceCategory "AI and Machine Learning",
ConsumedUnit "Tokens", ConsumedQuantity = input + output tokens, SkuId = the model, Tags
``feature`` (and ``team`` when the per-request table names one). The cost is the usage row's own
cost when its source reported one (provider usage exports), else the tokens priced from the price
book (uncached input, cache reads at their rate, output).

**No double counting.** The same money can reach the lake twice: once derived here from usage
(exports, spans) and once in a billing export (a FOCUS or CUR file whose provider bills LLM
usage, e.g. the OpenAI line of an invoice). The rule: *a billing export wins per provider and
day*. A day for which the lake holds any "AI and Machine Learning" row from that provider that
spendpilot did not derive gets no derived rows; those tokens are already in the bill. Derived
rows carry their own billing account (``spendpilot-tokens:<provider>``), so a re-derivation
restates only them (the lake's restatement key), and a month that became fully billed is
restated by one zero-cost row that withdraws the earlier derived rows.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field

from spendpilot.domain import LlmUsage
from spendpilot.lake.ingest import IngestReport, ingest_files
from spendpilot.lake.schema import FOCUS_COLUMNS

DERIVED_ACCOUNT = "spendpilot-tokens"
CATEGORY = "AI and Machine Learning"
PROVIDER_NAMES = {"openai": "OpenAI", "anthropic": "Anthropic", "bedrock": "AWS", "azure": "Microsoft"}


class TokenFocusReport(BaseModel):
    rows_written: int = 0
    skipped_billed: int = Field(0, description="Usage rows whose provider and day a billing export already covers.")
    unpriced: dict[str, int] = Field(default_factory=dict, description="Model -> usage rows with no cost and no price.")
    withdrawn_periods: list[str] = Field(default_factory=list)
    ingest: list[IngestReport] = Field(default_factory=list)


def provider_name(provider: str) -> str:
    return PROVIDER_NAMES.get(provider.lower(), provider)


def _period(day: date) -> tuple[str, str]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return f"{start} 00:00:00", f"{end} 00:00:00"


def billed_days(lake_dir: Path) -> set[tuple[str, date]]:
    """(ProviderName, day) pairs a billing export covers with AI and Machine Learning charges."""
    from spendpilot.lake.query import CostLake

    lake = CostLake(Path(lake_dir))
    rows = lake._rows(  # the lake's own view of its files (recovery and layout included)
        'SELECT DISTINCT "ProviderName" AS p, CAST("ChargePeriodStart" AS DATE) AS d FROM focus '
        'WHERE "ServiceCategory" = ? AND NOT starts_with(coalesce("BillingAccountId", \'\'), ?)',
        [CATEGORY, DERIVED_ACCOUNT],
    )
    return {(str(r["p"]), r["d"] if isinstance(r["d"], date) else date.fromisoformat(str(r["d"])[:10])) for r in rows}


def token_focus_rows(usage: Iterable[LlmUsage], prices: object, *, billed: set[tuple[str, date]],
                     teams: dict[str, str] | None = None, report: TokenFocusReport | None = None) -> list[dict[str, str]]:
    """FOCUS rows for ``usage`` (module docstring); ``prices`` is a ``PriceBook``."""
    from spendpilot.savings._token_cost import TokenMix

    report = report if report is not None else TokenFocusReport()
    teams = teams or {}
    rows: list[dict[str, str]] = []
    periods: set[tuple[str, str]] = set()
    written: set[tuple[str, str]] = set()
    unpriced: Counter[str] = Counter()
    for u in usage:
        name = provider_name(u.provider)
        period_start, period_end = _period(u.day)
        periods.add((name, period_start))
        if (name, u.day) in billed:
            report.skipped_billed += 1
            continue
        cost, currency = u.cost, u.currency
        if cost <= 0:
            price = prices.token_price(u.model)  # type: ignore[attr-defined]
            if price is None:
                unpriced[u.model] += 1
                continue
            mix = TokenMix(requests=u.requests, input_tokens=u.input_tokens,
                           cached_input_tokens=min(u.cached_input_tokens, u.input_tokens), output_tokens=u.output_tokens)
            cost, currency = mix.cost(price), price.currency
        tags = {"feature": u.feature} | ({"team": teams[u.feature]} if u.feature in teams else {})
        written.add((name, period_start))
        rows.append(_row(name, u.day, period_start, period_end, cost, currency, u, tags))
    for name, period_start in sorted(periods - written):
        # Every day of this provider-month is billed: one zero row restates (withdraws) what an
        # earlier derivation stored for it.
        start = date.fromisoformat(period_start[:10])
        rows.append(_row(name, start, period_start, _period(start)[1], Decimal(0), "USD", None, {}))
        report.withdrawn_periods.append(f"{name} {period_start[:7]}")
    report.unpriced = dict(unpriced)
    report.rows_written = len(rows)
    return rows


def _row(provider: str, day: date, period_start: str, period_end: str, cost: Decimal, currency: str,
         u: LlmUsage | None, tags: dict[str, str]) -> dict[str, str]:
    cost_s = f"{cost.quantize(Decimal('0.0000000001'))}"
    quantity = str(u.input_tokens + u.output_tokens) if u else "0"
    return {
        "BilledCost": cost_s, "EffectiveCost": cost_s, "ListCost": cost_s,
        "BillingAccountId": f"{DERIVED_ACCOUNT}:{provider}", "BillingAccountName": f"{provider} tokens (derived by spendpilot)",
        "BillingCurrency": currency, "BillingPeriodStart": period_start, "BillingPeriodEnd": period_end,
        "ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based",
        "ChargeDescription": (f"{u.model} tokens for {u.feature} ({u.requests} requests)" if u
                              else "derived token rows withdrawn: a billing export covers this month"),
        "ChargePeriodStart": f"{day} 00:00:00", "ChargePeriodEnd": f"{day + timedelta(days=1)} 00:00:00",
        "ConsumedQuantity": quantity, "ConsumedUnit": "Tokens", "PricingQuantity": quantity, "PricingUnit": "Tokens",
        "ListUnitPrice": "", "PricingCategory": "Standard",
        "ProviderName": provider, "PublisherName": provider, "InvoiceIssuerName": provider,
        "RegionId": "", "RegionName": "",
        "ResourceId": f"{u.project_id or u.feature}/{u.model}" if u else "", "ResourceName": u.feature if u else "",
        "ResourceType": "LLM Model" if u else "",
        "ServiceCategory": CATEGORY, "ServiceName": f"{provider} API", "SkuId": u.model if u else "",
        "SubAccountId": u.project_id or "" if u else "", "SubAccountName": "",
        "Tags": json.dumps(tags, sort_keys=True) if tags else "",
    }


def write_token_focus(lake_dir: Path, prices: object, since: date | None = None) -> TokenFocusReport:
    """Derive token FOCUS rows from the lake's LLM usage and ingest them (restating earlier ones)."""
    from spendpilot.lake.llm_usage import read_llm_usage
    from spendpilot.lake.otlp import read_llm_requests

    lake_dir = Path(lake_dir)
    usage = read_llm_usage(lake_dir, since)
    team_votes: dict[str, Counter[str]] = defaultdict(Counter)
    for r in read_llm_requests(lake_dir):
        if r.team:
            team_votes[r.feature][r.team] += 1
    teams = {f: votes.most_common(1)[0][0] for f, votes in team_votes.items()}
    report = TokenFocusReport()
    rows = token_focus_rows(usage, prices, billed=billed_days(lake_dir), teams=teams, report=report)
    if not rows:
        return report
    columns = [c.name for c in FOCUS_COLUMNS if any(c.name in r for r in rows[:1])]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spendpilot-token-focus.csv"
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        report.ingest = ingest_files([path], lake_dir)
    return report

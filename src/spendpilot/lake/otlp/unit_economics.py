"""Unit economics per feature: what one request, and one successful outcome, costs.

From the per-request table: tokens of each kind per (feature, provider, model), priced by the
price book (``token_cost``: every kind once, at its own price), divided by the requests and, when
the application reports an outcome (span attribute ``spendpilot.outcome``), by the successful
ones. This is the query the dashboard and anomaly work build on; ``spendpilot unit-costs``
prints it.

Cache writes are priced as 5-minute writes: spans do not say which TTL wrote them, and the
5-minute write is the default (a 1-hour write costs more, so this can understate).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel

from spendpilot.domain.money import DecimalStr
from spendpilot.lake.otlp.stats import request_table
from spendpilot.lake.otlp.store import REQUESTS_AREA, _query
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.token_cost import TokenCounts, UnpricedTokens, token_cost

SUCCESS_OUTCOMES = frozenset({"success", "succeeded", "ok", "resolved", "accepted", "completed", "true", "pass", "passed"})
"""``spendpilot.outcome`` values counted as a successful outcome (case-insensitive)."""


class FeatureUnitCost(BaseModel):
    feature: str
    provider: str
    model: str
    first_day: date
    last_day: date
    requests: int
    outcomes_reported: int
    """Requests carrying ``spendpilot.outcome``; 0 means cost per success is unknown, not zero."""
    successes: int
    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    output_tokens: int
    reasoning_output_tokens: int
    cost: DecimalStr | None
    """None when a token kind has no price (``note`` says which)."""
    currency: str = "USD"
    note: str = ""

    @property
    def cost_per_request(self) -> Decimal | None:
        return None if self.cost is None or not self.requests else self.cost / self.requests

    @property
    def cost_per_success(self) -> Decimal | None:
        """Cost of all requests over the successful ones (failures are part of what a success
        costs); None without reported outcomes or without a success."""
        if self.cost is None or not self.outcomes_reported or not self.successes:
            return None
        return self.cost / self.successes


def feature_unit_costs(
    lake_dir: Path, prices: PriceBook, since: date | None = None, until: date | None = None
) -> list[FeatureUnitCost]:
    """One row per (feature, provider, model) with requests between ``since`` and ``until``."""
    if not any((Path(lake_dir) / REQUESTS_AREA).glob("*.parquet")):
        return []
    clauses, params = [], []
    if since:
        clauses.append("day >= CAST(? AS DATE)")
        params.append(since.isoformat())
    if until:
        clauses.append("day <= CAST(? AS DATE)")
        params.append(until.isoformat())
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    success = ", ".join(f"'{s}'" for s in sorted(SUCCESS_OUTCOMES))
    rows = _query(
        lake_dir,
        "SELECT feature, provider, model, min(day) AS first_day, max(day) AS last_day, count(*) AS requests, "
        "count(outcome) AS outcomes_reported, "
        f"count(*) FILTER (WHERE lower(outcome) IN ({success})) AS successes, "
        "sum(input_tokens)::BIGINT AS input_tokens, sum(cache_read_input_tokens)::BIGINT AS cache_read_input_tokens, "
        "sum(cache_creation_input_tokens)::BIGINT AS cache_creation_input_tokens, "
        "sum(output_tokens)::BIGINT AS output_tokens, sum(reasoning_output_tokens)::BIGINT AS reasoning_output_tokens "
        f"FROM {request_table(lake_dir)} {where} GROUP BY ALL ORDER BY feature, provider, model",
        params,
    )
    out = []
    for row in rows:
        price = prices.token_price(str(row["model"]))
        cost: Decimal | None = None
        note = ""
        if price is None:
            note = f"no price for {row['model']}"
        else:
            try:
                counts = TokenCounts.from_otel(
                    input_tokens=row["input_tokens"], cache_read=row["cache_read_input_tokens"],
                    cache_write=row["cache_creation_input_tokens"], output_tokens=row["output_tokens"],
                    reasoning=row["reasoning_output_tokens"],
                )
                cost = token_cost(price, counts).total
            except (UnpricedTokens, ValueError) as exc:
                note = str(exc)
        out.append(FeatureUnitCost(**row, cost=cost, currency=price.currency if price else "USD", note=note))
    return out

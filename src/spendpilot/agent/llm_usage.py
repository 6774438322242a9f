"""What spendpilot's own language-model calls cost: tokens and money per conversation and per sweep.

A FinOps tool that spends tokens must show its own bill. Every reply a chat model returns
carries LangChain's ``usage_metadata`` (input, output, cache reads and writes, reasoning); each
call becomes one row of ``agent_llm_usage`` in the state store, priced with the same price book
and the same token arithmetic (``savings/token_cost.py``) as the organisation's LLM spend.

- **Conventions.** LangChain's ``input_tokens`` includes cache reads and writes and
  ``output_tokens`` includes reasoning (the OTel convention; langchain-anthropic sums
  Anthropic's parts into it), so counts go through ``TokenCounts.from_otel``.
- **Unknown prices are said, not zeroed.** A model the price book does not know (a local
  Ollama model, a custom gateway name) or a reply without usage is stored with no cost and a
  note; totals then say how many calls are unpriced.
- **Scopes.** ``conversation`` (one TUI session, ``LocalServices.conversation_id``) and
  ``sweep`` (the narrate node, keyed by the sweep id).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import insert, select

from spendpilot.domain import utcnow
from spendpilot.domain.money import DecimalStr, format_money
from spendpilot.state.schema import agent_llm_usage

if TYPE_CHECKING:
    from spendpilot.savings.pricebook import PriceBook
    from spendpilot.state import StateStore

Scope = Literal["conversation", "sweep"]
MODEL_NAME_KEYS = ("model_name", "model", "model_id")
"""Where providers put the model that answered in ``response_metadata`` (OpenAI, Anthropic, Bedrock)."""


@dataclass(frozen=True)
class LlmCall:
    """One model reply's tokens, in LangChain's (OTel) convention."""

    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    reported: bool = True
    """False when the reply carried no ``usage_metadata`` (counted, with zero tokens and a note)."""


@dataclass
class UsageTally:
    """Collects the calls of one run (a chat turn, a sweep's narration) before they are stored."""

    default_model: str
    calls: list[LlmCall] = field(default_factory=list)

    def add(self, message: Any) -> None:
        """Count one reply (an ``AIMessage``); anything else is ignored."""
        from langchain_core.messages import AIMessage

        if not isinstance(message, AIMessage):
            return
        meta = message.response_metadata or {}
        model = next((str(meta[k]) for k in MODEL_NAME_KEYS if isinstance(meta.get(k), str) and meta[k]),
                     self.default_model)
        usage = message.usage_metadata
        if usage is None:
            self.calls.append(LlmCall(model=model, input_tokens=0, output_tokens=0, reported=False))
            return
        inputs = usage.get("input_token_details") or {}
        outputs = usage.get("output_token_details") or {}
        self.calls.append(LlmCall(
            model=model, input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cache_read_tokens=int(inputs.get("cache_read") or 0),
            cache_write_tokens=int(inputs.get("cache_creation") or 0),
            reasoning_tokens=int(outputs.get("reasoning") or 0),
        ))

    def add_all(self, messages: Iterable[Any]) -> None:
        for m in messages:
            self.add(m)


def price_call(call: LlmCall, prices: PriceBook | None) -> tuple[Decimal | None, str | None, str]:
    """(cost, currency, note) of one call; no cost when it cannot be priced, with why."""
    from spendpilot.savings.token_cost import TokenCounts, UnpricedTokens, token_cost

    if not call.reported:
        return None, None, "the model reported no token usage"
    price = prices.token_price(call.model) if prices is not None else None
    if price is None:
        return None, None, f"no price for {call.model} in the price book"
    try:
        counts = TokenCounts.from_otel(
            input_tokens=call.input_tokens, output_tokens=call.output_tokens, cache_read=call.cache_read_tokens,
            cache_write=call.cache_write_tokens, reasoning=call.reasoning_tokens,
        )
        cost = token_cost(price, counts)
    except (ValueError, UnpricedTokens) as exc:
        return None, None, str(exc)
    note = f"priced as {price.model}" if price.model != call.model else ""
    return cost.total, cost.currency, note


def record_usage(store: StateStore, scope: Scope, scope_id: str, calls: Sequence[LlmCall],
                 prices: PriceBook | None, *, at: datetime | None = None) -> None:
    """Store ``calls`` under (scope, scope_id), each priced now."""
    if not calls:
        return
    when = at or utcnow()
    rows = []
    for call in calls:
        cost, currency, note = price_call(call, prices)
        rows.append({
            "at": when, "scope": scope, "scope_id": scope_id, "model": call.model[:200],
            "input_tokens": call.input_tokens, "output_tokens": call.output_tokens,
            "cache_read_tokens": call.cache_read_tokens, "cache_write_tokens": call.cache_write_tokens,
            "reasoning_tokens": call.reasoning_tokens, "cost": None if cost is None else str(cost),
            "currency": currency, "note": note,
        })
    with store.engine.begin() as conn:
        conn.execute(insert(agent_llm_usage), rows)


class UsageTotal(BaseModel):
    """The tokens and cost of one conversation or sweep (or of everything, ``scope_id`` "")."""

    scope: str
    scope_id: str
    first_at: datetime
    last_at: datetime
    calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    models: list[str]
    cost: dict[str, DecimalStr] = Field(default_factory=dict, description="Per currency.")
    unpriced_calls: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def cost_text(self) -> str:
        money = " + ".join(_money(amount, cur) for cur, amount in sorted(self.cost.items()))
        if self.unpriced_calls:
            unpriced = f"{self.unpriced_calls} call(s) unpriced"
            return f"{money} + {unpriced}" if money else unpriced
        return money or format_money(0, "USD")

    def line(self) -> str:
        """One line for the TUI chat's footer and logs."""
        return f"{self.tokens:,} tokens ({self.input_tokens:,} in, {self.output_tokens:,} out) · {self.cost_text()}"


def _money(amount: Decimal, currency: str) -> str:
    """Cents hide a chat's cost (a turn is often a tenth of a cent): below 1, four places."""
    if abs(amount) >= 1:
        return format_money(amount, currency)
    prefix = format_money(0, currency).removesuffix("0.00")
    return f"{prefix}{amount.quantize(Decimal('0.0001'))}"


def usage_totals(store: StateStore, *, scope: Scope | None = None, scope_id: str | None = None,
                 limit: int | None = None) -> list[UsageTotal]:
    """One total per (scope, scope_id), latest first."""
    q = select(agent_llm_usage).order_by(agent_llm_usage.c.id)
    if scope is not None:
        q = q.where(agent_llm_usage.c.scope == scope)
    if scope_id is not None:
        q = q.where(agent_llm_usage.c.scope_id == scope_id)
    with store.engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        groups[(r["scope"], r["scope_id"])].append(r)
    totals = [_total(s, sid, rs) for (s, sid), rs in groups.items()]
    totals.sort(key=lambda t: t.last_at, reverse=True)
    return totals[:limit] if limit else totals


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; what was stored is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _total(scope: str, scope_id: str, rows: Sequence[Any]) -> UsageTotal:
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["cost"] is not None:
            cost[r["currency"]] += Decimal(r["cost"])
    return UsageTotal(
        scope=scope, scope_id=scope_id, first_at=_aware(min(r["at"] for r in rows)), last_at=_aware(max(r["at"] for r in rows)),
        calls=len(rows), input_tokens=sum(r["input_tokens"] for r in rows),
        output_tokens=sum(r["output_tokens"] for r in rows),
        cache_read_tokens=sum(r["cache_read_tokens"] for r in rows),
        models=sorted({r["model"] for r in rows}), cost=dict(cost),
        unpriced_calls=sum(1 for r in rows if r["cost"] is None),
    )


def overall(totals: Sequence[UsageTotal]) -> UsageTotal | None:
    """Everything in ``totals`` added up (per currency), or None when there is nothing."""
    if not totals:
        return None
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for t in totals:
        for cur, amount in t.cost.items():
            cost[cur] += amount
    return UsageTotal(
        scope="all", scope_id="", first_at=min(t.first_at for t in totals), last_at=max(t.last_at for t in totals),
        calls=sum(t.calls for t in totals), input_tokens=sum(t.input_tokens for t in totals),
        output_tokens=sum(t.output_tokens for t in totals), cache_read_tokens=sum(t.cache_read_tokens for t in totals),
        models=sorted({m for t in totals for m in t.models}), cost=dict(cost),
        unpriced_calls=sum(t.unpriced_calls for t in totals),
    )

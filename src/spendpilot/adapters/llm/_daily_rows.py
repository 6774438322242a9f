"""Provider report rows -> the daily per-(model, feature) ``LlmUsage`` rows the checks read.

Both providers group usage by an organizational unit (an OpenAI project, an Anthropic
workspace) and optionally by API key; neither knows spendpilot's *features*. ``FeatureMap``
names them: an API key's mapping wins (it is the more specific), then the unit's, else the
unit's own id, so unmapped traffic stays visible under a name the user can look up.

Costs arrive on their own endpoint at a coarser grain than usage (OpenAI: per project and day,
no model; Anthropic: per workspace, day and model). ``allocate_cost`` puts each cost line on the
usage rows it covers, in proportion to their tokens when it covers several: exact when one row
matches, an approximation otherwise (the module docstrings of the sources say which applies).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from spendpilot.domain import LlmUsage

_CENT_MILLIONTHS = Decimal("0.000001")


@dataclass(frozen=True)
class FeatureMap:
    by_unit: Mapping[str, str]
    by_api_key: Mapping[str, str]
    unit_missing: str
    """The feature of usage with no unit id (OpenAI's default project, Anthropic's default workspace)."""

    def feature(self, unit_id: str | None, api_key_id: str | None) -> str:
        if api_key_id and api_key_id in self.by_api_key:
            return self.by_api_key[api_key_id]
        if unit_id and unit_id in self.by_unit:
            return self.by_unit[unit_id]
        return unit_id or self.unit_missing


@dataclass
class _Counts:
    requests: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)
    currency: str | None = None


RowKey = tuple[date, str, str, str | None]
"""(day, model, feature, unit id)."""


@dataclass
class DailyRows:
    provider: str
    _rows: dict[RowKey, _Counts] = field(default_factory=dict)

    def add(self, day: date, model: str, feature: str, unit_id: str | None, *, requests: int,
            input_tokens: int, cached_input_tokens: int, cache_write_input_tokens: int,
            output_tokens: int) -> None:
        """Add one report result. ``input_tokens`` must already include the cache reads and
        writes (the ``LlmUsage`` meaning); several API keys of one feature add up here."""
        counts = self._rows.setdefault((day, model, feature, unit_id), _Counts())
        counts.requests += requests
        counts.input_tokens += input_tokens
        counts.cached_input_tokens += cached_input_tokens
        counts.cache_write_input_tokens += cache_write_input_tokens
        counts.output_tokens += output_tokens

    def allocate_cost(self, day: date, unit_id: str | None, model: str | None, amount: Decimal,
                      currency: str, feature: str | None = None) -> bool:
        """Spread one cost line over the rows of that day and unit (and model or feature, when the
        cost names one) by their share of tokens. False when no usage row matches (the caller
        reports it)."""
        matches = [c for (d, m, f, u), c in self._rows.items()
                   if d == day and u == unit_id and model in (None, m) and feature in (None, f)]
        if not matches:
            return False
        tokens = [c.input_tokens + c.output_tokens for c in matches]
        total = sum(tokens)
        for counts, weight in zip(matches, tokens, strict=True):
            share = Decimal(weight) / Decimal(total) if total else Decimal(1) / len(matches)
            counts.cost += (amount * share).quantize(_CENT_MILLIONTHS)
            counts.currency = currency
        return True

    def rows(self) -> list[LlmUsage]:
        return [
            LlmUsage(day=day, provider=self.provider, model=model, feature=feature, project_id=unit,
                     requests=c.requests, input_tokens=c.input_tokens,
                     cached_input_tokens=c.cached_input_tokens,
                     cache_write_input_tokens=c.cache_write_input_tokens,
                     output_tokens=c.output_tokens, cost=c.cost, currency=c.currency or "USD")
            for (day, model, feature, unit), c in sorted(self._rows.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3] or ""))
        ]

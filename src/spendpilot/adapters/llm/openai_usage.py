"""OpenAI's organization Usage and Costs APIs: the documented page shapes, and what they mean
as daily ``LlmUsage`` rows.

Read (the spec is ``tests/data/openai-usage/PROVENANCE.md``):

* ``GET /organization/usage/completions`` and ``/organization/usage/embeddings``, grouped by
  ``project_id`` and ``model`` (and ``api_key_id`` when features are mapped by key);
* ``GET /organization/costs``, grouped by ``project_id`` (and ``api_key_id`` likewise).

**Containment.** OpenAI's ``input_tokens`` already *includes* ``input_cached_tokens`` and
``input_cache_write_tokens`` (the spec says so), which is the ``LlmUsage`` meaning: the counts
are copied, not added up. Embeddings have neither cache nor output tokens.

**Cost.** The Costs API has no model: a project's day of cost is spread over that project's
model rows of the day by token share. Exact when a project used one model that day; otherwise an
approximation, which is why the checks price tokens from the price book rather than trusting
these per-model costs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from spendpilot.adapters.llm._daily_rows import DailyRows, FeatureMap
from spendpilot.domain import LlmUsage

PROVIDER = "openai"
COMPLETIONS = "/organization/usage/completions"
EMBEDDINGS = "/organization/usage/embeddings"
COSTS = "/organization/costs"
UNKNOWN_MODEL = "unknown"


class _Result(BaseModel):
    model_config = ConfigDict(extra="ignore")

    project_id: str | None = None
    api_key_id: str | None = None


class CompletionsResult(_Result):
    input_tokens: int = Field(ge=0)
    input_cached_tokens: int | None = Field(None, ge=0)
    input_cache_write_tokens: int | None = Field(None, ge=0)
    output_tokens: int = Field(ge=0)
    num_model_requests: int = Field(ge=0)
    model: str | None = None


class EmbeddingsResult(_Result):
    input_tokens: int = Field(ge=0)
    num_model_requests: int = Field(ge=0)
    model: str | None = None


class CostAmount(BaseModel):
    value: Decimal
    currency: str


class CostsResult(_Result):
    amount: CostAmount
    line_item: str | None = None


R = TypeVar("R", bound=BaseModel)


class Bucket(BaseModel, Generic[R]):
    start_time: int
    end_time: int
    results: list[R]

    @property
    def day(self) -> date:
        return datetime.fromtimestamp(self.start_time, UTC).date()


class UsagePage(BaseModel, Generic[R]):
    """``UsageResponse``: ``object``, ``data``, ``has_more``, ``next_page`` are all required."""

    object: str
    data: list[Bucket[R]]
    has_more: bool
    next_page: str | None


def openai_usage_rows(
    completions: Iterable[UsagePage[CompletionsResult]],
    embeddings: Iterable[UsagePage[EmbeddingsResult]],
    costs: Iterable[UsagePage[CostsResult]],
    features: FeatureMap,
) -> tuple[list[LlmUsage], list[str]]:
    """The rows, and warnings about cost that no usage row could carry."""
    rows = DailyRows(PROVIDER)
    for page in completions:
        for bucket in page.data:
            for c in bucket.results:
                rows.add(bucket.day, c.model or UNKNOWN_MODEL, features.feature(c.project_id, c.api_key_id),
                         c.project_id, requests=c.num_model_requests, input_tokens=c.input_tokens,
                         cached_input_tokens=c.input_cached_tokens or 0,
                         cache_write_input_tokens=c.input_cache_write_tokens or 0,
                         output_tokens=c.output_tokens)
    for epage in embeddings:
        for ebucket in epage.data:
            for e in ebucket.results:
                rows.add(ebucket.day, e.model or UNKNOWN_MODEL, features.feature(e.project_id, e.api_key_id),
                         e.project_id, requests=e.num_model_requests, input_tokens=e.input_tokens,
                         cached_input_tokens=0, cache_write_input_tokens=0, output_tokens=0)
    unplaced: dict[str, Decimal] = {}
    for cpage in costs:
        for cbucket in cpage.data:
            for cost in cbucket.results:
                currency = cost.amount.currency.upper()
                # Grouped by API key too (features mapped by key): the cost goes to that key's feature.
                feature = features.feature(cost.project_id, cost.api_key_id) if cost.api_key_id else None
                if not rows.allocate_cost(cbucket.day, cost.project_id, None, cost.amount.value, currency, feature):
                    unplaced[currency] = unplaced.get(currency, Decimal(0)) + cost.amount.value
    warnings = [
        f"{amount:.2f} {currency} of OpenAI costs fell on days or projects with no completions or "
        "embeddings usage (other usage kinds are not read) and is not in the LLM usage rows"
        for currency, amount in sorted(unplaced.items()) if amount
    ]
    return rows.rows(), warnings

"""Anthropic's Admin API usage and cost reports: the documented page shapes, and what they mean
as daily ``LlmUsage`` rows.

Read (what was checked is in ``tests/data/anthropic-usage/PROVENANCE.md``):

* ``GET /v1/organizations/usage_report/messages``, ``group_by[]`` ``workspace_id`` and
  ``model`` (and ``api_key_id`` when features are mapped by key);
* ``GET /v1/organizations/cost_report``, ``group_by[]`` ``workspace_id`` and ``description``
  (the grouping that fills in ``model`` and ``token_type``).

**Containment.** Anthropic counts input in disjoint parts: ``uncached_input_tokens``,
``cache_read_input_tokens`` and ``cache_creation.{ephemeral_5m,ephemeral_1h}_input_tokens``.
``LlmUsage.input_tokens`` is every input token (OpenAI's meaning), so it is their *sum*; the
cache reads and the two cache writes are kept as its parts. The same traffic read from either
provider therefore lands on the same numbers.

**No request count.** The messages usage report has none, so these rows carry ``requests = 0``.
Checks that need per-request averages (``frontier_model_simple_tasks``) skip such rows (they
fall below any ``min_requests``) rather than guess; request counts for Anthropic traffic come
from OpenTelemetry spans or a usage export.

**Cost.** ``amount`` is a decimal string in the currency's lowest unit (cents): "123.45" USD is
$1.2345. Token costs name their model and go on that (day, workspace, model) row, exact unless
several API-key features share it (then by token share); web search and code execution costs
name no model and are spread over the workspace's rows of that day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date
from decimal import Decimal, InvalidOperation
from typing import Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from spendpilot.adapters.llm._daily_rows import DailyRows, FeatureMap
from spendpilot.domain import LlmUsage

PROVIDER = "anthropic"
MESSAGES_USAGE = "/v1/organizations/usage_report/messages"
COST_REPORT = "/v1/organizations/cost_report"
API_VERSION = "2023-06-01"
UNKNOWN_MODEL = "unknown"
MINOR_UNITS = Decimal(100)


class CacheCreation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ephemeral_1h_input_tokens: int = Field(0, ge=0)
    ephemeral_5m_input_tokens: int = Field(0, ge=0)


class MessagesUsageResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    uncached_input_tokens: int = Field(ge=0)
    cache_read_input_tokens: int = Field(0, ge=0)
    cache_creation: CacheCreation = Field(default_factory=CacheCreation)
    output_tokens: int = Field(ge=0)
    model: str | None = None
    workspace_id: str | None = None
    api_key_id: str | None = None

    @property
    def cache_write_input_tokens(self) -> int:
        return self.cache_creation.ephemeral_5m_input_tokens + self.cache_creation.ephemeral_1h_input_tokens

    @property
    def all_input_tokens(self) -> int:
        """Every input token: Anthropic's parts added up (module docstring)."""
        return self.uncached_input_tokens + self.cache_read_input_tokens + self.cache_write_input_tokens


class CostReportResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    amount: Decimal
    currency: str = "USD"
    workspace_id: str | None = None
    model: str | None = None
    cost_type: str | None = None
    token_type: str | None = None

    @field_validator("amount", mode="before")
    @classmethod
    def _decimal_string(cls, value: object) -> Decimal:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"amount {value!r} is not a decimal") from None


R = TypeVar("R", bound=BaseModel)


class Bucket(BaseModel, Generic[R]):
    starting_at: AwareDatetime
    ending_at: AwareDatetime
    results: list[R]

    @property
    def day(self) -> date:
        return self.starting_at.astimezone(UTC).date()


class ReportPage(BaseModel, Generic[R]):
    data: list[Bucket[R]]
    has_more: bool
    next_page: str | None = None


def anthropic_usage_rows(
    usage: Iterable[ReportPage[MessagesUsageResult]],
    costs: Iterable[ReportPage[CostReportResult]],
    features: FeatureMap,
) -> tuple[list[LlmUsage], list[str]]:
    """The rows, and warnings about cost that no usage row could carry."""
    rows = DailyRows(PROVIDER)
    for page in usage:
        for bucket in page.data:
            for u in bucket.results:
                rows.add(bucket.day, u.model or UNKNOWN_MODEL, features.feature(u.workspace_id, u.api_key_id),
                         u.workspace_id, requests=0, input_tokens=u.all_input_tokens,
                         cached_input_tokens=u.cache_read_input_tokens,
                         cache_write_input_tokens=u.cache_write_input_tokens, output_tokens=u.output_tokens)
    unplaced: dict[str, Decimal] = {}
    for cpage in costs:
        for cbucket in cpage.data:
            for cost in cbucket.results:
                amount, currency = cost.amount / MINOR_UNITS, cost.currency.upper()
                if not rows.allocate_cost(cbucket.day, cost.workspace_id, cost.model, amount, currency):
                    unplaced[currency] = unplaced.get(currency, Decimal(0)) + amount
    warnings = [
        f"{amount:.2f} {currency} of Anthropic costs matched no messages usage row (day, workspace, "
        "model) and is not in the LLM usage rows"
        for currency, amount in sorted(unplaced.items()) if amount
    ]
    return rows.rows(), warnings

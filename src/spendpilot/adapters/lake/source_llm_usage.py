"""LLM usage stored in the lake (from `spendpilot ingest --llm-usage`) as a source."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from pydantic import Field

from spendpilot.adapters.base import Source, SourceContext, SourceSettings, register_source
from spendpilot.domain import LlmRequest, SourceResult

_REQUEST_FIELDS = set(LlmRequest.model_fields)


class LlmUsageSettings(SourceSettings):
    kind: str = "llm_usage"
    path: Path | None = Field(None, description="Lake folder holding the usage; default: <home>/lake.")
    lookback_days: int = Field(90, ge=1, description="Days of usage read into a sweep.")


class LlmUsageSource:
    def __init__(self, settings: LlmUsageSettings, lake_dir: Path) -> None:
        self.name = settings.name or "llm usage"
        self.lake_dir = lake_dir
        self.lookback = timedelta(days=settings.lookback_days)

    def read(self, ctx: SourceContext) -> SourceResult:
        from spendpilot.lake import read_llm_usage
        from spendpilot.lake.otlp import read_llm_requests
        from spendpilot.lake.otlp.stats import request_stats

        since = ctx.now - self.lookback
        usage = read_llm_usage(self.lake_dir, since=since.date())
        stats = request_stats(self.lake_dir, since=since.date())
        requests = [
            LlmRequest(**r.model_dump(include=_REQUEST_FIELDS))
            for r in read_llm_requests(self.lake_dir)
            if r.start_time >= since
        ]
        summary = f"{len(usage):,} LLM usage rows"
        if stats:
            summary += f", per-request stats of {len(stats):,} feature/model pairs"
        if requests:
            with_text = sum(1 for r in requests if r.input_messages)
            summary += f", {len(requests):,} requests from spans ({with_text:,} with prompt text)"
        return SourceResult(llm_usage=usage, llm_request_stats=stats, llm_requests=requests, summary=summary)


@register_source("llm_usage", settings=LlmUsageSettings, description="Per-feature LLM usage stored in the local lake.")
def llm_usage_sources(settings: LlmUsageSettings, home: Path) -> Sequence[Source]:
    return [LlmUsageSource(settings, settings.path or home / "lake")]

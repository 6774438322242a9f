"""OpenAI's organization usage and costs, read live into a sweep as LLM usage rows.

**Live, not ingested.** The provider's API is already a durable, restated store of the same
daily numbers (late requests are added to past days), so a sweep reads the lookback window
fresh each time and the rows are always the provider's latest; nothing is copied into the lake,
so there is nothing to restate or to keep from being counted twice next to an export of the
same days. (Ingesting into the lake for history beyond the API's reach is left for
``spendpilot ingest --llm-usage`` with an export file.)

A rejected key, an unreachable API or an unreadable page ends this source's read with one line
naming the problem (and the key's environment variable, never the key); the sweep reports it
as this source's gap and goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import Field

from spendpilot.adapters.base import Source, SourceContext, register_source
from spendpilot.adapters.llm._admin_http import AdminApi, AdminApiSettings, QueryValue
from spendpilot.adapters.llm._daily_rows import FeatureMap
from spendpilot.adapters.llm.openai_usage import (
    COMPLETIONS,
    COSTS,
    EMBEDDINGS,
    CompletionsResult,
    CostsResult,
    EmbeddingsResult,
    UsagePage,
    openai_usage_rows,
)
from spendpilot.domain import SourceResult


class OpenAiUsageSettings(AdminApiSettings):
    kind: str = "openai"
    base_url: str = Field("https://api.openai.com/v1", description="API root the paths are appended to.")
    admin_key_env: str = Field("OPENAI_ADMIN_KEY", description="Environment variable holding an organization admin key.")
    feature_by_project: dict[str, str] = Field(default_factory=dict, description="Project id -> feature name; unmapped projects are their own feature.")
    embeddings: bool = Field(True, description="Also read the embeddings usage endpoint.")


DAY_BUCKETS_PER_PAGE = 31
"""The documented maximum ``limit`` for ``bucket_width=1d`` on the usage endpoints."""


class OpenAiUsageSource:
    def __init__(self, settings: OpenAiUsageSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = settings.name or "openai usage"
        self.settings = settings
        self.api = AdminApi(
            provider="OpenAI",
            base_url=settings.base_url,
            key_env=settings.admin_key_env,
            auth_headers=lambda key: {"Authorization": f"Bearer {key}"},
            array_style="repeat",
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
            max_wait=settings.max_retry_wait_seconds,
            sleep=sleep,
        )

    def read(self, ctx: SourceContext) -> SourceResult:
        s = self.settings
        now = ctx.now.astimezone(UTC)
        start = datetime.combine(now.date() - timedelta(days=s.lookback_days - 1), datetime.min.time(), UTC)
        by_key = ["api_key_id"] if s.feature_by_api_key else []
        window: dict[str, QueryValue] = {
            "start_time": int(start.timestamp()), "end_time": int(now.timestamp()), "bucket_width": "1d",
            "limit": DAY_BUCKETS_PER_PAGE,
        }
        completions = list(self.api.pages(COMPLETIONS, window | {"group_by": ["project_id", "model", *by_key]},
                                          UsagePage[CompletionsResult]))
        embeddings = (list(self.api.pages(EMBEDDINGS, window | {"group_by": ["project_id", "model", *by_key]},
                                          UsagePage[EmbeddingsResult])) if s.embeddings else [])
        costs = (list(self.api.pages(COSTS, window | {"group_by": ["project_id", *by_key]}, UsagePage[CostsResult]))
                 if s.costs else [])
        features = FeatureMap(s.feature_by_project, s.feature_by_api_key, unit_missing="openai-default-project")
        rows, warnings = openai_usage_rows(completions, embeddings, costs, features)
        days = len({r.day for r in rows})
        return SourceResult(
            llm_usage=rows, warnings=warnings,
            summary=f"{len(rows):,} LLM usage rows over {days} days from the OpenAI usage API"
            + ("" if s.costs else " (costs not read)"),
        )


@register_source("openai", settings=OpenAiUsageSettings,
                 description="OpenAI organization Usage and Costs APIs (admin key), read live.",
                 permissions=("an OpenAI organization admin key",))
def openai_usage_sources(settings: OpenAiUsageSettings, home: Path) -> Sequence[Source]:
    return [OpenAiUsageSource(settings)]

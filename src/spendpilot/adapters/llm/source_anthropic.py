"""Anthropic's Admin API usage and cost reports, read live into a sweep as LLM usage rows.

Live, not ingested, for the reasons given in ``source_openai`` (the provider's reports are the
restated store; a sweep reads the latest). A rejected key, an unreachable API or an unreadable
page ends this source's read with one line naming the problem (and the key's environment
variable, never the key); the sweep reports it as this source's gap and goes on.

The usage report has no request count (see ``anthropic_usage``): the summary line says so, so a
reader of the sweep knows why per-request checks found nothing here.
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
from spendpilot.adapters.llm.anthropic_usage import (
    API_VERSION,
    COST_REPORT,
    MESSAGES_USAGE,
    CostReportResult,
    MessagesUsageResult,
    ReportPage,
    anthropic_usage_rows,
)
from spendpilot.domain import SourceResult


class AnthropicUsageSettings(AdminApiSettings):
    kind: str = "anthropic"
    base_url: str = Field("https://api.anthropic.com", description="API root the /v1/... paths are appended to.")
    admin_key_env: str = Field("ANTHROPIC_ADMIN_KEY", description="Environment variable holding an Admin API key (sk-ant-admin...).")
    feature_by_workspace: dict[str, str] = Field(default_factory=dict, description="Workspace id -> feature name; unmapped workspaces are their own feature.")


DAY_BUCKETS_PER_PAGE = 31
"""The documented maximum ``limit`` for ``bucket_width=1d``."""


class AnthropicUsageSource:
    def __init__(self, settings: AnthropicUsageSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = settings.name or "anthropic usage"
        self.settings = settings
        self.api = AdminApi(
            provider="Anthropic",
            base_url=settings.base_url,
            key_env=settings.admin_key_env,
            auth_headers=lambda key: {"x-api-key": key, "anthropic-version": API_VERSION},
            array_style="brackets",
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
            max_wait=settings.max_retry_wait_seconds,
            sleep=sleep,
        )

    def read(self, ctx: SourceContext) -> SourceResult:
        s = self.settings
        now = ctx.now.astimezone(UTC)
        start = datetime.combine(now.date() - timedelta(days=s.lookback_days - 1), datetime.min.time(), UTC)
        window: dict[str, QueryValue] = {
            "starting_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ending_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "bucket_width": "1d",
            "limit": DAY_BUCKETS_PER_PAGE,
        }
        by_key = ["api_key_id"] if s.feature_by_api_key else []
        usage = list(self.api.pages(MESSAGES_USAGE, window | {"group_by": ["workspace_id", "model", *by_key]},
                                    ReportPage[MessagesUsageResult]))
        costs = (list(self.api.pages(COST_REPORT, window | {"group_by": ["workspace_id", "description"]},
                                     ReportPage[CostReportResult])) if s.costs else [])
        features = FeatureMap(s.feature_by_workspace, s.feature_by_api_key, unit_missing="anthropic-default-workspace")
        rows, warnings = anthropic_usage_rows(usage, costs, features)
        days = len({r.day for r in rows})
        return SourceResult(
            llm_usage=rows, warnings=warnings,
            summary=f"{len(rows):,} LLM usage rows over {days} days from the Anthropic usage report "
            "(no request counts)" + ("" if s.costs else ", costs not read"),
        )


@register_source("anthropic", settings=AnthropicUsageSettings,
                 description="Anthropic Admin API usage and cost reports (admin key), read live.",
                 permissions=("an Anthropic Admin API key",))
def anthropic_usage_sources(settings: AnthropicUsageSettings, home: Path) -> Sequence[Source]:
    return [AnthropicUsageSource(settings)]

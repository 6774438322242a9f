"""CUR exports in S3 as a sweep source: each sweep ingests the deliveries not read before.

The same reader as ``spendpilot ingest s3://…`` (``lake/cur_s3.py``): a listing per sweep, and a
GET only for a new or restated delivery. What it stores is read by the ``focus_lake`` source;
sources read in parallel, so rows a sweep ingests may only be seen by the next sweep's
``focus_lake`` read. A bucket that cannot be listed or read is this source's gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from spendpilot.adapters.base import Source, SourceContext, SourceSettings, register_source
from spendpilot.domain import SourceResult


class CurS3Settings(SourceSettings):
    kind: str = "cur_s3"
    url: str = Field(description="s3://bucket/prefix/ holding CUR 2.0 or legacy CUR exports and their manifests.")
    region: str = Field("us-east-1", description="The bucket's region.")
    endpoint_url: str | None = Field(None, description="S3 endpoint override (an emulator).")
    lake: Path | None = Field(None, description="Lake folder; default: <home>/lake.")


class CurS3Source:
    def __init__(self, settings: CurS3Settings, lake_dir: Path) -> None:
        self.name = settings.name or f"cur {settings.url}"
        self.settings = settings
        self.lake_dir = lake_dir

    def read(self, ctx: SourceContext) -> SourceResult:
        import boto3
        from botocore.config import Config

        from spendpilot.lake.cur_s3 import ingest_s3, normalise_s3_url, summary_lines

        s3 = boto3.client("s3", region_name=self.settings.region, endpoint_url=self.settings.endpoint_url,
                          config=Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=60))
        result = ingest_s3(normalise_s3_url(self.settings.url), self.lake_dir, s3)
        stored = sum(r.rows_stored for r in result.reports)
        quarantined = sum(r.rows_quarantined for r in result.reports)
        warnings = [f"{quarantined:,} CUR rows quarantined (see `spendpilot ingest` output)"] if quarantined else []
        return SourceResult(summary=f"{summary_lines(result)[0]}; {stored:,} rows stored", warnings=warnings)


@register_source("cur_s3", settings=CurS3Settings,
                 description="CUR 2.0 / legacy CUR exports in S3, ingested into the lake (new deliveries only).",
                 permissions=("s3:ListBucket", "s3:GetObject"))
def cur_s3_sources(settings: CurS3Settings, home: Path) -> Sequence[Source]:
    return [CurS3Source(settings, settings.lake or home / "lake")]

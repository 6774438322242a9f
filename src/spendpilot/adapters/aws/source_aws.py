"""The AWS source: EC2 instances, Auto Scaling groups, CloudWatch utilisation, spot prices,
the SSM parameters that route product features to models and SageMaker real-time endpoints
(with their invocations) and EBS volumes (with, for unattached ones, when CloudWatch last saw them
attached), for one account in each of its regions. Each region is its own source,
so one unreachable region is one named gap; SageMaker that cannot be read (denied, say) is a
gap of its own (``Gap.part``) while the rest of the region is still swept; so is EBS.

It is also the AWS *target*: actions on a resource in its account and region write through it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from botocore.config import Config
from pydantic import Field, field_validator, model_validator

from spendpilot.adapters.aws.client import READ_PERMISSIONS, AwsAdapter
from spendpilot.adapters.aws.credentials import account_session, role_account
from spendpilot.adapters.aws.ebs import last_attached
from spendpilot.adapters.aws.ebs_snapshots import SNAPSHOT
from spendpilot.adapters.aws.s3_replication import REPLICATION_RULE
from spendpilot.adapters.aws.sagemaker import endpoint_activity
from spendpilot.adapters.aws.sagemaker_notebooks import NOTEBOOK
from spendpilot.adapters.aws.sagemaker_training import TRAINING_JOB
from spendpilot.adapters.base import Source, SourceContext, SourceSettings, register_source
from spendpilot.domain import Gap, LlmUsage, MetricSeries, Resource, ResourceRef, SourceResult
from spendpilot.errors import AdapterError

if TYPE_CHECKING:
    from spendpilot.adapters.aws.bedrock_usage import BedrockHour
    from spendpilot.savings.pricebook import PriceBook


class AwsSourceSettings(SourceSettings):
    kind: str = "aws"
    regions: list[str] = Field(default_factory=lambda: ["us-east-1"], description="Regions to sweep, each read on its own.")
    account_id: str | None = Field(
        None, description="The account these credentials reach; set it when several accounts are configured, so "
        "actions go through the right one.",
    )
    profile: str | None = Field(None, description="AWS shared-config profile for these credentials (default: boto3's chain).")
    role_arn: str | None = Field(
        None, description="IAM role to assume in this account (arn:aws:iam::<account>:role/<name>), with the profile's "
        "credentials; reads and actions then go out as this role. Its account is this source's account.",
    )
    external_id: str | None = Field(None, description="ExternalId the role's trust policy requires, if any.")
    role_session_name: str = Field(
        "spendpilot", min_length=2, max_length=64, pattern=r"^[\w+=,.@-]+$",
        description="RoleSessionName of the assumed role (shows in CloudTrail).",
    )
    retry_mode: Literal["adaptive", "standard", "legacy"] | None = Field(
        None, description="botocore retry mode (default: adaptive, which also slows down when AWS throttles; or "
        "AWS_RETRY_MODE).",
    )
    endpoint_url: str | None = Field(
        None, description="API endpoint override (an emulator). Unset: boto3's own resolution, which honours AWS_ENDPOINT_URL.",
    )
    max_attempts: int | None = Field(
        None, ge=1, le=20, description="Attempts per API call (default 5, or AWS_MAX_ATTEMPTS; standard retries)."
    )
    connect_timeout: float | None = Field(None, gt=0, description="Seconds to wait for a connection (default 5).")
    read_timeout: float | None = Field(None, gt=0, description="Seconds to wait for an answer (default 30).")
    metric_lookback_days: int = Field(14, ge=1, le=455, description="How much CloudWatch history a sweep reads.")
    gpu_namespaces: list[str] = Field(
        default_factory=lambda: ["CWAgent"],
        description="CloudWatch namespaces where the CloudWatch agent publishes nvidia_smi_utilization_gpu "
        "(the agent's metrics.namespace; CWAgent unless configured).",
    )
    training_history_days: int = Field(
        30, ge=1, le=365,
        description="SageMaker training jobs created within this many days are read (running ones always are).",
    )
    bedrock_feature: str = Field(
        "bedrock",
        description="The product feature Bedrock usage read from CloudWatch (AWS/Bedrock, by ModelId) is counted "
        "under: the metrics name no feature. Name it after the feature whose route (llm_routing_prefix) calls Bedrock.",
    )
    llm_routing_prefix: str = Field(
        "/spendpilot/features",
        description="SSM Parameter Store prefix holding each product feature's model (<prefix>/<feature>/model); "
        "the route_to_model action writes here.",
    )

    @field_validator("role_arn")
    @classmethod
    def _role_arn_shape(cls, arn: str | None) -> str | None:
        if arn is not None:
            role_account(arn)
        return arn

    @model_validator(mode="after")
    def _one_account(self) -> AwsSourceSettings:
        if self.role_arn and self.account_id and role_account(self.role_arn) != self.account_id:
            raise ValueError(
                f"account_id {self.account_id} differs from the account of role_arn ({role_account(self.role_arn)})"
            )
        return self

    def known_account(self) -> str | None:
        """The account these settings reach, when the settings say (account_id or the role's)."""
        return self.account_id or (role_account(self.role_arn) if self.role_arn else None)

    def retry_config(self) -> Config:
        """Adaptive retries unless told otherwise: many accounts and regions read at once share
        API rate limits, and adaptive mode backs off client-side when AWS starts throttling.
        Environment settings (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE) apply where these are unset."""
        retries: dict[str, Any] = {}
        if self.max_attempts is not None or not os.environ.get("AWS_MAX_ATTEMPTS"):
            retries["max_attempts"] = self.max_attempts or 5
        if self.retry_mode is not None or not os.environ.get("AWS_RETRY_MODE"):
            retries["mode"] = self.retry_mode or "adaptive"
        return Config(retries=retries, connect_timeout=self.connect_timeout or 5, read_timeout=self.read_timeout or 30)


class AwsRegionSource:
    """One account in one region."""

    def __init__(self, settings: AwsSourceSettings, region: str) -> None:
        self.settings = settings
        self.region = region
        account = settings.known_account()
        label = settings.name or (f"aws {account}" if account else "aws")
        self.name = f"{label} {region}" if len(settings.regions) > 1 or settings.name is None else label

    @cached_property
    def adapter(self) -> AwsAdapter:
        s = self.settings
        config = s.retry_config()
        session = account_session(
            region=self.region, profile=s.profile, role_arn=s.role_arn, external_id=s.external_id,
            session_name=s.role_session_name, sts_endpoint_url=s.endpoint_url, config=config,
        )
        return AwsAdapter(
            region=self.region, endpoint_url=s.endpoint_url, routing_prefix=s.llm_routing_prefix,
            session=session, config=config,
        )

    def target_for(self, ref: ResourceRef) -> AwsAdapter | None:
        """This account's client for ``ref`` in this region; None for another account's resource,
        so an action always writes with the credentials of the account that holds the resource.

        The account is the settings' (``account_id`` or the role's): with several accounts reached
        through profiles alone, set ``account_id`` on each, or the first one in the region answers.
        """
        if ref.provider != "aws" or (ref.region or self.region) != self.region:
            return None
        mine = self.settings.known_account()
        if mine and ref.account and ref.account != mine:
            return None
        return self.adapter

    def read(self, ctx: SourceContext) -> SourceResult:
        result = self._read(ctx)
        # Every resource names its account (groups, volumes and endpoints come without one), so
        # findings, plans and the target an action writes through all say which account it is.
        account = self.settings.known_account() or next((r.ref.account for r in result.resources if r.ref.account), None)
        if account is None and result.resources:
            account = self.adapter.account_id()
        if account:
            result.resources = [
                r if r.ref.account else r.model_copy(update={"ref": r.ref.model_copy(update={"account": account})})
                for r in result.resources
            ]
        return result

    def _read(self, ctx: SourceContext) -> SourceResult:
        aws = self.adapter
        instances = aws.ec2.list_instances()
        groups = aws.autoscaling.list_groups()
        routes = aws.llm_routing.list_routes()
        running = [r for r in instances if r.attributes["state"] == "running"]
        gpu_hosts = {
            r.ref.id: r.attributes.get("private_dns_name")
            for r in running if ctx.prices.is_gpu(r.attributes["instance_type"])
        }
        gpus = aws.cloudwatch.discover_gpu_series(gpu_hosts, namespaces=self.settings.gpu_namespaces)
        metrics = aws.cloudwatch.instance_utilisation(
            [r.ref.id for r in running], end=ctx.now, days=self.settings.metric_lookback_days,
            gpu=gpus.by_instance,
        )
        warnings = []
        if gpus.ambiguous_hosts:
            warnings.append(
                f"GPU series whose host matches several instances were skipped: {', '.join(sorted(gpus.ambiguous_hosts))}"
            )
        group_types = [g.attributes["instance_type"] for g in groups if g.attributes.get("instance_type")]
        # Standalone on-demand instances are spot candidates too (checks/standalone_spot_candidate.py).
        standalone = [
            r.attributes["instance_type"] for r in running
            if not r.attributes.get("autoscaling_group") and r.attributes.get("lifecycle") == "on-demand"
        ]
        spot = aws.ec2.latest_spot_prices(group_types + standalone)
        if standalone:
            try:
                held = aws.ec2.elastic_ip_instances()
            except AdapterError as exc:  # unknown, not "none": the spot check then only advises
                held = None
                warnings.append(f"Elastic IPs not read ({' '.join(str(exc).split())})")
            for r in running:
                r.attributes["elastic_ip"] = None if held is None else r.ref.id in held
        gaps: list[Gap] = []
        try:
            endpoints, endpoint_metrics = self._sagemaker(ctx)
        except AdapterError as exc:  # e.g. a role without sagemaker:List*: say so, sweep the rest
            endpoints, endpoint_metrics = [], {}
            gaps.append(Gap(source=self.name, part="SageMaker", error=" ".join(str(exc).split())))
        try:
            volumes = self._ebs(ctx)
        except AdapterError as exc:  # e.g. a role without ec2:DescribeVolumes
            volumes = []
            gaps.append(Gap(source=self.name, part="EBS", error=" ".join(str(exc).split())))
        ml = self._ml_parts(ctx, gaps)
        bedrock = self._bedrock(ctx, gaps, warnings)
        return SourceResult(
            resources=instances + groups + routes + endpoints + volumes + ml,
            metrics=metrics | endpoint_metrics,
            live_spot_prices=spot,
            llm_usage=bedrock,
            warnings=warnings,
            gaps=gaps,
            summary=(
                f"{len(instances)} instances, {len(groups)} groups, {len(routes)} LLM routes, "
                f"metrics for {len(running)} running instances "
                f"({gpus.count()} GPU series on {len(gpus.by_instance)} of {len(gpu_hosts)} GPU instances)"
                + (", SageMaker NOT read" if any(g.part == "SageMaker" for g in gaps) else f", {len(endpoints)} SageMaker endpoints")
                + (", EBS NOT read" if any(g.part == "EBS" for g in gaps) else f", {len(volumes)} EBS volumes")
                + _ml_summary(ml, gaps)
                + (", Bedrock NOT read" if any(g.part == "Bedrock" for g in gaps)
                   else f", {len({u.model for u in bedrock})} Bedrock models")
            ),
        )

    def _sagemaker(self, ctx: SourceContext) -> tuple[list[Resource], dict[str, list[MetricSeries]]]:
        """Endpoints and, for those in service, their invocations and instance CPU per variant."""
        endpoints = self.adapter.sagemaker.list_endpoints()
        serving = [e for e in endpoints if e.attributes["status"] == "InService"]
        start = ctx.now - timedelta(days=self.settings.metric_lookback_days)
        return endpoints, endpoint_activity(self.adapter.cloudwatch, serving, start=start, end=ctx.now)

    def _ml_parts(self, ctx: SourceContext, gaps: list[Gap]) -> list[Resource]:
        """SageMaker training jobs, notebook instances and EBS snapshots; each part that cannot be read
        is its own gap."""
        out: list[Resource] = []
        for part, read in (("SageMaker training", self._training_jobs), ("SageMaker notebooks", self._notebooks),
                           ("EBS snapshots", self._snapshots), ("S3 replication", self._replication)):
            try:
                out.extend(read(ctx))
            except AdapterError as exc:
                gaps.append(Gap(source=self.name, part=part, error=" ".join(str(exc).split())))
        return out

    def _training_jobs(self, ctx: SourceContext) -> list[Resource]:
        since = ctx.now - timedelta(days=self.settings.training_history_days)
        return self.adapter.sagemaker_training.list_jobs(created_after=since)

    def _notebooks(self, ctx: SourceContext) -> list[Resource]:
        """Notebook instances in service, each with the last line of its Jupyter log."""
        notebooks = self.adapter.sagemaker_notebooks.list_in_service()
        for nb in notebooks:
            last = self.adapter.sagemaker_notebooks.last_jupyter_activity(nb.ref.id)
            nb.attributes["last_jupyter_activity_at"] = last.isoformat() if last is not None else None
        return notebooks

    def _bedrock(self, ctx: SourceContext, gaps: list[Gap], warnings: list[str]) -> list[LlmUsage]:
        """Daily Bedrock requests and tokens per model, as the LLM checks read usage."""
        try:
            read = self.adapter.bedrock_usage.daily_usage(
                end=ctx.now, days=self.settings.metric_lookback_days, feature=self.settings.bedrock_feature,
                prices=ctx.prices,
            )
        except AdapterError as exc:
            gaps.append(Gap(source=self.name, part="Bedrock", error=" ".join(str(exc).split())))
            return []
        if read.unpriced:
            warnings.append(f"Bedrock models without a list price (their usage is counted at cost 0): "
                            f"{', '.join(read.unpriced)}")
        return read.usage

    def hourly_llm_usage(self, *, end: datetime, hours: int, prices: PriceBook) -> tuple[str, list[BedrockHour]]:
        """Hourly Bedrock use per model (CloudWatch ``AWS/Bedrock``), for ``spendpilot anomalies``;
        with the feature the metrics are counted under (``bedrock_feature``)."""
        return self.settings.bedrock_feature, self.adapter.bedrock_usage.hourly_usage(end=end, hours=hours, prices=prices)

    def _replication(self, ctx: SourceContext) -> list[Resource]:
        start = ctx.now - timedelta(days=self.settings.metric_lookback_days)
        return self.adapter.s3_replication.list_rules(start=start, end=ctx.now)

    def _snapshots(self, ctx: SourceContext) -> list[Resource]:
        return self.adapter.ebs_snapshots.list_snapshots()

    def _ebs(self, ctx: SourceContext) -> list[Resource]:
        """Volumes; each unattached one with the last hour CloudWatch saw it attached in the window."""
        volumes = self.adapter.ebs.list_volumes()
        unattached = [v for v in volumes if v.attributes["state"] == "available"]
        start = ctx.now - timedelta(days=self.settings.metric_lookback_days)
        seen = last_attached(self.adapter.cloudwatch, [v.ref.id for v in unattached], start=start, end=ctx.now)
        for v in unattached:
            at = seen.get(v.ref.id)
            v.attributes["attachment_watched_from"] = start.isoformat()
            v.attributes["last_attached_at"] = at.isoformat() if at is not None else None
        return volumes


def _ml_summary(ml: Sequence[Resource], gaps: Sequence[Gap]) -> str:
    unread = {g.part for g in gaps}
    parts = []
    for part, kind, label in (("SageMaker training", TRAINING_JOB, "training jobs"),
                              ("SageMaker notebooks", NOTEBOOK, "notebook instances in service"),
                              ("EBS snapshots", SNAPSHOT, "EBS snapshots"),
                              ("S3 replication", REPLICATION_RULE, "S3 replication rules")):
        parts.append(f", {part} NOT read" if part in unread else f", {sum(r.ref.kind == kind for r in ml)} {label}")
    return "".join(parts)


@register_source(
    "aws", settings=AwsSourceSettings, permissions=READ_PERMISSIONS,
    description="EC2, Auto Scaling, CloudWatch, spot prices, SSM model routes, SageMaker endpoints and EBS volumes of one "
    "account, per region.",
)
def aws_sources(settings: AwsSourceSettings, home: Path) -> Sequence[Source]:
    return [AwsRegionSource(settings, region) for region in settings.regions]

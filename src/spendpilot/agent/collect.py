"""Collect a Snapshot from the configured sources. Each source failing is reported, not fatal:
a sweep with AWS unreachable still sweeps the lake and says what it could not read."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.config import Settings
from spendpilot.domain import Snapshot
from spendpilot.lake import CostLake, read_llm_usage
from spendpilot.savings.pricebook import PriceBook

log = logging.getLogger(__name__)


def collect_snapshot(
    settings: Settings, aws: AwsAdapter | None, prices: PriceBook, now: datetime
) -> tuple[Snapshot, list[str]]:
    """Returns the snapshot and warnings about sources that could not be read."""
    snap = Snapshot(taken_at=now)
    warnings: list[str] = []
    if aws is not None and settings.aws.enabled:
        try:
            instances = aws.ec2.list_instances()
            groups = aws.autoscaling.list_groups()
            routes = aws.llm_routing.list_routes()
            snap.resources.extend(instances + groups + routes)
            running = [r.ref.id for r in instances if r.attributes["state"] == "running"]
            gpu_ids = {r.ref.id for r in instances if prices.is_gpu(r.attributes["instance_type"])}
            snap.metrics.update(
                aws.cloudwatch.instance_utilisation(
                    running, end=now, days=settings.aws.metric_lookback_days, include_gpu=gpu_ids
                )
            )
            group_types = [g.attributes["instance_type"] for g in groups if g.attributes.get("instance_type")]
            snap.live_spot_prices.update(aws.ec2.latest_spot_prices(group_types))
            snap.sources.append(
                f"aws {aws.region}: {len(instances)} instances, {len(groups)} groups, "
                f"{len(routes)} LLM routes, metrics for {len(running)} running instances"
            )
        except Exception as exc:  # boto3 raises many types; the sweep goes on without AWS
            warnings.append(f"AWS not read ({type(exc).__name__}: {exc})")
    lake = CostLake(settings.lake_dir)
    rows = lake.row_count()
    if rows:
        latest = lake.latest_charge_time() or now
        costs = lake.resource_costs(since=latest - timedelta(days=30), until=latest)
        snap.resource_costs_30d = {k: c["USD"] for k, c in costs.items() if "USD" in c}
        snap.resource_billed_hours_30d = lake.resource_billed_hours(since=latest - timedelta(days=30), until=latest)
        snap.resource_commitment_share_30d = lake.resource_commitment_share(
            since=latest - timedelta(days=30), until=latest
        )
    usage = read_llm_usage(settings.lake_dir, since=(now - timedelta(days=90)).date())
    snap.llm_usage = usage
    snap.sources.append(f"lake: {rows:,} FOCUS rows, {len(usage):,} LLM usage rows")
    return snap, warnings

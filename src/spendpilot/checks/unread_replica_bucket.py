"""Cross-region replication into a bucket nobody reads.

The rule: an enabled replication rule whose destination is in another region, whose destination
publishes S3 request metrics (so reads would show) and had no ``GetRequests`` over the window
while replication wrote to it. See ``adapters/aws/s3_replication.py`` for what is read.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from spendpilot.actions.disable_replication_rule import DisableReplicationFacts
from spendpilot.adapters.aws.s3_replication import (
    REPLICATION_RULE,
    S3_BYTES_UPLOADED,
    S3_GET_REQUESTS,
)
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.savings.pricebook import PriceBook


class UnreadReplicaSettings(BaseModel):
    enabled: bool = True
    max_get_requests: int = Field(0, ge=0, description="GETs on the destination over the window still counted as unread.")
    min_window_days: float = Field(7.0, gt=0, description="The metric window must cover at least this many days.")


@register_check(
    "unread_replica_bucket",
    action_kind="disable_replication_rule",
    settings=UnreadReplicaSettings,
    facts=DisableReplicationFacts,
    description="S3 cross-region replication rules whose destination bucket had no GET requests over the window.",
)
def find_unread_replicas(snapshot: Snapshot, settings: UnreadReplicaSettings, prices: PriceBook) -> list[Finding[DisableReplicationFacts]]:
    findings: list[Finding[DisableReplicationFacts]] = []
    for res in snapshot.of_kind(REPLICATION_RULE):
        a = res.attributes
        if a.get("status") != "Enabled" or not a.get("destination_region") or a["destination_region"] == res.ref.region:
            continue  # disabled, destination unknown, or same-region (no inter-region transfer)
        if a.get("destination_get_requests") is None:
            continue  # no request metrics on the destination: no evidence of no reads
        start, end = datetime.fromisoformat(a["watched_from"]), datetime.fromisoformat(a["watched_until"])
        days = (end - start).total_seconds() / 86400
        gets = float(a["destination_get_requests"])
        if days < settings.min_window_days or gets > settings.max_get_requests:
            continue
        uploaded = float(a.get("destination_bytes_uploaded") or 0)
        findings.append(Finding(
            resource=res,
            summary=f"S3 bucket {a['bucket']} replicates to {a['destination_bucket']} ({a['destination_region']}), "
                    f"which had {int(gets) or 'no'} GET requests in {days:.0f} days",
            facts=DisableReplicationFacts(
                bucket=a["bucket"], rule_id=a["rule_id"], region=res.ref.region, destination_bucket=a["destination_bucket"],
                destination_region=a["destination_region"], get_requests=gets, bytes_replicated=uploaded,
                window_days=round(days, 2), measured_until=end,
            ),
            evidence=[
                Evidence(label="Reads of the replica", value=f"{int(gets)} GET requests over {days:.0f} days",
                         source=f"CloudWatch {S3_GET_REQUESTS} (Sum) by BucketName, FilterId {a['destination_metrics_filter']} "
                         "in the destination region (no datapoint: no requests)"),
                Evidence(label="Replicated into it", value=f"{uploaded / 1e9:,.1f} GB over {days:.0f} days",
                         source=f"CloudWatch {S3_BYTES_UPLOADED} (Sum) on the destination"),
                Evidence(label="Rule", value=f"{a['rule_id']} ({a['status']}, priority {a.get('priority')})",
                         source="S3 GetBucketReplication"),
            ],
        ))
    return findings

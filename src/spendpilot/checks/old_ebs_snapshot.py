"""EBS snapshots kept past a retention period, which nothing registered depends on.

Experiments leave snapshots behind (a volume snapshotted "just in case", an AMI deregistered but
its snapshots kept). The rule: a completed, standard-tier snapshot older than the retention
(default 90 days), used by no registered AMI, not managed by a lifecycle policy (Data Lifecycle
Manager or AWS Backup own their snapshots' retention), and not tagged to keep.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from spendpilot.actions.delete_ebs_snapshot import DeleteSnapshotFacts
from spendpilot.adapters.aws.ebs import SOURCE_VOLUME_TAG
from spendpilot.adapters.aws.ebs_snapshots import SNAPSHOT
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.savings.pricebook import PriceBook

MANAGED_TAG_PREFIXES = ("aws:dlm:", "aws:backup:")
"""Tags Data Lifecycle Manager and AWS Backup put on the snapshots whose retention they own."""


class OldSnapshotSettings(BaseModel):
    enabled: bool = True
    retention_days: float = Field(90.0, gt=0, description="Snapshots older than this many days are past retention.")
    keep_tags: list[str] = Field(
        default_factory=lambda: ["spendpilot:ignore", "keep", "retain", "legal-hold"],
        description="Snapshots with any of these tag keys (case-insensitive) are kept whatever their age.",
    )
    include_spendpilot_backups: bool = Field(
        False, description=f"Also propose the snapshots spendpilot took before deleting a volume (tag {SOURCE_VOLUME_TAG}): "
        "they are the rollback of that deletion.",
    )


@register_check(
    "old_ebs_snapshot",
    action_kind="delete_ebs_snapshot",
    settings=OldSnapshotSettings,
    facts=DeleteSnapshotFacts,
    description="EBS snapshots older than a retention (default 90 days) that no AMI uses, no lifecycle policy owns, "
    "and no tag keeps.",
)
def find_old_snapshots(snapshot: Snapshot, settings: OldSnapshotSettings, prices: PriceBook) -> list[Finding[DeleteSnapshotFacts]]:
    keep = {k.lower() for k in settings.keep_tags}
    findings: list[Finding[DeleteSnapshotFacts]] = []
    for res in snapshot.of_kind(SNAPSHOT):
        a = res.attributes
        if a.get("state") != "completed" or a.get("storage_tier") != "standard" or not a.get("started_at"):
            continue
        if a.get("used_by_images"):
            continue  # EC2 refuses, and the AMI would stop launching
        tags = {k.lower() for k in res.tags}
        if tags & keep or any(t.startswith(MANAGED_TAG_PREFIXES) for t in tags):
            continue
        if SOURCE_VOLUME_TAG.lower() in tags and not settings.include_spendpilot_backups:
            continue
        started = datetime.fromisoformat(a["started_at"])
        age = (snapshot.taken_at - started).total_seconds() / 86400
        if age <= settings.retention_days:
            continue
        exists = bool(a.get("volume_exists"))
        findings.append(Finding(
            resource=res,
            summary=f"EBS snapshot {res.ref.id} ({a['volume_size_gb']} GiB volume) is {age:.0f} days old, past the "
                    f"{settings.retention_days:g}-day retention" + ("" if exists else "; its volume is gone"),
            facts=DeleteSnapshotFacts(
                volume_size_gb=int(a["volume_size_gb"]), region=res.ref.region, started_at=started,
                age_days=round(age, 1), retention_days=settings.retention_days, volume_id=a.get("volume_id"),
                volume_exists=exists, snapshots_of_same_volume=int(a.get("snapshots_of_same_volume") or 1),
            ),
            evidence=[
                Evidence(label="Taken", value=f"{started:%Y-%m-%d} ({age:.0f} days ago; retention {settings.retention_days:g} days)",
                         source="EC2 DescribeSnapshots StartTime"),
                Evidence(label="Source volume", value=f"{a.get('volume_id') or '?'} "
                         + ("still exists" if exists else "no longer exists (this may be the data's last copy)"),
                         source="EC2 DescribeVolumes (volume-id filter)"),
                Evidence(label="Used by AMIs", value="none registered in this account", source="EC2 DescribeImages Owners=self"),
                Evidence(label="Snapshots of the same volume", value=str(a.get("snapshots_of_same_volume") or 1),
                         source="EC2 DescribeSnapshots OwnerIds=self"),
            ],
        ))
    return findings

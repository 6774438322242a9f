"""Snapshot an unattached EBS volume, then delete it; the rollback recreates it from the snapshot.

An unattached volume bills every provisioned GB (and any provisioned IOPS and throughput) while
nothing reads it. Deleting it without a copy would be the one change spendpilot cannot undo, so
the data goes to a snapshot first, and the volume is deleted only once that snapshot is
``completed``. The snapshot carries the volume's tags, plus its id and its shape (type, size,
IOPS, throughput, zone) in two ``spendpilot:`` tags, so anyone can tell what it was and the
rollback can recreate it even if the proposal database is gone.

Before deleting, the executor compares the volume with what the sweep saw: still ``available``,
attached to nothing, same type, size, performance and tags. ``evidence_differences`` then asks
CloudWatch whether the volume was attached to a running instance *since the sweep* (EBS reports
``VolumeIdleTime`` only while attached): a volume someone attached and detached again in the
meantime is in use, and nothing is deleted.

The rollback is ``CreateVolume`` from that snapshot with the old type, size, IOPS, throughput,
zone and tags. It is a new volume with a new id (recorded in the execution's result and tagged
``spendpilot:restored-from-volume=<old id>``); whatever referenced the old id (a launch template,
fstab by volume id) must be pointed at the new one. The snapshot is kept after a restore: deleting
it is the owner's decision.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, Field

from spendpilot.actions.base import Action, ActionContext, register_action
from spendpilot.adapters.aws.ebs import (
    RESTORED_FROM_TAG,
    SOURCE_SPEC_TAG,
    SOURCE_VOLUME_TAG,
    encode_spec,
    last_attached,
)
from spendpilot.domain import ActionPlan, Facts, Finding, ResourceRef, Risk
from spendpilot.domain.metrics import EBS_IDLE_TIME
from spendpilot.errors import AdapterError

if TYPE_CHECKING:
    from spendpilot.adapters.aws.client import AwsAdapter

ABSENT = "absent"
"""The ``state`` ``read_state`` reports for a volume id that no longer exists."""
NOT_ATTACHED_SINCE = "not_attached_since"
"""The ``preconditions`` key of the forward plan: no attachment seen since the sweep."""
SNAPSHOT_WAIT = timedelta(minutes=10)
"""How long apply waits for the snapshot to complete before giving up (the volume is kept, the
approval stands, ``spendpilot resume`` continues with the same snapshot). A first snapshot of a
large, full volume can take longer; resume is the way through."""
_MIN_WINDOW = timedelta(seconds=1)


class DeleteVolumeFacts(Facts):
    """What snapshotting and deleting a volume needs to be planned, estimated, re-checked and undone."""

    volume_type: str
    size_gb: int = Field(..., gt=0)
    iops: int | None = None
    throughput: int | None = Field(None, description="MiB/s (gp3 only).")
    availability_zone: str
    region: str | None = None
    unattached_since: AwareDatetime
    """The earliest moment the volume is known to have been unattached since (a lower bound on
    how long: see ``unattached_basis``)."""
    unattached_basis: str
    """In words, what ``unattached_since`` rests on (metrics, creation time)."""
    measured_until: AwareDatetime
    """When the sweep's reading ended; the re-check looks for attachments after it."""


def _user_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tags that can be copied: keys starting ``aws:`` are reserved and CreateSnapshot refuses them."""
    return {k: v for k, v in sorted(tags.items()) if not k.lower().startswith("aws:")}


def _shape(facts: DeleteVolumeFacts) -> dict[str, Any]:
    return {
        "volume_type": facts.volume_type, "size_gb": facts.size_gb, "iops": facts.iops,
        "throughput": facts.throughput, "availability_zone": facts.availability_zone,
    }


@register_action("snapshot_and_delete_volume")
class SnapshotAndDeleteVolume(Action[DeleteVolumeFacts]):
    facts_model = DeleteVolumeFacts
    permissions = (
        "ec2:DescribeVolumes",
        "ec2:DescribeSnapshots",
        "ec2:CreateSnapshot",
        "ec2:DeleteVolume",
        "ec2:CreateVolume",
        "ec2:CreateTags",
        "cloudwatch:GetMetricData",
    )
    # CreateSnapshot is authorised on the volume and the new snapshot, DeleteVolume on the volume,
    # CreateVolume on the new volume and the snapshot it reads, CreateTags (tags given at
    # creation) on what is created. Snapshot ARNs have no account field. The Describe* calls and
    # GetMetricData have no resource-level permissions; they are in the read-only statement.
    resources = ("arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*::snapshot/*")

    def risk(self, finding: Finding[DeleteVolumeFacts]) -> Risk:
        env = finding.resource.tags.get("env", "").lower()
        return Risk.HIGH if env in ("prod", "production") else Risk.MEDIUM

    def build_plan(self, finding: Finding[DeleteVolumeFacts]) -> ActionPlan:
        res, facts = finding.resource, finding.facts
        vid = res.ref.id
        tags = _user_tags(res.tags)
        shape = _shape(facts)
        label = f"{facts.size_gb} GiB {facts.volume_type} in {facts.availability_zone}"
        rollback = ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"volume": "restored_from_snapshot", **shape, "tags": tags},
            expected_pre_state={"state": ABSENT, "snapshot_state": "completed", "restored_as": None},
            rollback_description=f"Delete the restored volume again (after a new snapshot) if {vid} is still not needed.",
            description=(
                f"Recreate EBS volume {vid} ({label}) from the snapshot spendpilot took before deleting it; "
                "the new volume has a new id."
            ),
            permissions=list(self.permissions),
        )
        return ActionPlan(
            action=self.kind,
            target=res.ref,
            change={"volume": "snapshot_then_delete", **shape, "tags": tags},
            expected_pre_state={
                "state": "available", "attached_to": [], "volume_type": facts.volume_type,
                "size_gb": facts.size_gb, "iops": facts.iops, "throughput": facts.throughput, "tags": tags,
            },
            rollback=rollback,
            rollback_description=(
                f"Recreate the volume from its snapshot with the same type, size, performance, zone and tags "
                f"(`spendpilot rollback`); it gets a new id, tagged {RESTORED_FROM_TAG}={vid}."
            ),
            description=(
                f"Snapshot EBS volume {vid} ({label}, unattached since at least "
                f"{facts.unattached_since:%Y-%m-%d}), wait for the snapshot to complete, then delete the volume."
            ),
            permissions=list(self.permissions),
            preconditions={NOT_ATTACHED_SINCE: {"measured_until": facts.measured_until.isoformat()}},
        )

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        """The volume as the plans talk about it; for a deleted one, ``state: absent`` with the
        snapshot spendpilot took of it and the volume restored in its place, if any."""
        aws: AwsAdapter = ctx.target(target)
        vol = aws.ebs.describe_volume(target.id)
        if vol is not None:
            a = vol.attributes
            return {
                "state": a["state"], "attached_to": a["attached_to"], "volume_type": a["volume_type"],
                "size_gb": a["size_gb"], "iops": a["iops"], "throughput": a["throughput"],
                "tags": _user_tags(vol.tags),
            }
        snap = aws.ebs.snapshot_of(target.id)
        return {
            "state": ABSENT,
            "snapshot_id": snap["snapshot_id"] if snap else None,
            "snapshot_state": snap["state"] if snap else None,
            "restored_as": aws.ebs.restored_from(target.id),
        }

    def evidence_differences(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, tuple[Any, Any]]:
        assumed = plan.preconditions.get(NOT_ATTACHED_SINCE)
        if not assumed:
            return {}
        since = datetime.fromisoformat(assumed["measured_until"])
        now = ctx.now()
        if now - since < _MIN_WINDOW:
            return {}
        aws: AwsAdapter = ctx.target(plan.target)
        seen = last_attached(aws.cloudwatch, [plan.target.id], start=since, end=now)[plan.target.id]
        if seen is None:
            return {}
        return {
            f"{EBS_IDLE_TIME} since {since:%Y-%m-%d %H:%M} UTC": (
                "no datapoint (not attached to a running instance since the sweep)",
                f"attached at {seen:%Y-%m-%d %H:%M} UTC",
            )
        }

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        aws: AwsAdapter = ctx.target(plan.target)
        vid = plan.target.id
        change = plan.change
        if change.get("volume") == "restored_from_snapshot":
            snap = aws.ebs.snapshot_of(vid)
            if snap is None or snap["state"] != "completed":
                raise AdapterError(f"no completed snapshot tagged {SOURCE_VOLUME_TAG}={vid} to restore from")
            new_id = aws.ebs.create_volume_from_snapshot(
                snap["snapshot_id"], availability_zone=change["availability_zone"],
                volume_type=change["volume_type"], size_gb=change["size_gb"], iops=change["iops"],
                throughput=change["throughput"], tags={**change["tags"], RESTORED_FROM_TAG: vid},
            )
            return {"restored_volume_id": new_id, "from_snapshot": snap["snapshot_id"]}
        # A snapshot from an interrupted earlier attempt is reused, not taken twice.
        existing = aws.ebs.snapshot_of(vid)
        if existing is not None and existing["state"] != "error":
            snapshot_id = existing["snapshot_id"]
        else:
            spec = {k: change[k] for k in ("volume_type", "size_gb", "iops", "throughput", "availability_zone")}
            tags = {**change["tags"], SOURCE_VOLUME_TAG: vid, SOURCE_SPEC_TAG: encode_spec(spec)}
            snapshot_id = aws.ebs.create_snapshot(
                vid, f"spendpilot: {vid} before deleting it (unattached); restore with spendpilot rollback", tags,
            )
        state = aws.ebs.wait_for_snapshot(snapshot_id, timeout_s=SNAPSHOT_WAIT.total_seconds())
        if state != "completed":
            # The volume stays; the approval stands and `spendpilot resume` waits on the same snapshot.
            raise AdapterError(f"snapshot {snapshot_id} of {vid} is '{state}' after {SNAPSHOT_WAIT}; volume not deleted")
        aws.ebs.delete_volume(vid)
        return {"snapshot_id": snapshot_id, "snapshot_state": state, "deleted_volume": vid}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        if state is None:
            return False
        if plan.change.get("volume") == "restored_from_snapshot":
            return state.get("restored_as") is not None
        return state.get("state") == ABSENT and state.get("snapshot_state") == "completed"

"""EBS snapshots: which the account owns, how old they are, whether their volume still exists,
whether a registered AMI needs them, and the call that deletes one.

What a sweep reads (EC2 API Reference, Amazon EBS User Guide):

- ``DescribeSnapshots`` with ``OwnerIds=["self"]`` (paginated): ``SnapshotId``, ``VolumeId`` (the
  source volume; it may no longer exist), ``VolumeSize`` (GiB of the *volume*: the snapshot bills
  only the blocks it stores, see the estimator), ``StartTime``, ``State``, ``StorageTier``, tags.
  Not every endpoint honours ``OwnerIds`` (the emulator returns its public AMIs' snapshots too), so
  snapshots owned by another account are dropped when the caller's account is known.
- ``DescribeImages`` with ``Owners=["self"]``: every ``BlockDeviceMappings[].Ebs.SnapshotId`` of a
  registered AMI. EC2 refuses to delete a snapshot an AMI uses, and a launch from the AMI needs it.
- ``DescribeVolumes`` filtered by ``volume-id``: which source volumes still exist.

``DeleteSnapshot`` cannot be undone: a deleted snapshot is gone (there is no recycle bin unless a
Recycle Bin retention rule was set up for the account, which spendpilot does not assume).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from spendpilot.domain import Resource, ResourceRef

SNAPSHOT = "ebs_snapshot"
"""The ``ResourceRef.kind`` of an EBS snapshot; its id is the snapshot id."""


def _tags(raw: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in raw or []}


class EbsSnapshotsApi:
    def __init__(self, client: Any, region: str, writer: Any = None, account_id: str | None = None) -> None:
        self._client = client
        self._writer = writer or client
        self.region = region
        self.account_id = account_id

    # -- reading -------------------------------------------------------------------------

    def list_snapshots(self) -> list[Resource]:
        raw: list[dict[str, Any]] = []
        for page in self._client.get_paginator("describe_snapshots").paginate(OwnerIds=["self"]):
            raw.extend(page.get("Snapshots", []))
        if self.account_id:
            raw = [s for s in raw if s.get("OwnerId") in (None, self.account_id)]
        used = self.snapshots_used_by_images()
        existing = self.existing_volumes(sorted({s["VolumeId"] for s in raw if s.get("VolumeId")}))
        per_volume: dict[str, int] = {}
        for s in raw:
            if s.get("VolumeId"):
                per_volume[s["VolumeId"]] = per_volume.get(s["VolumeId"], 0) + 1
        return [self._to_resource(s, used.get(s["SnapshotId"], []), existing, per_volume) for s in raw]

    def describe_snapshot(self, snapshot_id: str) -> Resource | None:
        try:
            [raw] = self._client.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidSnapshot.NotFound":
                return None
            raise
        volume = raw.get("VolumeId")
        existing = self.existing_volumes([volume]) if volume else set()
        used = self.snapshots_used_by_images().get(snapshot_id, [])
        return self._to_resource(raw, used, existing, {})

    def snapshots_used_by_images(self) -> dict[str, list[str]]:
        """Snapshot id -> the ids of this account's registered AMIs whose block devices use it."""
        used: dict[str, list[str]] = {}
        images = self._client.describe_images(Owners=["self"]).get("Images", [])
        for image in images:
            for mapping in image.get("BlockDeviceMappings", []):
                snap = (mapping.get("Ebs") or {}).get("SnapshotId")
                if snap:
                    used.setdefault(snap, []).append(image["ImageId"])
        return used

    def existing_volumes(self, volume_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for offset in range(0, len(volume_ids), 200):
            kwargs: dict[str, Any] = {"Filters": [{"Name": "volume-id", "Values": list(volume_ids[offset : offset + 200])}]}
            while True:
                page = self._client.describe_volumes(**kwargs)
                found.update(v["VolumeId"] for v in page.get("Volumes", []))
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
        return found

    def _to_resource(
        self, s: dict[str, Any], images: list[str], existing: set[str], per_volume: dict[str, int],
    ) -> Resource:
        tags = _tags(s.get("Tags"))
        started = s.get("StartTime")
        volume = s.get("VolumeId") or None
        owner = s.get("OwnerId")
        return Resource(
            ref=ResourceRef(provider="aws", kind=SNAPSHOT, id=s["SnapshotId"], region=self.region,
                            account=owner, name=tags.get("Name")),
            tags=tags,
            attributes={
                "state": s.get("State"),
                "started_at": started.isoformat() if isinstance(started, datetime) else None,
                "volume_id": volume,
                "volume_exists": volume in existing if volume else False,
                "volume_size_gb": int(s.get("VolumeSize") or 0),
                "storage_tier": s.get("StorageTier") or "standard",
                "description": s.get("Description") or "",
                "used_by_images": sorted(images),
                "snapshots_of_same_volume": per_volume.get(volume or "", 1),
                "encrypted": bool(s.get("Encrypted")),
            },
        )

    # -- writing -------------------------------------------------------------------------

    def delete_snapshot(self, snapshot_id: str) -> None:
        """``DeleteSnapshot``, sent once. Irreversible."""
        self._writer.delete_snapshot(SnapshotId=snapshot_id)

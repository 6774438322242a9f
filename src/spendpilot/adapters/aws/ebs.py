"""EBS volumes: what exists, whether anything has used it lately, and the calls that snapshot,
delete, restore and retype a volume.

What a sweep needs, and where it comes from (EC2 API Reference, Amazon EBS User Guide):

- ``DescribeVolumes`` (paginated): id, ``Size`` (GiB), ``VolumeType``, ``Iops`` (provisioned for
  gp3/io1/io2; for gp2 the baseline the size gives), ``Throughput`` (gp3 only), ``State``
  (``available`` = attached to nothing, ``in-use``), ``CreateTime``, ``AvailabilityZone``, tags
  and ``Attachments``. There is no "detached at" field anywhere in the API.
- ``DescribeVolumesModifications``: a volume being modified (``modifying``/``optimizing``) cannot
  be modified again until it is done, and the price it bills is moving.
- ``AWS/EBS VolumeIdleTime`` by ``VolumeId``: EBS sends its volume metrics to CloudWatch only
  while the volume is attached to an instance (the idle time is reported even when nothing reads
  or writes). So the last datapoint is the last hour the volume was attached to a running
  instance, and no datapoint over the window means it was not attached to one at any time in
  it. That, bounded by ``CreateTime``, is how long spendpilot says a volume has been unattached.

Snapshots (``CreateSnapshot``) start ``pending`` and become ``completed``; a volume can be
deleted while its snapshot is pending, but spendpilot waits for ``completed`` first, so the data
exists somewhere before the volume stops existing. ``CreateVolume`` from a snapshot makes a new
volume (a new id) with the snapshot's data. What the emulator (moto 5.2.5) does differently is in
``docs/architecture.md`` under EBS.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from spendpilot.domain import Resource, ResourceRef
from spendpilot.domain.metrics import EBS_IDLE_TIME, HOURLY

if TYPE_CHECKING:
    from spendpilot.adapters.aws.cloudwatch import CloudWatchApi

VOLUME = "ebs_volume"
"""The ``ResourceRef.kind`` of an EBS volume; its id is the volume id."""
SOURCE_VOLUME_TAG = "spendpilot:source-volume"
"""On a snapshot spendpilot took before deleting a volume: the volume's id."""
SOURCE_SPEC_TAG = "spendpilot:source-volume-spec"
"""On that snapshot: the volume's type, size, IOPS, throughput and zone, to recreate it from."""
RESTORED_FROM_TAG = "spendpilot:restored-from-volume"
"""On a volume spendpilot recreated from such a snapshot: the id of the volume it replaces."""
BUSY_MODIFICATION_STATES = ("modifying", "optimizing")
"""A volume in one of these modification states cannot be modified again yet."""


def _tags(raw: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in raw or []}


def _not_found(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("InvalidVolume.NotFound", "InvalidSnapshot.NotFound")


def encode_spec(spec: dict[str, Any]) -> str:
    """``type=gp2;size=500;iops=1500;throughput=;az=us-east-1a``: a tag value (≤ 256 chars)."""
    return ";".join(f"{k}={'' if v is None else v}" for k, v in spec.items())


def decode_spec(value: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in value.split(";"):
        key, _, raw = part.partition("=")
        out[key] = int(raw) if raw.isdigit() else (raw or None)
    return out


class EbsApi:
    def __init__(self, client: Any, region: str) -> None:
        self._client = client
        self.region = region

    # -- reading -------------------------------------------------------------------------

    def list_volumes(self) -> list[Resource]:
        volumes: list[dict[str, Any]] = []
        for page in self._client.get_paginator("describe_volumes").paginate():
            volumes.extend(page.get("Volumes", []))
        busy = self._modifications([v["VolumeId"] for v in volumes])
        return [self._to_resource(v, busy.get(v["VolumeId"])) for v in volumes]

    def describe_volume(self, volume_id: str) -> Resource | None:
        try:
            [raw] = self._client.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise
        return self._to_resource(raw, self._modifications([volume_id]).get(volume_id))

    def _modifications(self, volume_ids: Sequence[str]) -> dict[str, str]:
        """Volume id -> state of its latest modification, for volumes that have one.

        Asked with a ``volume-id`` filter, not ``VolumeIds``: AWS answers
        ``InvalidVolumeModification.NotFound`` for an id that was never modified.
        """
        latest: dict[str, tuple[datetime | None, str]] = {}
        for offset in range(0, len(volume_ids), 200):
            kwargs: dict[str, Any] = {"Filters": [{"Name": "volume-id", "Values": list(volume_ids[offset : offset + 200])}]}
            while True:
                page = self._client.describe_volumes_modifications(**kwargs)
                for mod in page.get("VolumesModifications", []):
                    started = mod.get("StartTime")
                    seen = latest.get(mod["VolumeId"])
                    if seen is None or (started and (seen[0] is None or started > seen[0])):
                        latest[mod["VolumeId"]] = (started, mod.get("ModificationState", ""))
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
        return {vid: state for vid, (_, state) in latest.items()}

    def _to_resource(self, v: dict[str, Any], modification: str | None) -> Resource:
        tags = _tags(v.get("Tags"))
        created = v.get("CreateTime")
        return Resource(
            ref=ResourceRef(provider="aws", kind=VOLUME, id=v["VolumeId"], region=self.region, name=tags.get("Name")),
            tags=tags,
            attributes={
                "state": v["State"],
                "volume_type": v["VolumeType"],
                "size_gb": int(v["Size"]),
                "iops": v.get("Iops"),
                "throughput": v.get("Throughput"),
                "availability_zone": v.get("AvailabilityZone"),
                "created_at": created.isoformat() if isinstance(created, datetime) else None,
                "attached_to": sorted(a["InstanceId"] for a in v.get("Attachments", []) if a.get("InstanceId")),
                "snapshot_id": v.get("SnapshotId") or None,
                "encrypted": bool(v.get("Encrypted")),
                "kms_key_id": v.get("KmsKeyId"),
                "modification_state": modification,
            },
        )

    def snapshot_of(self, volume_id: str) -> dict[str, Any] | None:
        """The newest snapshot spendpilot took of ``volume_id`` before deleting it, or None."""
        page = self._client.describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": f"tag:{SOURCE_VOLUME_TAG}", "Values": [volume_id]}],
        )
        snaps = sorted(page.get("Snapshots", []), key=lambda s: s.get("StartTime") or datetime.min)
        if not snaps:
            return None
        s = snaps[-1]
        return {"snapshot_id": s["SnapshotId"], "state": s["State"], "tags": _tags(s.get("Tags"))}

    def restored_from(self, volume_id: str) -> str | None:
        """The id of a volume spendpilot recreated in place of ``volume_id``, if there is one."""
        page = self._client.describe_volumes(Filters=[{"Name": f"tag:{RESTORED_FROM_TAG}", "Values": [volume_id]}])
        ids = sorted(v["VolumeId"] for v in page.get("Volumes", []))
        return ids[0] if ids else None

    # -- writing -------------------------------------------------------------------------

    def create_snapshot(self, volume_id: str, description: str, tags: dict[str, str]) -> str:
        resp = self._client.create_snapshot(
            VolumeId=volume_id, Description=description[:255],
            TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
        )
        return str(resp["SnapshotId"])

    def wait_for_snapshot(self, snapshot_id: str, *, timeout_s: float, poll_s: float = 15.0) -> str:
        """Poll until the snapshot is ``completed`` (or ``error``), or ``timeout_s`` runs out; its last state."""
        deadline = time.monotonic() + timeout_s
        while True:
            [snap] = self._client.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
            state = str(snap["State"])
            if state in ("completed", "error") or time.monotonic() >= deadline:
                return state
            time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))

    def delete_volume(self, volume_id: str) -> None:
        self._client.delete_volume(VolumeId=volume_id)

    def create_volume_from_snapshot(
        self, snapshot_id: str, *, availability_zone: str, volume_type: str, size_gb: int,
        iops: int | None, throughput: int | None, tags: dict[str, str],
    ) -> str:
        kwargs: dict[str, Any] = {
            "SnapshotId": snapshot_id, "AvailabilityZone": availability_zone, "VolumeType": volume_type,
            "Size": size_gb,
            "TagSpecifications": [{"ResourceType": "volume", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
        }
        if iops and volume_type in ("gp3", "io1", "io2"):  # gp2/st1/sc1/standard take no Iops
            kwargs["Iops"] = iops
        if throughput and volume_type == "gp3":
            kwargs["Throughput"] = throughput
        return str(self._client.create_volume(**kwargs)["VolumeId"])

    def modify_volume(self, volume_id: str, volume_type: str, iops: int | None = None, throughput: int | None = None) -> str:
        """ModifyVolume; the modification's state right after the call."""
        kwargs: dict[str, Any] = {"VolumeId": volume_id, "VolumeType": volume_type}
        if iops is not None:
            kwargs["Iops"] = iops
        if throughput is not None:
            kwargs["Throughput"] = throughput
        return str(self._client.modify_volume(**kwargs)["VolumeModification"].get("ModificationState", ""))


def last_attached(
    cloudwatch: CloudWatchApi, volume_ids: Sequence[str], *, start: datetime, end: datetime,
) -> dict[str, datetime | None]:
    """Per volume: the newest hour with an ``AWS/EBS VolumeIdleTime`` datapoint in [start, end]
    (it was attached to a running instance then), or None when there is none."""
    queries = [(*EBS_IDLE_TIME, (("VolumeId", v),)) for v in volume_ids]
    series = cloudwatch.metric_data(queries, start, end, HOURLY, "Sum") if queries else []
    return {v: (points[-1].at if points else None) for v, points in zip(volume_ids, series, strict=True)}

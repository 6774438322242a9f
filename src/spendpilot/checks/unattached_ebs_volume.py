"""An EBS volume attached to nothing for days: billed per GB, read by no one.

There is no "detached at" in the EC2 API, so how long a volume has been unattached is inferred,
and only ever as a lower bound:

- EBS sends its CloudWatch metrics only while a volume is attached to an instance; the AWS source
  reads ``AWS/EBS VolumeIdleTime`` for every ``available`` volume over its metric window. The
  hour after the last datapoint is when it was last seen attached to a running instance.
- With no datapoint in the window, it was not attached to a running instance at any time in the
  window: unattached since the window's start at least, or since ``CreateTime`` if it was created
  within the window (a volume created yesterday is one day old, whatever else).

What this cannot see: a volume attached to a *stopped* instance reports nothing either, and
detaching it looks like nothing happened. Such a volume did no I/O for the whole window anyway,
and the action keeps a snapshot, so the claim stays "no running instance used it for N days".
A window shorter than ``min_unattached_days`` can never show enough days: raise the AWS source's
``metric_lookback_days`` with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from spendpilot.actions.snapshot_and_delete_volume import DeleteVolumeFacts
from spendpilot.adapters.aws.ebs import VOLUME
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.domain.metrics import EBS_IDLE_TIME
from spendpilot.savings.pricebook import PriceBook

_HOUR = timedelta(hours=1)


class UnattachedVolumeSettings(BaseModel):
    enabled: bool = True
    min_unattached_days: float = Field(
        7.0, gt=0,
        description="Days a volume must have been unattached (at least: see the check's docstring) before it is "
        "proposed for snapshot-and-delete: a week, so a volume detached for maintenance or between jobs is left alone.",
    )
    keep_tags: list[str] = Field(
        default_factory=lambda: ["spendpilot:ignore", "spendpilot:keep", "keep", "do-not-delete", "DoNotDelete"],
        description="A volume with any of these tag keys (case-insensitive, any value) is never proposed.",
    )


def _at(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def unattached_since(attrs: dict[str, object]) -> tuple[datetime, str] | None:
    """The earliest moment the volume is known to have been unattached since, and why; None when
    the AWS source did not read its metrics (nothing to rest a claim on)."""
    watched_from = _at(attrs.get("attachment_watched_from"))
    if watched_from is None:
        return None
    created = _at(attrs.get("created_at"))
    last = _at(attrs.get("last_attached_at"))
    if last is not None:
        since, basis = last + _HOUR, f"{EBS_IDLE_TIME} last reported for the hour of {last:%Y-%m-%d %H:%M} UTC: attached then"
    elif created is not None and created >= watched_from:
        since, basis = created, f"created {created:%Y-%m-%d %H:%M} UTC and no {EBS_IDLE_TIME} datapoint since"
    else:
        since = watched_from
        basis = (f"no {EBS_IDLE_TIME} datapoint since {watched_from:%Y-%m-%d %H:%M} UTC (the metric window's start"
                 + (f"; created {created:%Y-%m-%d}" if created else "") + "): not attached to a running instance since")
    if created is not None and created > since:
        since = created
    return since, basis


@register_check(
    "unattached_ebs_volume",
    action_kind="snapshot_and_delete_volume",
    settings=UnattachedVolumeSettings,
    facts=DeleteVolumeFacts,
    description="EBS volumes attached to nothing for at least N days (CloudWatch shows no attachment, creation "
    "time bounds it): snapshot, then delete.",
)
def find_unattached_volumes(
    snapshot: Snapshot, settings: UnattachedVolumeSettings, prices: PriceBook
) -> list[Finding[DeleteVolumeFacts]]:
    keep = {k.lower() for k in settings.keep_tags}
    findings: list[Finding[DeleteVolumeFacts]] = []
    for res in snapshot.of_kind(VOLUME):
        attrs = res.attributes
        if attrs.get("state") != "available" or attrs.get("attached_to"):
            continue
        if any(k.lower() in keep for k in res.tags):
            continue
        known = unattached_since(attrs)
        if known is None:
            continue
        since, basis = known
        days = (snapshot.taken_at - since) / timedelta(days=1)
        if days < settings.min_unattached_days:
            continue
        vtype, size = str(attrs["volume_type"]), int(attrs["size_gb"])
        label = f"{size} GiB {vtype}"
        evidence = [
            Evidence(label="State", value=f"available (attached to nothing), {label} in {attrs.get('availability_zone')}",
                     source="EC2 DescribeVolumes"),
            Evidence(label="Unattached for", value=f"at least {days:.0f} days (since {since:%Y-%m-%d %H:%M} UTC; "
                     f"at least {settings.min_unattached_days:g} required)", source=basis),
        ]
        if attrs.get("created_at"):
            evidence.append(Evidence(label="Created", value=str(attrs["created_at"]), source="EC2 DescribeVolumes CreateTime"))
        findings.append(
            Finding(
                resource=res,
                summary=f"EBS volume {res.ref.name or res.ref.id} ({label}) unattached for at least {days:.0f} days",
                facts=DeleteVolumeFacts(
                    volume_type=vtype, size_gb=size, iops=attrs.get("iops"),
                    throughput=attrs.get("throughput"),
                    availability_zone=str(attrs.get("availability_zone")), region=res.ref.region,
                    unattached_since=since, unattached_basis=basis, measured_until=snapshot.taken_at,
                ),
                evidence=evidence,
            )
        )
    return findings

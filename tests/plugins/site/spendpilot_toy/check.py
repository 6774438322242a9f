"""Check: every parking request for a running instance not yet tagged becomes a finding."""

from __future__ import annotations

from pydantic import BaseModel

from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot_toy.action import TAG, ParkFacts


class ParkedSettings(BaseModel):
    enabled: bool = True


@register_check("toy_parked", action_kind="toy_tag", settings=ParkedSettings, facts=ParkFacts,
                description="Instances a team asked to park, not yet tagged.")
def find_parked(snapshot: Snapshot, settings: ParkedSettings, prices: object) -> list[Finding[ParkFacts]]:
    instances = {r.ref.id: r for r in snapshot.of_kind("ec2_instance")}
    found = []
    for request in snapshot.of_kind("parking_request"):
        inst = instances.get(request.ref.id)
        if inst is None or inst.attributes.get("state") != "running" or inst.tags.get(TAG) == "parked":
            continue
        found.append(
            Finding(
                resource=inst, summary=f"{inst.ref.id} was asked to be parked by {request.attributes['owner']}",
                facts=ParkFacts(instance_id=inst.ref.id, owner=request.attributes["owner"], tag_now=inst.tags.get(TAG)),
                evidence=[Evidence(label="Requested by", value=request.attributes["owner"], source="parking file")],
            )
        )
    return found

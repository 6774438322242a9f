"""Source: a JSON file ``{"park": [{"instance_id": ..., "owner": ...}]}``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from spendpilot.adapters.base import Source, SourceContext, SourceSettings, register_source
from spendpilot.domain import Resource, ResourceRef, SourceResult


class ParkingSettings(SourceSettings):
    kind: str = "toy_parking"
    path: Path
    region: str = "us-east-1"


class ParkingFile:
    def __init__(self, settings: ParkingSettings) -> None:
        self.name = settings.name or f"parking {settings.path.name}"
        self.settings = settings

    def read(self, ctx: SourceContext) -> SourceResult:
        entries = json.loads(self.settings.path.read_text())["park"]  # a missing file is this source's gap
        resources = [
            Resource(
                ref=ResourceRef(provider="aws", kind="parking_request", id=e["instance_id"], region=self.settings.region),
                attributes={"owner": e["owner"]},
            )
            for e in entries
        ]
        return SourceResult(resources=resources, summary=f"{len(resources)} parking requests")


@register_source("toy_parking", settings=ParkingSettings, description="Instances a team asked to park (JSON file).")
def parking_sources(settings: ParkingSettings, home: Path) -> Sequence[Source]:
    return [ParkingFile(settings)]

"""A prepared demo organisation in the emulator, with a home directory of local stores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from spendpilot.config import Settings
from spendpilot.demo import prepare_scenario
from spendpilot.scenarios import Scenario, load_scenario, locate_scenario
from spendpilot.scenarios.seed import SeededOrg


@dataclass
class DemoOrg:
    settings: Settings
    scenario: Scenario
    org: SeededOrg
    endpoint: str
    home: Path

    def env(self) -> dict[str, str]:
        """Environment for a CLI subprocess pointed at this org's stores and emulator."""
        return {
            "SPENDPILOT_HOME": str(self.home),
            "SPENDPILOT_AWS__ENDPOINT_URL": self.endpoint,
            "SPENDPILOT_AWS__REGION": self.scenario.region,
        }

    def client(self, service: str):  # noqa: ANN201 - a boto3 client
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.scenario.region)

    def instance_state(self, name: str) -> str:
        iid = self.org.instance_id(name)
        resp = self.client("ec2").describe_instances(InstanceIds=[iid])
        return resp["Reservations"][0]["Instances"][0]["State"]["Name"]


@pytest.fixture
def demo_org(aws_endpoint: str, tmp_path: Path) -> DemoOrg:
    scenario = load_scenario(locate_scenario("demo"))
    home = tmp_path / "home"
    settings = Settings(home=home, aws={"region": scenario.region, "endpoint_url": aws_endpoint})
    settings.ensure_home()
    prepared = prepare_scenario(settings, scenario, aws_endpoint)
    return DemoOrg(settings, scenario, prepared.org, aws_endpoint, home)

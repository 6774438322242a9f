"""A prepared demo organisation in the emulator, with a home directory of local stores.

Preparing the demo (seed the emulator, write 90 days of FOCUS billing and LLM usage, ingest them)
and sweeping it cost several seconds each, and most end-to-end tests need exactly that state to
start from. So the organisation is built once per test session (``demo_template``) and each test
gets:

- a copy of the prepared home (lake, state database, memory), and
- the same AWS state re-created in a reset emulator: moto's id generator is re-seeded before
  seeding the scenario with the session's ``now``, so the instances get the ids the copied lake
  and (for ``swept_org``) the stored proposals refer to.

The re-created ids are checked against the template's; if moto ever hands out different ones the
test falls back to preparing its own organisation from scratch (and says so with a warning), so
a test never runs against a home and an emulator that disagree.

Two fixtures:

- ``demo_org``: prepared, never swept. For tests whose subject is the sweep itself.
- ``swept_org``: prepared and swept once by the real ``spendpilot sweep --json``; ``.sweep`` is
  what that command printed and the home holds its pending proposals. For tests that start from
  "a sweep has proposed these" (approve, reject, resume, crash and drift).
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
import urllib.request
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.conftest import run_cli

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.config import Settings
from spendpilot.demo import prepare_scenario
from spendpilot.scenarios import Scenario, load_scenario, locate_scenario
from spendpilot.scenarios.emulator import LocalAwsEmulator
from spendpilot.scenarios.seed import SeededOrg, seed_scenario

MOTO_ID_SEED = 5  # any fixed number: moto derives instance, template and group ids from it


class DemoTemplateMismatch(UserWarning):
    """The emulator re-created the demo with other ids than the template; the test built its own."""


@dataclass
class DemoOrg:
    settings: Settings
    scenario: Scenario
    org: SeededOrg
    endpoint: str
    home: Path
    sweep: dict[str, Any] | None = None
    """``swept_org`` only: the JSON ``spendpilot sweep --json`` printed for this home."""

    def env(self) -> dict[str, str]:
        """Environment for a CLI subprocess pointed at this org's stores and emulator."""
        return _cli_env(self.home, self.scenario, self.endpoint)

    def client(self, service: str):  # noqa: ANN201 - a boto3 client
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.scenario.region)

    def instance_state(self, name: str) -> str:
        iid = self.org.instance_id(name)
        resp = self.client("ec2").describe_instances(InstanceIds=[iid])
        return resp["Reservations"][0]["Instances"][0]["State"]["Name"]


@dataclass(frozen=True)
class DemoTemplate:
    """The session's demo organisation: never handed to a test, only copied."""

    scenario: Scenario
    now: datetime
    org: SeededOrg
    home: Path
    swept_home: Path
    sweep: dict[str, Any]


def without_llm_spans(scenario: Scenario) -> Scenario:
    """The demo without its OpenTelemetry GenAI spans (llm_requests.yaml) and the proposals they feed.

    These fixtures are the AWS organisation, its lake and its daily LLM usage export, which the
    end-to-end tests approve, reject and execute; the spans' token-lever proposals are tested on
    their own in tests/scenarios/test_demo_llm_spans.py (and by `spendpilot eval demo`).
    """
    if scenario.llm_requests is None:
        return scenario
    spec = scenario.llm_requests
    span_fed = {f.feature for f in spec.features} | {p.feature for p in spec.patterns}
    expected = scenario.expected.model_copy(update={
        "must_propose": [w for w in scenario.expected.must_propose if w.target not in span_fed]})
    return scenario.model_copy(update={"llm_requests": None, "expected": expected})


def _settings(home: Path, scenario: Scenario, endpoint: str) -> Settings:
    settings = Settings(home=home, aws=scenario.aws_settings(endpoint))
    settings.ensure_home()
    return settings


def _cli_env(home: Path, scenario: Scenario, endpoint: str) -> dict[str, str]:
    env = {
        "SPENDPILOT_HOME": str(home),
        "SPENDPILOT_AWS__ENDPOINT_URL": endpoint,
        "SPENDPILOT_AWS__REGION": scenario.region,
        "SPENDPILOT_AWS__METRIC_LOOKBACK_DAYS": str(scenario.metric_days),
    }
    accounts = scenario.aws_settings(endpoint).get("accounts")
    if accounts:  # the demo's accounts.yaml: both accounts, three regions
        env["SPENDPILOT_AWS__ACCOUNTS"] = json.dumps(accounts)
    return env


def _seed_moto_ids(endpoint: str) -> None:
    """moto's documented ``/moto-api/seed``: the ids it generates from now on are a fixed sequence."""
    req = urllib.request.Request(f"{endpoint}/moto-api/seed?a={MOTO_ID_SEED}", method="POST")
    urllib.request.urlopen(req, timeout=10).read()


def _seed_aws(endpoint: str, scenario: Scenario, now: datetime) -> SeededOrg:
    """Create the scenario's organisation in a reset emulator, its ids drawn from the fixed seed.

    After a reset moto rebuilds a service's state (default VPC, subnets, ...) either at once or on
    first use, depending on what earlier tests touched; a read call to every service the seeding
    uses makes that happen before the seed, so the seeding draws the same ids whatever ran before.
    """
    aws = AwsAdapter(region=scenario.region, endpoint_url=endpoint, session=_boto_session(scenario.region))
    _warm_up(aws)
    _seed_moto_ids(endpoint)
    return seed_scenario(aws, scenario, now)


@functools.cache
def _boto_session(region: str) -> boto3.session.Session:
    """One boto3 session for all the seeding: a new one re-reads every service model (~50 ms each)."""
    return boto3.session.Session(region_name=region)


def _warm_up(aws: AwsAdapter) -> None:
    """One read from each service the seeding writes to, so moto has built their state already."""
    aws.client("ec2").describe_instances()
    aws.client("autoscaling").describe_auto_scaling_groups()
    aws.client("ssm").describe_parameters()
    aws.client("cloudwatch").list_metrics()


def _ids(org: SeededOrg) -> tuple[object, ...]:
    return (
        [(i.name, i.instance_id, i.launched_at) for i in org.instances],
        sorted(org.groups.items()),
        sorted(org.features.items()),
    )


def _sweep(home: Path, scenario: Scenario, endpoint: str) -> dict[str, Any]:
    proc = run_cli("sweep", "--json", env=_cli_env(home, scenario, endpoint), check=True)
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def demo_template(emulator: LocalAwsEmulator, tmp_path_factory: pytest.TempPathFactory) -> DemoTemplate:
    scenario = without_llm_spans(load_scenario(locate_scenario("demo")))
    endpoint = emulator.endpoint_url
    assert endpoint
    now = datetime.now(UTC)
    emulator.reset()
    _warm_up(AwsAdapter(region=scenario.region, endpoint_url=endpoint))
    _seed_moto_ids(endpoint)
    root = tmp_path_factory.mktemp("demo-template")
    home = root / "home"
    # prepare_scenario seeds through its own adapter, exactly as _seed_aws does for each test.
    prepared = prepare_scenario(_settings(home, scenario, endpoint), scenario, endpoint, now=now)
    swept_home = root / "swept-home"
    shutil.copytree(home, swept_home)
    sweep = _sweep(swept_home, scenario, endpoint)  # sweeps exactly the state each test re-creates
    emulator.reset()
    return DemoTemplate(scenario, now, prepared.org, home, swept_home, sweep)


def _org_for_test(
    template: DemoTemplate, emulator: LocalAwsEmulator, tmp_path: Path, *, swept: bool
) -> DemoOrg:
    scenario = template.scenario
    endpoint = emulator.endpoint_url
    assert endpoint
    home = tmp_path / "home"
    org = _seed_aws(endpoint, scenario, template.now)  # into the emulator aws_endpoint has reset
    if _ids(org) == _ids(template.org):
        shutil.copytree(template.swept_home if swept else template.home, home)
        return DemoOrg(
            _settings(home, scenario, endpoint), scenario, org, endpoint, home,
            sweep=copy.deepcopy(template.sweep) if swept else None,
        )
    warnings.warn(
        DemoTemplateMismatch("the emulator re-created the demo with other ids; preparing this test's own"),
        stacklevel=2,
    )
    emulator.reset()
    settings = _settings(home, scenario, endpoint)
    prepared = prepare_scenario(settings, scenario, endpoint)
    sweep = _sweep(home, scenario, endpoint) if swept else None
    return DemoOrg(settings, scenario, prepared.org, endpoint, home, sweep=sweep)


@pytest.fixture
def demo_org(
    aws_endpoint: str, demo_template: DemoTemplate, emulator: LocalAwsEmulator, tmp_path: Path
) -> DemoOrg:
    """The demo organisation, prepared (seeded, billed, ingested) and not yet swept."""
    return _org_for_test(demo_template, emulator, tmp_path, swept=False)


@pytest.fixture
def swept_org(
    aws_endpoint: str, demo_template: DemoTemplate, emulator: LocalAwsEmulator, tmp_path: Path
) -> DemoOrg:
    """The demo organisation after one real ``spendpilot sweep --json``: its proposals are pending."""
    org = _org_for_test(demo_template, emulator, tmp_path, swept=True)
    assert org.sweep is not None
    return org

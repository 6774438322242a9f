"""Many accounts and regions, as ``docs/examples/aws-accounts.toml`` configures them.

Three accounts against one emulator: the default credentials' own account (moto's 123456789012),
and two member accounts reached by STS AssumeRole (moto maps an assumed role's credentials to
the role's account, so what is created with them lives in that account). Account C is reached
through a proxy that refuses eu-west-1, as AWS refuses a region the account has not enabled.
Every (account, region) holds an Auto Scaling group of the same name, a spot candidate, so the
test also shows that same-named resources of different accounts stay apart.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.adapters.region_gate import RegionGate, region_gate
from tests.conftest import REPO, run_cli

from spendpilot.adapters.aws.source_aws import AwsRegionSource, AwsSourceSettings
from spendpilot.adapters.base import build_sources
from spendpilot.config import Settings
from spendpilot.domain import ResourceRef
from spendpilot.errors import ConfigError

EXAMPLE = REPO / "docs" / "examples" / "aws-accounts.toml"
REGIONS = ("us-east-1", "eu-west-1")
A, B, C = "123456789012", "111111111111", "222222222222"
GROUP = "batch-workers"


def _session(endpoint: str, account: str, region: str) -> boto3.session.Session:
    if account == A:
        return boto3.session.Session(region_name=region)
    creds = boto3.client("sts", endpoint_url=endpoint, region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/spendpilot", RoleSessionName="seed", ExternalId="spendpilot-finops",
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], region_name=region,
    )


def _seed_group(endpoint: str, account: str, region: str) -> None:
    """An on-demand GPU batch group: ``spot_candidate`` proposes moving it to spot."""
    session = _session(endpoint, account, region)
    ec2 = session.client("ec2", endpoint_url=endpoint)
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(LaunchTemplateName=f"{GROUP}-lt", LaunchTemplateData={"ImageId": ami, "InstanceType": "g5.xlarge"})
    session.client("autoscaling", endpoint_url=endpoint).create_auto_scaling_group(
        AutoScalingGroupName=GROUP, MinSize=0, MaxSize=4, DesiredCapacity=2,
        AvailabilityZones=[f"{region}a"], LaunchTemplate={"LaunchTemplateName": f"{GROUP}-lt", "Version": "$Latest"},
        Tags=[{"Key": "workload", "Value": "batch", "PropagateAtLaunch": True}],
    )


def _on_demand_share(endpoint: str, account: str, region: str) -> int:
    client = _session(endpoint, account, region).client("autoscaling", endpoint_url=endpoint)
    group = client.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"][0]
    mixed = group.get("MixedInstancesPolicy")
    return int(mixed["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"]) if mixed else 100


@pytest.fixture
def org(aws_endpoint: str) -> Iterator[tuple[str, RegionGate]]:
    for account in (A, B, C):
        for region in REGIONS:
            _seed_group(aws_endpoint, account, region)
    with region_gate(aws_endpoint, refused={"eu-west-1"}) as gate:
        yield aws_endpoint, gate


def _config(tmp_path: Path, endpoint: str, gate: RegionGate) -> dict[str, str]:
    """The documented example, pointed at the emulator (account C through the refusing gate)."""
    example = tomllib.loads(EXAMPLE.read_text())
    lines = [f"source_concurrency = {example['source_concurrency']}", "[aws]", f'region = "{example["aws"]["region"]}"']
    for account in example["aws"]["accounts"]:
        url = gate.url if account.get("role_arn", "").split(":")[4:5] == [C] else endpoint
        lines.append("[[aws.accounts]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in {**account, "endpoint_url": url, "max_attempts": 1}.items()]
    cfg = tmp_path / "spendpilot.toml"
    cfg.write_text("\n".join(lines) + "\n")
    return {"SPENDPILOT_HOME": str(tmp_path / "home"), "SPENDPILOT_CONFIG": str(cfg)}


def test_three_accounts_by_two_regions_one_region_refused_is_one_named_gap_and_actions_use_their_account(
    org: tuple[str, RegionGate], tmp_path: Path
) -> None:
    endpoint, gate = org
    env = _config(tmp_path, endpoint, gate)
    swept = run_cli("sweep", "--json", env=env)
    assert swept.returncode == 0, swept.stdout + swept.stderr
    report = json.loads(swept.stdout)["report"]
    [gap] = report["gaps"]
    assert gap["source"] == f"aws {C} eu-west-1" and gap["part"] is None
    assert gap["error"].startswith(f"assuming arn:aws:iam::{C}:role/spendpilot: sts:AssumeRole in eu-west-1"), gap["error"]
    assert "rejected the credentials" in gap["error"]
    read = sorted(s.split(":")[0] for s in report["sources"] if s.startswith("aws "))
    assert read == sorted(f"aws {a} {r}" for a in (A, B, C) for r in REGIONS if (a, r) != (C, "eu-west-1"))
    assert ("us-east-1", "sts") in gate.seen, "account C's role was assumed through its own endpoint"

    proposals = json.loads(run_cli("proposals", "--json", env=env, check=True).stdout)
    where = sorted((p["target"]["account"], p["target"]["region"]) for p in proposals if p["rule"] == "spot_candidate")
    assert where == sorted((a, r) for a in (A, B, C) for r in REGIONS if (a, r) != (C, "eu-west-1")), (
        "same-named groups of five (account, region) pairs are five proposals"
    )
    listing = run_cli("proposals", env=env, check=True).stdout
    assert f"account {B}" in listing and "eu-west-1" in listing

    [in_b] = [p for p in proposals if p["target"]["account"] == B and p["target"]["region"] == "eu-west-1"]
    shown = run_cli("show", in_b["id"], env=env, check=True).stdout
    assert f"account {B} eu-west-1" in shown
    approved = run_cli("approve", in_b["id"], "--by", "alice", env=env)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    shares = {(a, r): _on_demand_share(endpoint, a, r) for a in (A, B, C) for r in REGIONS}
    assert shares.pop((B, "eu-west-1")) == 0, "B's group, changed with B's role"
    assert set(shares.values()) == {100}, f"no other account's same-named group changed: {shares}"

    rolled = run_cli("rollback", in_b["id"], "--by", "alice", env=env)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert _on_demand_share(endpoint, B, "eu-west-1") == 100


def test_the_target_of_a_resource_is_its_own_accounts_session(aws_endpoint: str) -> None:
    """Two accounts in one region: each ref is answered by the session of its account, and that
    session's identity (STS GetCallerIdentity through it) is that account."""
    settings = Settings(home=Path("/nonexistent"), aws={"accounts": [
        {"account_id": A, "endpoint_url": aws_endpoint},
        {"role_arn": f"arn:aws:iam::{B}:role/spendpilot", "external_id": "spendpilot-finops", "endpoint_url": aws_endpoint},
    ]})
    sources = [s for s in build_sources(settings.source_configs(), Path("/nonexistent")) if isinstance(s, AwsRegionSource)]
    assert [s.name for s in sources] == [f"aws {A} us-east-1", f"aws {B} us-east-1"]
    from spendpilot.adapters.base import Targets

    targets = Targets(sources)
    for account in (A, B):
        ref = ResourceRef(provider="aws", kind="autoscaling_group", id=GROUP, region="us-east-1", account=account)
        adapter: Any = targets.get(ref)
        assert adapter.client("sts").get_caller_identity()["Account"] == account


def test_role_settings_are_checked_before_anything_is_read() -> None:
    with pytest.raises(ConfigError, match="role_arn"):
        build_sources([{"kind": "aws", "role_arn": "arn:aws:iam::12:role/x"}], Path("."))
    with pytest.raises(ConfigError, match="differs from the account of role_arn"):
        build_sources([{"kind": "aws", "account_id": A, "role_arn": f"arn:aws:iam::{B}:role/x"}], Path("."))
    retries = AwsSourceSettings().retry_config().retries
    assert retries is not None and retries["mode"] == "adaptive"

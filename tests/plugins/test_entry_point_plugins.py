"""A plug-in package outside src/ adds a source, a check, an estimator and an action through
entry points only, and they run the whole loop against the AWS emulator: sweep -> approve ->
execute -> rollback. Nothing in spendpilot names them.

The package lives in ``tests/plugins/site`` with a ``.dist-info`` folder, so ``importlib.metadata``
finds its entry points exactly as it would for a pip-installed package; the CLI runs in a
separate process with that folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest
from tests.conftest import run_cli

SITE = Path(__file__).parent / "site"
REGION = "us-east-1"


def _instance(endpoint: str) -> str:
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION)
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return ec2.run_instances(ImageId=ami, InstanceType="m5.large", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def _tags(endpoint: str, iid: str) -> dict[str, str]:
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION)
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return {t["Key"]: t["Value"] for t in inst.get("Tags", [])}


def _config(tmp_path: Path, sources: list[str]) -> dict[str, str]:
    cfg = tmp_path / "spendpilot.toml"
    cfg.write_text("\n".join(sources))
    return {
        "PYTHONPATH": os.pathsep.join([str(SITE), os.environ.get("PYTHONPATH", "")]),
        "SPENDPILOT_HOME": str(tmp_path / "home"),
        "SPENDPILOT_CONFIG": str(cfg),
    }


def _aws(endpoint: str, name: str = "prod") -> str:
    return f'[[sources]]\nkind = "aws"\nname = "{name}"\nendpoint_url = "{endpoint}"\nmax_attempts = 1\nconnect_timeout = 1\n'


def _parking(path: Path, name: str) -> str:
    return f'[[sources]]\nkind = "toy_parking"\nname = "{name}"\npath = "{path}"\n'


@pytest.fixture
def parked(aws_endpoint: str, tmp_path: Path) -> tuple[str, Path]:
    iid = _instance(aws_endpoint)
    requests = tmp_path / "park.json"
    requests.write_text(json.dumps({"park": [{"instance_id": iid, "owner": "data-team"}]}))
    return iid, requests


def test_a_plugin_runs_the_whole_loop_through_entry_points(
    aws_endpoint: str, tmp_path: Path, parked: tuple[str, Path]
) -> None:
    iid, requests = parked
    env = _config(tmp_path, [_aws(aws_endpoint), _parking(requests, "parking")])

    # A new interpreter reading PYTHONPATH itself, once; the other commands fork from the suite's
    # zygote with the same folder put on sys.path (tests/conftest.py, spendpilot_process).
    listed = run_cli("checks", env=env, check=True, fresh_interpreter=True).stdout
    assert "toy_parked → toy_tag" in listed and "REFUSED" not in listed
    policy = json.loads(run_cli("policy", env=env, check=True).stdout)
    assert {"Sid": "SpendpilotActionToyTag", "Effect": "Allow", "Action": ["ec2:CreateTags"], "Resource": "*"} in policy["Statement"]

    swept = json.loads(run_cli("sweep", "--json", env=env, check=True).stdout)
    [proposal] = [p for p in swept["proposals"] if p["rule"] == "toy_parked"]
    assert proposal["currency"] == "EUR" and proposal["estimated_monthly_savings"]["expected"] == "10.00"
    assert swept["report"]["totals"] == [{"amount": "10.00", "currency": "EUR"}]
    assert "parking" not in _tags(aws_endpoint, iid)

    approved = run_cli("approve", proposal["id"], "--by", "alice", env=env)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert _tags(aws_endpoint, iid)["parking"] == "parked"

    undone = run_cli("rollback", proposal["id"], "--by", "bob", env=env)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "parking" not in _tags(aws_endpoint, iid)
    statuses = {p["id"]: (p["status"], p["rollback_of"]) for p in json.loads(run_cli("proposals", "--json", env=env, check=True).stdout)}
    assert statuses[proposal["id"]] == ("rolled_back", None)
    assert [s for s in statuses.values() if s[1] == proposal["id"]] == [("executed", proposal["id"])]
    again = run_cli("rollback", proposal["id"], "--by", "bob", env=env)
    assert again.returncode == 5 and "rolled_back" in again.stderr, "a rollback runs once"
    assert run_cli("audit", "--verify", env=env).returncode == 0


def test_one_failing_source_is_a_named_gap_and_the_others_still_propose(
    aws_endpoint: str, tmp_path: Path, parked: tuple[str, Path]
) -> None:
    _, requests = parked
    env = _config(tmp_path, [_aws(aws_endpoint), _parking(requests, "parking"), _parking(tmp_path / "gone.json", "old parking")])
    text = run_cli("sweep", env=env)
    assert text.returncode == 0, text.stderr
    assert "GAP old parking: not read" in text.stdout and "gone.json" in text.stdout
    assert "1 of 3 sources could not be read" in text.stdout
    report = json.loads(run_cli("sweep", "--json", env=env, check=True).stdout)["report"]
    [gap] = report["gaps"]
    assert gap["source"] == "old parking" and "gone.json" in gap["error"]
    assert report["sources_configured"] == 3 and len(report["sources"]) == 2


def test_a_sweep_that_could_read_nothing_exits_6_and_says_why(tmp_path: Path) -> None:
    env = _config(
        tmp_path,
        [_aws("http://127.0.0.1:9", "dead aws"), _parking(tmp_path / "a.json", "a"), _parking(tmp_path / "b.json", "b")],
    )
    result = run_cli("sweep", env=env)
    assert result.returncode == 6, result.stdout + result.stderr
    assert "none of the 3 configured sources could be read" in result.stderr
    assert "GAP dead aws" in result.stdout and "127.0.0.1:9" in result.stdout
    assert "Traceback" not in result.stderr

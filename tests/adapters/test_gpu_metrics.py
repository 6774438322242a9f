"""GPU utilisation as the CloudWatch agent publishes it, read by the AWS source and judged by
the idle GPU check, against the emulator (moto in server mode).

The agent's ``nvidia_gpu`` section publishes ``nvidia_smi_utilization_gpu`` once per GPU with
dimensions ``index``, ``name``, ``host`` (+ ``uuid``/``arch`` depending on the agent) and,
only with ``append_dimensions``, ``InstanceId`` and friends (see adapters/aws/cloudwatch.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import boto3
import pytest

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.checks import all_checks
from spendpilot.domain import Snapshot, utcnow
from spendpilot.domain.metrics import EC2_CPU as CPU
from spendpilot.domain.metrics import NVIDIA_GPU as GPU
from spendpilot.savings.pricebook import PriceBook

PRICES = PriceBook.bundled()
HOURS = 96  # above the check's 72 h minimum history


@pytest.fixture
def aws(aws_endpoint: str) -> AwsAdapter:
    return AwsAdapter(endpoint_url=aws_endpoint)


def _launch(aws_endpoint: str, itype: str, name: str) -> tuple[str, str]:
    """An instance: its id and private DNS name."""
    ec2 = boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    inst = ec2.run_instances(
        ImageId=ami, InstanceType=itype, MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
    )["Instances"][0]
    return inst["InstanceId"], inst["PrivateDnsName"]


def _hourly(end: datetime, value: float) -> list[tuple[datetime, float]]:
    end = end.replace(minute=0, second=0, microsecond=0)
    return [(end - timedelta(hours=h), value) for h in range(HOURS, 0, -1)]


def _publish(
    aws: AwsAdapter, iid: str, host: str, gpus: int, *, busy: dict[int, float] | None = None,
    instance_id_dimension: bool = True, namespace: str = GPU.namespace, model: str = "NVIDIA A100-SXM4-40GB",
) -> None:
    """CPU from EC2, and one GPU series per GPU as the agent would publish them."""
    now = utcnow()
    aws.cloudwatch.put_utilisation(iid, *CPU, _hourly(now, 2.0))
    for index in range(gpus):
        dims = {"host": host, "index": str(index), "name": model, "uuid": f"GPU-{iid}-{index}", "arch": "Ampere"}
        if instance_id_dimension:
            dims |= {"InstanceId": iid, "InstanceType": "p4d.24xlarge", "ImageId": "ami-12345678"}
        value = (busy or {}).get(index, 0.3)
        aws.cloudwatch.put_utilisation(None, namespace, GPU.name, _hourly(now, value), dimensions=dims, unit="None")


def _sweep(aws_endpoint: str, tmp_path: Path, **settings: object) -> Snapshot:
    """Read the AWS source as a sweep does and return the snapshot the checks see."""
    [source] = build_sources([{"kind": "aws", "endpoint_url": aws_endpoint, **settings}], tmp_path)
    now = utcnow()
    snapshot = Snapshot(taken_at=now)
    snapshot.merge(source.name, source.read(SourceContext(now=now, prices=PRICES)))
    return snapshot


def _idle_gpu_targets(snapshot: Snapshot) -> list[str]:
    spec = all_checks()["idle_gpu_instance"]
    return [f.resource.ref.name or "" for f in spec.run(snapshot, spec.settings(None), PRICES)]


def test_one_busy_gpu_of_eight_is_a_busy_instance(aws: AwsAdapter, aws_endpoint: str, tmp_path: Path) -> None:
    iid, host = _launch(aws_endpoint, "p4d.24xlarge", "p4d-one-busy")
    _publish(aws, iid, host, 8, busy={5: 92.0})
    snapshot = _sweep(aws_endpoint, tmp_path)
    gpus = snapshot.metrics_named(iid, GPU.name)
    assert sorted(s.dimensions["index"] for s in gpus) == [str(i) for i in range(8)]
    assert _idle_gpu_targets(snapshot) == []


def test_idle_four_gpu_instance_known_only_by_host_is_found(
    aws: AwsAdapter, aws_endpoint: str, tmp_path: Path
) -> None:
    iid, host = _launch(aws_endpoint, "g5.12xlarge", "g5-host-only")
    assert host  # the emulator gives instances a private DNS name, as EC2 does
    _publish(aws, iid, host, 4, instance_id_dimension=False, model="NVIDIA A10G")
    snapshot = _sweep(aws_endpoint, tmp_path)
    spec = all_checks()["idle_gpu_instance"]
    [finding] = spec.run(snapshot, spec.settings(None), PRICES)
    assert finding.resource.ref.id == iid and finding.facts.gpus == 4
    listed = next(e for e in finding.evidence if e.label == "GPUs, p95 each")
    assert listed.value.startswith("GPU 0 0.3%, GPU 1 0.3%, GPU 2 0.3%, GPU 3 0.3%")
    assert "4 GPU series on 1 of 1 GPU instances" in snapshot.sources[0]


def test_short_host_name_maps_to_the_instance(aws: AwsAdapter, aws_endpoint: str, tmp_path: Path) -> None:
    """Some AMIs (Ubuntu) report the short host name, ip-10-0-1-23, as the agent's host."""
    iid, host = _launch(aws_endpoint, "g5.12xlarge", "g5-short-host")
    _publish(aws, iid, host.split(".")[0], 4, instance_id_dimension=False)
    assert len(_sweep(aws_endpoint, tmp_path).metrics_named(iid, GPU.name)) == 4


def test_gpu_namespace_is_configurable(aws: AwsAdapter, aws_endpoint: str, tmp_path: Path) -> None:
    iid, host = _launch(aws_endpoint, "g5.12xlarge", "g5-custom-ns")
    _publish(aws, iid, host, 4, namespace="HPC/GpuMonitoring")
    assert _sweep(aws_endpoint, tmp_path).metrics_named(iid, GPU.name) == []
    snapshot = _sweep(aws_endpoint, tmp_path, gpu_namespaces=["CWAgent", "HPC/GpuMonitoring"])
    assert {s.namespace for s in snapshot.metrics_named(iid, GPU.name)} == {"HPC/GpuMonitoring"}
    assert _idle_gpu_targets(snapshot) == ["g5-custom-ns"]


def test_series_of_unknown_hosts_are_ignored(aws: AwsAdapter, aws_endpoint: str, tmp_path: Path) -> None:
    iid, host = _launch(aws_endpoint, "g5.12xlarge", "g5-known")
    _publish(aws, iid, host, 4, instance_id_dimension=False)
    # Another account's (or an on-premises) box, and a terminated instance's id: nobody here.
    _publish(aws, "i-0000000000000dead", "ip-10-99-0-1.ec2.internal", 2, instance_id_dimension=False)
    _publish(aws, "i-0000000000000dead", "ip-10-99-0-2.ec2.internal", 2)
    discovery = aws.cloudwatch.discover_gpu_series({iid: host})
    assert list(discovery.by_instance) == [iid] and discovery.count() == 4
    assert discovery.unknown_hosts == {"ip-10-99-0-1.ec2.internal", "i-0000000000000dead"}
    snapshot = _sweep(aws_endpoint, tmp_path)
    assert [rid for rid, series in snapshot.metrics.items() if any(s.name == GPU.name for s in series)] == [iid]


def test_a_host_shared_by_two_instances_is_not_guessed(aws: AwsAdapter) -> None:
    """Overlapping VPC ranges can give two instances the same private DNS name."""
    aws.cloudwatch.put_utilisation(
        None, *GPU, _hourly(utcnow(), 0.3), unit="None",
        dimensions={"host": "ip-10-0-1-23.ec2.internal", "index": "0", "name": "NVIDIA A10G"},
    )
    discovery = aws.cloudwatch.discover_gpu_series(
        {"i-1": "ip-10-0-1-23.ec2.internal", "i-2": "ip-10-0-1-23.ec2.internal"}
    )
    assert discovery.by_instance == {} and discovery.ambiguous_hosts == {"ip-10-0-1-23.ec2.internal"}


def test_an_aggregation_rollup_is_not_counted_as_a_gpu(aws: AwsAdapter, aws_endpoint: str) -> None:
    """aggregation_dimensions [["InstanceId"]] adds an all-GPU average next to the per-GPU series."""
    iid, host = _launch(aws_endpoint, "g5.12xlarge", "g5-rollup")
    _publish(aws, iid, host, 4)
    aws.cloudwatch.put_utilisation(iid, *GPU, _hourly(utcnow(), 0.3), unit="None")  # {InstanceId} only
    discovery = aws.cloudwatch.discover_gpu_series({iid: host})
    assert [s.index for s in discovery.by_instance[iid]] == ["0", "1", "2", "3"]
    assert discovery.rollups_skipped == 1

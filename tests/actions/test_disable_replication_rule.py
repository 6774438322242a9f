"""Cross-region replication into a bucket nobody reads, against the emulator: found from the
destination's S3 request metrics (put into moto's CloudWatch in the destination region, in the
real dimension shape BucketName + FilterId), disabled, verified and enabled again by the
rollback; a read replica, a replica without request metrics and a same-region rule are left alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import boto3

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.aws.s3_replication import S3_BYTES_UPLOADED, S3_GET_REQUESTS
from spendpilot.config import Settings
from spendpilot.domain import ProposalStatus, utcnow
from spendpilot.runtime import build_services

ROLE = "arn:aws:iam::123456789012:role/s3-replication"
H = timedelta(hours=1)


def _bucket(s3: object, name: str, region: str) -> None:
    kwargs: dict[str, object] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)  # type: ignore[attr-defined]
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})  # type: ignore[attr-defined]


def _replicate(s3: object, source: str, dest: str, rule: str) -> None:
    s3.put_bucket_replication(Bucket=source, ReplicationConfiguration={  # type: ignore[attr-defined]
        "Role": ROLE,
        "Rules": [{"ID": rule, "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                   "DeleteMarkerReplication": {"Status": "Disabled"},
                   "Destination": {"Bucket": f"arn:aws:s3:::{dest}"}}],
    })


def _request_metrics(endpoint: str, dest: str, region: str, now: datetime, *, gets_per_hour: float, gb_per_day: float) -> None:
    aws = AwsAdapter(region=region, endpoint_url=endpoint)
    dims = {"BucketName": dest, "FilterId": "EntireBucket"}
    hours = [now - h * H for h in range(13 * 24, 0, -1)]
    aws.cloudwatch.put_utilisation(None, S3_BYTES_UPLOADED.namespace, S3_BYTES_UPLOADED.name,
                                   [(at, gb_per_day * 1e9 / 24) for at in hours], dimensions=dims, unit="Bytes")
    aws.cloudwatch.put_utilisation(None, "AWS/S3", "PutRequests", [(at, 500.0) for at in hours], dimensions=dims, unit="Count")
    if gets_per_hour:
        aws.cloudwatch.put_utilisation(None, S3_GET_REQUESTS.namespace, S3_GET_REQUESTS.name,
                                       [(at, gets_per_hour) for at in hours], dimensions=dims, unit="Count")


def _org(endpoint: str, now: datetime) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for name, region in (("training-data", "us-east-1"), ("training-data-replica-usw2", "us-west-2"),
                         ("models", "us-east-1"), ("models-dr-usw2", "us-west-2"),
                         ("logs", "us-east-1"), ("logs-replica-usw2", "us-west-2"),
                         ("features", "us-east-1"), ("features-copy", "us-east-1")):
        _bucket(s3, name, region)
    _replicate(s3, "training-data", "training-data-replica-usw2", "to-oregon")  # planted: nobody reads it
    _request_metrics(endpoint, "training-data-replica-usw2", "us-west-2", now, gets_per_hour=0, gb_per_day=40)
    _replicate(s3, "models", "models-dr-usw2", "dr")  # trap: the west region serves from it
    _request_metrics(endpoint, "models-dr-usw2", "us-west-2", now, gets_per_hour=120, gb_per_day=5)
    _replicate(s3, "logs", "logs-replica-usw2", "logs-copy")  # trap: no request metrics, no evidence
    _replicate(s3, "features", "features-copy", "same-region")  # trap: same region, no transfer
    _request_metrics(endpoint, "features-copy", "us-east-1", now, gets_per_hour=0, gb_per_day=1)


def test_disable_the_unread_replica_verify_and_enable_it_again(aws_endpoint: str, tmp_path: Path) -> None:
    now = utcnow()
    _org(aws_endpoint, now)
    services = build_services(Settings(home=tmp_path, aws={"endpoint_url": aws_endpoint}))
    report = services.sweep()
    assert not [g for g in report.gaps if g.part == "S3 replication"], report.gaps
    proposals = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "unread_replica_bucket"]
    assert [p.target.id for p in proposals] == ["training-data/to-oregon"]
    [p] = proposals
    # 40 GB a day over the 13 days with datapoints inside the 14-day window: 520 GB x 30 / 14 = 1114.3 GB x 0.02
    assert str(p.estimate.expected.rounded()) == "$22.29"
    assert "NOT replicated" in p.plan.rollback_description
    outcome = services.approve(p.id, by="alice")
    assert outcome.status is ProposalStatus.EXECUTED and outcome.verified, outcome.message
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="us-east-1")
    [rule] = s3.get_bucket_replication(Bucket="training-data")["ReplicationConfiguration"]["Rules"]
    assert rule["Status"] == "Disabled" and rule["Destination"]["Bucket"].endswith("training-data-replica-usw2")
    assert s3.get_bucket_replication(Bucket="models")["ReplicationConfiguration"]["Rules"][0]["Status"] == "Enabled"
    undone = services.rollback(p.id, by="alice")
    assert undone.status is ProposalStatus.EXECUTED, undone.message
    [rule] = s3.get_bucket_replication(Bucket="training-data")["ReplicationConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"

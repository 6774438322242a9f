"""The emulator gives moto one botocore loader for its service models (see ``share_moto_loader``)."""

from __future__ import annotations

import boto3
from moto.core import utils

from spendpilot.scenarios.emulator import LocalAwsEmulator


def test_moto_reads_each_model_once_and_still_answers_every_service(aws_endpoint: str, emulator: LocalAwsEmulator) -> None:
    # moto caches the model it builds per service; the loader behind it is now one, caching the files
    assert utils._load_service_model("s3", "service-2") is utils._load_service_model("s3", "service-2")
    assert utils._load_service_model("ec2", "paginators-1")["pagination"]  # moto's own loader: paginators too
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="one-loader")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["one-loader"]
    sm = boto3.client("sagemaker", endpoint_url=aws_endpoint, region_name="us-east-1")
    assert sm.list_notebook_instances()["NotebookInstances"] == []
    ec2 = boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1")
    assert ec2.describe_instances()["Reservations"] == []

"""Every AwsAdapter shares one botocore data loader, and nothing else, with the others.

Sharing it saves re-parsing the service models for each account and region (about 0.3 s per
session for EC2 and SageMaker); these tests pin that each session still signs with its own
credentials and talks to its own region.
"""

from __future__ import annotations

import boto3

from spendpilot.adapters.aws.client import AwsAdapter


def _session(key: str, region: str) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key="secret", aws_session_token="token", region_name=region
    )


def test_adapters_share_the_loader_but_keep_their_credentials_and_region(aws_endpoint: str) -> None:
    first = AwsAdapter(region="us-east-1", endpoint_url=aws_endpoint, session=_session("AKIAFIRST000000000001", "us-east-1"))
    second = AwsAdapter(region="us-west-2", endpoint_url=aws_endpoint, session=_session("AKIASECOND00000000002", "us-west-2"))
    third = AwsAdapter(region="eu-west-1", endpoint_url=aws_endpoint)
    loaders = {id(a._session._session.get_component("data_loader")) for a in (first, second, third)}
    assert len(loaders) == 1

    ec2_first, ec2_second = first.client("ec2"), second.client("ec2")
    assert ec2_first.meta.region_name == "us-east-1"
    assert ec2_second.meta.region_name == "us-west-2"
    assert ec2_first._request_signer._credentials.access_key == "AKIAFIRST000000000001"
    assert ec2_second._request_signer._credentials.access_key == "AKIASECOND00000000002"
    # the models parsed once answer both: each client describes its own region's zones
    zones_first = {z["RegionName"] for z in ec2_first.describe_availability_zones()["AvailabilityZones"]}
    zones_second = {z["RegionName"] for z in ec2_second.describe_availability_zones()["AvailabilityZones"]}
    assert zones_first == {"us-east-1"}
    assert zones_second == {"us-west-2"}


def test_the_api_objects_of_one_adapter_share_its_clients_and_answer_through_them(aws_endpoint: str) -> None:
    aws = AwsAdapter(region="us-east-1", endpoint_url=aws_endpoint)
    assert aws.ec2._client is aws.ebs._client is aws.relaunch._client is aws.ebs_snapshots._client
    assert aws.ec2._clients[0] is aws.relaunch._clients[0]  # the single-attempt writer, once
    assert aws.ec2._clients[0] is not aws.ec2._client
    assert aws.cloudwatch._client is aws.bedrock_usage._client
    assert aws.ec2.list_instances() == [] and aws.ebs.list_volumes() == []

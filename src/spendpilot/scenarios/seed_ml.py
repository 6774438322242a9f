"""Seed a scenario's SageMaker training jobs and notebook instances, EBS snapshots and Bedrock
usage metrics into the local emulator, through boto3 where the API allows and, for the times
and states AWS lets nobody set, in the in-process moto (``emulator_ml``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from spendpilot.adapters.aws.bedrock_usage import (
    BEDROCK_INPUT_TOKENS,
    BEDROCK_INVOCATIONS,
    BEDROCK_OUTPUT_TOKENS,
)
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.aws.sagemaker_notebooks import NOTEBOOK_LOG_GROUP, jupyter_log_stream
from spendpilot.scenarios.emulator_ml import (
    backdate_notebook,
    backdate_snapshot,
    set_training_job_ran,
    set_training_job_running,
)
from spendpilot.scenarios.model import Scenario

H = timedelta(hours=1)


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def seed_ml_and_storage(aws: AwsAdapter, scenario: Scenario, now: datetime) -> None:
    res = scenario.resources
    if res.sagemaker_training_jobs:
        _training(aws, scenario, now)
    if res.sagemaker_notebooks:
        _notebooks(aws, scenario, now)
    if res.ebs_snapshots:
        _snapshots(aws, scenario, now)
    if res.s3_replications:
        _replications(aws, scenario, now)
    for usage in res.bedrock_usage:
        start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=usage.days)
        hours = [start + h * H for h in range(usage.days * 24)]
        per_hour = usage.requests_per_day / 24
        for metric, value in ((BEDROCK_INVOCATIONS, per_hour),
                              (BEDROCK_INPUT_TOKENS, per_hour * usage.input_tokens_per_request),
                              (BEDROCK_OUTPUT_TOKENS, per_hour * usage.output_tokens_per_request)):
            aws.cloudwatch.put_utilisation(None, *metric, [(at, value) for at in hours],
                                           dimensions={"ModelId": usage.model_id}, unit="Count")


def _training(aws: AwsAdapter, scenario: Scenario, now: datetime) -> None:
    sm = aws.client("sagemaker")
    for spec in scenario.resources.sagemaker_training_jobs:
        for run in range(spec.runs):
            started = now - spec.started_hours_ago * H - run * timedelta(days=1)
            name = spec.name if spec.runs == 1 else f"{spec.name}-{started:%Y-%m-%d-%H-%M-%S}-{run:03d}"
            stopping: dict[str, Any] = {"MaxRuntimeInSeconds": int(spec.max_runtime_hours * 3600)}
            if spec.managed_spot:
                stopping["MaxWaitTimeInSeconds"] = int(spec.max_runtime_hours * 2 * 3600)
            sm.create_training_job(
                TrainingJobName=name,
                AlgorithmSpecification={"TrainingImage": f"763104351884.dkr.ecr.{scenario.region}.amazonaws.com/"
                                                         "pytorch-training:2.3", "TrainingInputMode": "File"},
                RoleArn=f"arn:aws:iam::{scenario.account_id}:role/sagemaker-training",
                OutputDataConfig={"S3OutputPath": f"s3://{scenario.account_name or 'ml'}-artifacts/output"},
                ResourceConfig={"InstanceType": spec.instance_type, "InstanceCount": spec.instance_count,
                                "VolumeSizeInGB": 100},
                StoppingCondition=stopping, EnableManagedSpotTraining=spec.managed_spot, Tags=_tags(spec.tags),
            )
            if spec.status == "InProgress":
                set_training_job_running(name, started)
            else:
                set_training_job_ran(name, started, started + spec.hours * H)


def _notebooks(aws: AwsAdapter, scenario: Scenario, now: datetime) -> None:
    sm = aws.client("sagemaker")
    logs = aws.client("logs")
    group_made = False
    for spec in scenario.resources.sagemaker_notebooks:
        sm.create_notebook_instance(NotebookInstanceName=spec.name, InstanceType=spec.instance_type,
                                    RoleArn=f"arn:aws:iam::{scenario.account_id}:role/sagemaker-notebooks",
                                    Tags=_tags(spec.tags))
        backdate_notebook(spec.name, now - spec.started_hours_ago * H)
        if spec.last_jupyter_hours_ago is None:
            continue
        if not group_made:
            logs.create_log_group(logGroupName=NOTEBOOK_LOG_GROUP)
            group_made = True
        stream = jupyter_log_stream(spec.name)
        logs.create_log_stream(logGroupName=NOTEBOOK_LOG_GROUP, logStreamName=stream)
        at = now - spec.last_jupyter_hours_ago * H
        logs.put_log_events(logGroupName=NOTEBOOK_LOG_GROUP, logStreamName=stream, logEvents=[
            {"timestamp": int(at.timestamp() * 1000), "message": "[I NotebookApp] Saving file at /analysis.ipynb"}])


def _snapshots(aws: AwsAdapter, scenario: Scenario, now: datetime) -> None:
    ec2 = aws.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for spec in scenario.resources.ebs_snapshots:
        tags = {"Name": spec.name, **spec.tags}
        if spec.ami:
            instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
            ami = ec2.create_image(InstanceId=instance, Name=spec.name)["ImageId"]
            [sid] = [m["Ebs"]["SnapshotId"] for m in ec2.describe_images(ImageIds=[ami])["Images"][0]["BlockDeviceMappings"]
                     if m.get("Ebs", {}).get("SnapshotId")]
            ec2.create_tags(Resources=[sid], Tags=_tags(tags))
            ec2.terminate_instances(InstanceIds=[instance])
        else:
            volume = ec2.create_volume(AvailabilityZone=f"{scenario.region}a", Size=spec.size_gb, VolumeType="gp3")["VolumeId"]
            sid = ec2.create_snapshot(VolumeId=volume, Description=spec.name,
                                      TagSpecifications=[{"ResourceType": "snapshot", "Tags": _tags(tags)}])["SnapshotId"]
            if not spec.volume_kept:
                ec2.delete_volume(VolumeId=volume)
        backdate_snapshot(sid, now - timedelta(days=spec.age_days))


def _replications(aws: AwsAdapter, scenario: Scenario, now: datetime) -> None:
    s3 = aws.client("s3")
    hours = [now.replace(minute=0, second=0, microsecond=0) - h * H for h in range(scenario.metric_days * 24 - 1, 0, -1)]
    for spec in scenario.resources.s3_replications:
        for name, region in ((spec.bucket, scenario.region), (spec.destination, spec.destination_region)):
            kwargs: dict[str, Any] = {"Bucket": name}
            if region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            s3.create_bucket(**kwargs)
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_replication(Bucket=spec.bucket, ReplicationConfiguration={
            "Role": f"arn:aws:iam::{scenario.account_id}:role/s3-replication",
            "Rules": [{"ID": spec.rule, "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                       "DeleteMarkerReplication": {"Status": "Disabled"},
                       "Destination": {"Bucket": f"arn:aws:s3:::{spec.destination}"}}],
        })
        if not spec.request_metrics:
            continue
        cw = AwsAdapter(region=spec.destination_region, endpoint_url=aws.endpoint_url).cloudwatch
        dims = {"BucketName": spec.destination, "FilterId": "EntireBucket"}
        cw.put_utilisation(None, "AWS/S3", "BytesUploaded", [(at, spec.gb_per_day * 1e9 / 24) for at in hours],
                           dimensions=dims, unit="Bytes")
        cw.put_utilisation(None, "AWS/S3", "PutRequests", [(at, 100.0) for at in hours], dimensions=dims, unit="Count")
        if spec.gets_per_hour:
            cw.put_utilisation(None, "AWS/S3", "GetRequests", [(at, spec.gets_per_hour) for at in hours],
                               dimensions=dims, unit="Count")

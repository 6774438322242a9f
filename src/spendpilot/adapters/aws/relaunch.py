"""Relaunching a standalone on-demand instance as spot: the launch template, the replacement, and
finding that replacement again.

EC2 cannot change an instance's purchase option in place: a spot instance is a new instance. So
the relaunch writes a launch template (spendpilot's own, tagged ``spendpilot:managed``) holding
the original's configuration with spot market options, runs one instance from it, and tags that
instance ``spendpilot:replaces=<original id>``. The tag is how a later read (verify, resume after
a crash, rollback) finds the replacement without trusting anything spendpilot remembered, and
``ClientToken`` makes a repeated RunInstances return the same instance instead of a second one.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from spendpilot.adapters.aws.ec2 import _tags

REPLACES_TAG = "spendpilot:replaces"
"""On the spot replacement: the id of the on-demand instance it replaces."""
MANAGED_TAG = "spendpilot:managed"
"""On launch templates spendpilot wrote (and may delete on rollback)."""
TEMPLATE_ID_TAG = "aws:ec2launchtemplate:id"
TEMPLATE_VERSION_TAG = "aws:ec2launchtemplate:version"
SPOT_MARKET = {"MarketType": "spot", "SpotOptions": {"SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"}}
"""One-time spot, terminated on interruption: the work is restartable (that is the check's
premise), and a persistent request would relaunch it outside anyone's plan."""


def template_name(instance_id: str) -> str:
    return f"spendpilot-spot-{instance_id}"


class RelaunchApi:
    def __init__(self, client: Any, region: str, writer: Any = None) -> None:
        self._client = client
        self.region = region
        self._writer = writer or client
        """Changes go through this client: one attempt, never retried blindly (see ``AwsAdapter``)."""

    def describe_raw(self, instance_id: str) -> dict[str, Any] | None:
        try:
            resp = self._client.describe_instances(InstanceIds=[instance_id])
        except self._client.exceptions.ClientError as exc:
            if "InvalidInstanceID" in str(exc):
                return None
            raise
        for reservation in resp["Reservations"]:
            for inst in reservation["Instances"]:
                return dict(inst)
        return None

    def replacement(self, instance_id: str) -> dict[str, Any] | None:
        """The live (pending or running) instance tagged as replacing ``instance_id``, if any."""
        resp = self._client.describe_instances(Filters=[
            {"Name": f"tag:{REPLACES_TAG}", "Values": [instance_id]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ])
        found = [i for r in resp["Reservations"] for i in r["Instances"]]
        return dict(sorted(found, key=lambda i: i["LaunchTime"])[-1]) if found else None

    def template_data(self, original: dict[str, Any]) -> dict[str, Any]:
        """Launch template data reproducing ``original`` on spot.

        From the template it was launched from when there is one (its tags say which version),
        else from the instance's own description and user data. The instance type is always the
        original's (a template may name another), and the tags are copied (not AWS's own)."""
        tags = {k: v for k, v in _tags(original.get("Tags")).items() if not k.startswith("aws:")}
        tags[REPLACES_TAG] = original["InstanceId"]
        source_template = _tags(original.get("Tags")).get(TEMPLATE_ID_TAG)
        data: dict[str, Any]
        if source_template:
            version = _tags(original.get("Tags")).get(TEMPLATE_VERSION_TAG, "$Default")
            versions = self._client.describe_launch_template_versions(
                LaunchTemplateId=source_template, Versions=[version]
            )["LaunchTemplateVersions"]
            data = dict(versions[0]["LaunchTemplateData"]) if versions else {}
        else:
            data = {"ImageId": original["ImageId"]}
            if original.get("KeyName"):
                data["KeyName"] = original["KeyName"]
            groups = [g["GroupId"] for g in original.get("SecurityGroups", [])]
            if groups:
                data["SecurityGroupIds"] = groups
            if original.get("IamInstanceProfile", {}).get("Arn"):
                data["IamInstanceProfile"] = {"Arn": original["IamInstanceProfile"]["Arn"]}
            if original.get("EbsOptimized"):
                data["EbsOptimized"] = True
            user_data = self._client.describe_instance_attribute(
                InstanceId=original["InstanceId"], Attribute="userData"
            ).get("UserData", {}).get("Value")
            if user_data:
                data["UserData"] = user_data
        data["InstanceType"] = original["InstanceType"]
        data["InstanceMarketOptions"] = SPOT_MARKET
        data["TagSpecifications"] = [
            {"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
            for kind in ("instance", "volume")
        ]
        return data

    def ensure_template(self, original: dict[str, Any]) -> str:
        """spendpilot's spot template for ``original`` (created, or found from an earlier attempt)."""
        name = template_name(original["InstanceId"])
        found = self._client.describe_launch_templates(Filters=[{"Name": "launch-template-name", "Values": [name]}])
        if found["LaunchTemplates"]:
            return str(found["LaunchTemplates"][0]["LaunchTemplateId"])
        created = self._writer.create_launch_template(
            LaunchTemplateName=name,
            LaunchTemplateData=self.template_data(original),
            TagSpecifications=[{"ResourceType": "launch-template", "Tags": [
                {"Key": MANAGED_TAG, "Value": "true"}, {"Key": REPLACES_TAG, "Value": original["InstanceId"]},
            ]}],
        )
        return str(created["LaunchTemplate"]["LaunchTemplateId"])

    def run_replacement(self, original: dict[str, Any], template_id: str, token: str) -> str:
        """One spot instance from the template, in the original's subnet. ``token`` (the plan's)
        is the ClientToken: the same request sent again returns this instance, not a second."""
        kwargs: dict[str, Any] = {
            "LaunchTemplate": {"LaunchTemplateId": template_id, "Version": "$Latest"},
            "MinCount": 1, "MaxCount": 1,
            "InstanceMarketOptions": SPOT_MARKET,
            "ClientToken": hashlib.sha256(token.encode()).hexdigest()[:64],
        }
        if original.get("SubnetId"):
            kwargs["SubnetId"] = original["SubnetId"]
        placement = original.get("Placement", {}).get("AvailabilityZone")
        if placement and not original.get("SubnetId"):
            kwargs["Placement"] = {"AvailabilityZone": placement}
        resp = self._writer.run_instances(**kwargs)
        return str(resp["Instances"][0]["InstanceId"])

    def wait_state(self, instance_id: str, wanted: str, timeout_s: float, poll_s: float = 5.0) -> str:
        """Poll until ``instance_id`` is in ``wanted`` or ``timeout_s`` passes; the last state seen."""
        deadline = time.monotonic() + timeout_s
        while True:
            inst = self.describe_raw(instance_id)
            state = inst["State"]["Name"] if inst else "gone"
            if state == wanted or state in ("shutting-down", "terminated", "gone") or time.monotonic() >= deadline:
                return str(state)
            time.sleep(poll_s)

    def stop(self, instance_id: str) -> str:
        resp = self._writer.stop_instances(InstanceIds=[instance_id])
        return str(resp["StoppingInstances"][0]["CurrentState"]["Name"])

    def start(self, instance_id: str) -> str:
        resp = self._writer.start_instances(InstanceIds=[instance_id])
        return str(resp["StartingInstances"][0]["CurrentState"]["Name"])

    def terminate(self, instance_id: str) -> str:
        resp = self._writer.terminate_instances(InstanceIds=[instance_id])
        return str(resp["TerminatingInstances"][0]["CurrentState"]["Name"])

    def delete_template(self, instance_id: str) -> bool:
        """Delete spendpilot's own template for ``instance_id``; False when there is none."""
        name = template_name(instance_id)
        found = self._client.describe_launch_templates(Filters=[{"Name": "launch-template-name", "Values": [name]}])
        for template in found["LaunchTemplates"]:
            if _tags(template.get("Tags")).get(MANAGED_TAG) == "true":
                self._writer.delete_launch_template(LaunchTemplateId=template["LaunchTemplateId"])
                return True
        return False

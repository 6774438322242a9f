"""The IAM statements of the two EC2 actions of many-account sweeps: every call they make is
allowed, and each write is scoped by ARN or by a tag condition where EC2 / Auto Scaling allow it."""

from __future__ import annotations

from typing import Any

from spendpilot.actions import get_action
from spendpilot.adapters.base import SOURCES
from spendpilot.permissions import iam_policy, statement_id


def _statements(kind: str) -> list[dict[str, Any]]:
    return [s for s in iam_policy()["Statement"] if s["Sid"].startswith(statement_id(kind))]


def test_relaunch_on_spot_is_allowed_every_call_and_its_writes_are_scoped() -> None:
    statements = _statements("relaunch_on_spot")
    allowed = {a for s in statements for a in s["Action"]} | set(SOURCES.get("aws").permissions)
    assert set(get_action("relaunch_on_spot").permissions) <= allowed
    by_action: dict[str, list[dict[str, Any]]] = {}
    for s in statements:
        for a in s["Action"]:
            by_action.setdefault(a, []).append(s)
    [terminate] = by_action["ec2:TerminateInstances"]
    assert terminate["Condition"] == {"StringLike": {"aws:ResourceTag/spendpilot:replaces": "i-*"}}
    [create] = by_action["ec2:CreateLaunchTemplate"]
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/spendpilot:managed": "true"}}
    [delete] = by_action["ec2:DeleteLaunchTemplate"]
    assert delete["Condition"] == {"StringEquals": {"aws:ResourceTag/spendpilot:managed": "true"}}
    launched = [s for s in by_action["ec2:RunInstances"] if "arn:aws:ec2:*:*:instance/*" in s["Resource"]]
    assert [s["Condition"] for s in launched] == [{"StringLike": {"aws:RequestTag/spendpilot:replaces": "i-*"}}]
    writes = {"ec2:RunInstances", "ec2:StopInstances", "ec2:StartInstances", "ec2:TerminateInstances",
              "ec2:CreateLaunchTemplate", "ec2:DeleteLaunchTemplate", "ec2:CreateTags"}
    assert all(s["Resource"] != "*" for s in statements if set(s["Action"]) & writes)


def test_scale_group_to_zero_writes_only_to_auto_scaling_groups() -> None:
    [statement] = _statements("scale_group_to_zero")
    assert statement["Action"] == ["autoscaling:UpdateAutoScalingGroup"]
    assert statement["Resource"] == ["arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*"]

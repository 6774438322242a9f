"""Idle SageMaker notebook instances against the emulator: found from their Jupyter log, stopped,
verified, started again by the rollback; a notebook in use is left alone, and a Jupyter line
written after the sweep stops the execution as drift.

moto keeps notebooks and CloudWatch Logs; a notebook's last start (``LastModifiedTime``) is set in
the in-process emulator (``scenarios/emulator_ml.py``), as AWS lets nobody set it.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from pathlib import Path

import boto3
import pytest

from spendpilot.actions import ActionContext, get_action
from spendpilot.actions.base import pre_state_differences
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.aws.sagemaker_notebooks import NOTEBOOK_LOG_GROUP, jupyter_log_stream
from spendpilot.adapters.base import Targets, build_sources
from spendpilot.checks.registry import all_checks
from spendpilot.config import Settings
from spendpilot.domain import ProposalStatus, Snapshot, utcnow
from spendpilot.runtime import build_services
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate as estimate_of
from spendpilot.scenarios.emulator_ml import backdate_notebook

ACTION = get_action("stop_notebook_instance")
CHECK = all_checks()["idle_notebook_instance"]
H = timedelta(hours=1)
ROLE = "arn:aws:iam::123456789012:role/sagemaker-notebooks"


def _notebook(endpoint: str, name: str, *, started: datetime, jupyter_at: datetime | None,
              itype: str = "ml.m5.xlarge", tags: dict[str, str] | None = None) -> None:
    sm = boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1")
    sm.create_notebook_instance(NotebookInstanceName=name, InstanceType=itype, RoleArn=ROLE,
                                Tags=[{"Key": k, "Value": v} for k, v in (tags or {"team": "research"}).items()])
    backdate_notebook(name, started)
    if jupyter_at is not None:
        jupyter_line(endpoint, name, jupyter_at)


def jupyter_line(endpoint: str, name: str, at: datetime) -> None:
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=NOTEBOOK_LOG_GROUP)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=NOTEBOOK_LOG_GROUP, logStreamName=jupyter_log_stream(name))
    logs.put_log_events(logGroupName=NOTEBOOK_LOG_GROUP, logStreamName=jupyter_log_stream(name), logEvents=[
        {"timestamp": int(at.timestamp() * 1000), "message": "[I 12:00:00.000 NotebookApp] Kernel started"}])


def _org(endpoint: str, now: datetime) -> None:
    _notebook(endpoint, "research-sandbox", started=now - 240 * H, jupyter_at=now - 120 * H)  # planted
    _notebook(endpoint, "team-analysis", started=now - 240 * H, jupyter_at=now - H)  # trap: in use
    _notebook(endpoint, "fresh-start", started=now - 10 * H, jupyter_at=now - 120 * H)  # trap: started today
    _notebook(endpoint, "no-logs", started=now - 240 * H, jupyter_at=None)  # trap: no evidence either way


def test_only_the_notebook_nobody_used_for_five_days_is_idle(aws_endpoint: str) -> None:
    now = utcnow()
    _org(aws_endpoint, now)
    aws = AwsAdapter(endpoint_url=aws_endpoint)
    notebooks = aws.sagemaker_notebooks.list_in_service()
    for nb in notebooks:
        last = aws.sagemaker_notebooks.last_jupyter_activity(nb.ref.id)
        nb.attributes["last_jupyter_activity_at"] = last.isoformat() if last else None
    [finding] = CHECK.run(Snapshot(taken_at=now, resources=notebooks), CHECK.settings(), PriceBook.bundled())
    assert finding.resource.ref.id == "research-sandbox"
    assert finding.facts.idle_hours == pytest.approx(120, abs=0.1)
    estimate = estimate_of(finding, PriceBook.bundled())
    assert estimate is not None and str(estimate.expected.rounded()) == "$167.90"  # 0.23 $/h x 730 h
    assert str(estimate.low.rounded()) == "$134.32"


def test_stop_verify_and_rollback_start_against_the_emulator(aws_endpoint: str, tmp_path: Path) -> None:
    now = utcnow()
    _org(aws_endpoint, now)
    services = build_services(Settings(home=tmp_path, aws={"endpoint_url": aws_endpoint}))
    services.sweep()
    [proposal] = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "idle_notebook_instance"]
    assert proposal.target.id == "research-sandbox" and proposal.risk.value == "low"
    outcome = services.approve(proposal.id, by="alice")
    assert outcome.status is ProposalStatus.EXECUTED and outcome.verified, outcome.message
    sm = boto3.client("sagemaker", endpoint_url=aws_endpoint, region_name="us-east-1")
    assert sm.describe_notebook_instance(NotebookInstanceName="research-sandbox")["NotebookInstanceStatus"] == "Stopped"
    assert sm.describe_notebook_instance(NotebookInstanceName="team-analysis")["NotebookInstanceStatus"] == "InService"
    undone = services.rollback(proposal.id, by="alice")
    assert undone.status is ProposalStatus.EXECUTED, undone.message
    assert sm.describe_notebook_instance(NotebookInstanceName="research-sandbox")["NotebookInstanceStatus"] == "InService"


def test_a_jupyter_line_after_the_sweep_is_drift(aws_endpoint: str, tmp_path: Path) -> None:
    now = utcnow()
    _org(aws_endpoint, now)
    aws = AwsAdapter(endpoint_url=aws_endpoint)
    [nb] = [n for n in aws.sagemaker_notebooks.list_in_service() if n.ref.id == "research-sandbox"]
    nb.attributes["last_jupyter_activity_at"] = (now - 120 * H).isoformat()
    [finding] = CHECK.run(Snapshot(taken_at=now, resources=[nb]), CHECK.settings(), PriceBook.bundled())
    plan = ACTION.build_plan(finding)
    ctx = ActionContext(targets=Targets(build_sources([{"kind": "aws", "endpoint_url": aws_endpoint}], tmp_path)))
    assert pre_state_differences(plan.expected_pre_state, ACTION.read_state(ctx, plan.target)) == {}
    assert ACTION.evidence_differences(ctx, plan) == {}
    jupyter_line(aws_endpoint, "research-sandbox", now + timedelta(minutes=5))
    [(label, _)] = ACTION.evidence_differences(ctx, plan).items()
    assert label == "jupyter.log last event"

"""Zombie SageMaker training jobs: read, found, estimated, stopped, and never "rolled back".

moto 5.2.5 has no ``StopTrainingJob`` and creates every training job ``Completed``, so the jobs
live in ``tests/adapters/sagemaker_training_server.py``, a local server speaking SageMaker's
documented JSON shape; boto3 reaches it over HTTP through the real adapter. The end-to-end test
puts that server in front of the emulator (``AWS_ENDPOINT_URL_SAGEMAKER``), so the sweep reads
everything else from moto.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.adapters.reply_server import FAST_AWS
from tests.adapters.sagemaker_training_server import TrainingJob, TrainingServer, training_server

from spendpilot.actions import ActionContext, get_action
from spendpilot.actions.base import pre_state_differences
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.base import SingleTarget, Targets
from spendpilot.checks.registry import all_checks
from spendpilot.config import Settings
from spendpilot.domain import ProposalStatus, Snapshot, utcnow
from spendpilot.errors import InvalidTransition
from spendpilot.runtime import build_services
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate as estimate_of

ACTION = get_action("stop_training_job")
CHECK = all_checks()["zombie_training_job"]
NOW = utcnow().replace(microsecond=0)
H = timedelta(hours=1)


def _org(server: TrainingServer) -> None:
    # planted: a hung fine-tune, 40 h in, 2 x ml.g5.2xlarge, SageMaker would stop it at 120 h
    server.add(TrainingJob("llm-finetune-0412", started=NOW - 40 * H, instance_count=2, max_runtime_s=120 * 3600,
                           tags={"team": "nlp", "env": "dev"}))
    # traps
    server.add(TrainingJob("foundation-pretrain-7b", started=NOW - 300 * H, instance_count=4, max_runtime_s=28 * 86400,
                           tags={"env": "production"}))  # weeks-long production run
    server.add(TrainingJob("nightly-retrain-0501", started=NOW - 6 * H, max_runtime_s=86400))  # young
    server.add(TrainingJob("old-experiment", status="Completed", started=NOW - 90 * H, ended=NOW - 80 * H))
    server.add(TrainingJob("pinned-run", started=NOW - 50 * H, tags={"spendpilot:ignore": "owner says so"}))


@pytest.fixture
def server() -> Iterator[TrainingServer]:
    with training_server() as s:
        _org(s)
        yield s


def _aws(server: TrainingServer) -> AwsAdapter:
    return AwsAdapter(endpoint_url=server.url, config=FAST_AWS)


def _findings(server: TrainingServer) -> list:
    jobs = _aws(server).sagemaker_training.list_jobs(created_after=NOW - 30 * 24 * H)
    snap = Snapshot(taken_at=NOW, resources=jobs)
    return CHECK.run(snap, CHECK.settings(), PriceBook.bundled())


def test_only_the_hung_dev_job_is_a_zombie_and_its_saving_is_the_hours_it_would_still_bill(server: TrainingServer) -> None:
    [finding] = _findings(server)
    assert finding.resource.ref.id == "llm-finetune-0412"
    facts = finding.facts
    assert (facts.instance_type, facts.instance_count, facts.limit_hours) == ("ml.g5.2xlarge", 2, 120.0)
    assert facts.running_hours == pytest.approx(40, abs=0.01)
    estimate = estimate_of(finding, PriceBook.bundled())
    assert estimate is not None
    # 1.515 $/h x 2 instances x (120 - 40) h left until MaxRuntimeInSeconds
    assert str(estimate.expected.rounded()) == "$242.40" and estimate.high == estimate.expected
    assert str(estimate.low.rounded()) == "$72.72"  # at most one more 24 h time-to-live
    assert "MaxRuntimeInSeconds" in estimate.formula


def test_a_managed_spot_job_is_priced_at_the_spot_share_and_a_job_without_a_limit_for_a_month(server: TrainingServer) -> None:
    server.jobs.clear()
    server.add(TrainingJob("spot-run", started=NOW - 30 * H, managed_spot=True, max_runtime_s=40 * 3600,
                           max_wait_s=80 * 3600, instance_type="ml.g5.xlarge"))
    server.add(TrainingJob("no-limit", started=NOW - 30 * H, max_runtime_s=None, instance_type="ml.m5.xlarge"))
    by_name = {f.resource.ref.id: f for f in _findings(server)}
    spot = by_name["spot-run"]
    assert spot.facts.limit_hours == 80.0  # MaxWaitTimeInSeconds bounds a managed spot job
    est = estimate_of(spot, PriceBook.bundled())
    assert est is not None and "typical spot share" in est.formula
    on_demand_equivalent = 1.408 * 50
    assert 0 < float(est.expected.amount) < on_demand_equivalent
    whole_month = estimate_of(by_name["no-limit"], PriceBook.bundled())
    assert whole_month is not None and str(whole_month.expected.rounded()) == "$167.90"  # 0.23 x 730 h


def test_stop_is_applied_verified_and_has_no_rollback(server: TrainingServer) -> None:
    [finding] = _findings(server)
    plan = ACTION.build_plan(finding)
    assert plan.rollback is None and "IRREVERSIBLE" in plan.rollback_description
    assert "from scratch" in plan.rollback_description  # it wrote no checkpoints
    assert ACTION.risk(finding).value == "high"
    ctx = ActionContext(targets=Targets([SingleTarget("aws", _aws(server))]))
    before = ACTION.read_state(ctx, plan.target)
    assert pre_state_differences(plan.expected_pre_state, before) == {}
    assert not ACTION.is_applied(before, plan)
    result = ACTION.apply(ctx, plan)
    assert result == {"status_after_call": "Stopping"}
    assert "StopTrainingJob" in server.operations
    after = ACTION.read_state(ctx, plan.target)
    assert after is not None and after["status"] == "Stopped" and ACTION.is_applied(after, plan)


def test_a_production_tag_added_after_the_sweep_is_drift(server: TrainingServer) -> None:
    [finding] = _findings(server)
    plan = ACTION.build_plan(finding)
    server.jobs["llm-finetune-0412"].tags["env"] = "production"
    ctx = ActionContext(targets=Targets([SingleTarget("aws", _aws(server))]))
    differences = pre_state_differences(plan.expected_pre_state, ACTION.read_state(ctx, plan.target))
    assert set(differences) == {"tags"}


def test_a_job_that_finished_on_its_own_is_drift_not_a_stop(server: TrainingServer) -> None:
    [finding] = _findings(server)
    plan = ACTION.build_plan(finding)
    server.jobs["llm-finetune-0412"].status = "Completed"
    ctx = ActionContext(targets=Targets([SingleTarget("aws", _aws(server))]))
    state = ACTION.read_state(ctx, plan.target)
    assert pre_state_differences(plan.expected_pre_state, state) == {"status": ("InProgress", "Completed")}
    assert not ACTION.is_applied(state, plan)


def test_sweep_approve_and_execute_through_the_services_and_rollback_is_refused(
    aws_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with training_server(upstream=aws_endpoint) as server:
        _org(server)
        monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", server.url)
        services = build_services(Settings(home=tmp_path, aws={}))
        report = services.sweep()
        assert not [g for g in report.gaps if g.part and g.part.startswith("SageMaker")], report.gaps
        [proposal] = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "zombie_training_job"]
        assert proposal.target.id == "llm-finetune-0412" and proposal.risk.value == "high"
        outcome = services.approve(proposal.id, by="alice")
        assert outcome.status is ProposalStatus.EXECUTED and outcome.verified, outcome.message
        assert server.jobs["llm-finetune-0412"].status in ("Stopping", "Stopped")
        assert server.jobs["foundation-pretrain-7b"].status == "InProgress"
        with pytest.raises(InvalidTransition, match="IRREVERSIBLE"):
            services.rollback(proposal.id, by="alice")

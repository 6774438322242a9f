"""The LiteLLM config action on a real file: diff in the plan, drift by hash, atomic apply with a backup, rollback.

A runaway loop (rate_limit) proposes through the config when one is configured; without one the
same finding is advisory.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spendpilot.actions import get_action
from spendpilot.actions.advisory import is_advisory
from spendpilot.actions.base import ActionContext, pre_state_differences
from spendpilot.adapters.base import SourceContext, Targets
from spendpilot.adapters.litellm.source_litellm_config import (
    ConfigEdit,
    LiteLLMConfigSettings,
    LiteLLMConfigSource,
    edited_text,
    sha256_text,
)
from spendpilot.checks import all_checks
from spendpilot.domain import Snapshot
from spendpilot.errors import AdapterError
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.llm_traffic import busy_varied, runaway_loop

DATA = Path(__file__).parents[1] / "data" / "litellm" / "config.yaml"
NOW = datetime(2026, 11, 20, tzinfo=UTC)
PRICES = PriceBook.bundled()


def _traffic() -> list:
    at = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)
    loop = [r.model_copy(update={"team": "travel"}) for r in runaway_loop("travel-agent", "gpt-4.1", at, calls=600, per_minute=100)]
    busy = [r.model_copy(update={"team": "travel"}) for r in busy_varied("trip-planner", "gpt-4.1", at, calls=400, per_minute=20, callers=30, seed=3)]
    return loop + busy


def _sweep(config: Path | None) -> tuple[Snapshot, LiteLLMConfigSource | None]:
    snapshot = Snapshot(taken_at=NOW, llm_requests=_traffic())
    source = None
    if config is not None:
        source = LiteLLMConfigSource(LiteLLMConfigSettings(path=config))
        snapshot.merge(source.name, source.read(SourceContext(now=NOW, prices=PRICES)))
    return snapshot, source


def _finding(snapshot: Snapshot):  # type: ignore[no-untyped-def]
    spec = all_checks()["runaway_llm_loop"]
    (finding,) = spec.run(snapshot, spec.settings(), PRICES)
    return finding


def test_edits_keep_comments_order_and_list_style() -> None:
    text = DATA.read_text()
    after = edited_text(text, [
        ConfigEdit(path=["model_list", {"model_name": "gpt-4.1-mini"}, "litellm_params", "max_tokens"], value=600),
        ConfigEdit(path=["litellm_settings", "default_team_settings", {"team_id": "travel"}, "rpm_limit"], value=40),
    ])
    for line in text.splitlines():  # every original line survives, comments included
        assert line in after.splitlines()
    assert "      max_tokens: 600" in after
    assert "  default_team_settings:\n    - team_id: travel\n      rpm_limit: 40\n" in after
    assert edited_text(text, []) == text


def test_a_runaway_loop_is_limited_in_the_config_applied_atomically_and_rolled_back(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    shutil.copy(DATA, config)
    before = config.read_text()
    snapshot, source = _sweep(config)
    finding = _finding(snapshot)
    assert finding.facts.team == "travel" and finding.facts.team_rpm_limit == 40  # 2 x the planner's 20/min
    action = get_action("rate_limit")
    plan = action.build_plan(finding)
    assert not is_advisory(plan)
    assert "+  default_team_settings:" in plan.description and "+      rpm_limit: 40" in plan.description
    assert plan.target.name == "travel-agent"
    ctx = ActionContext(targets=Targets([source]))
    assert pre_state_differences(plan.expected_pre_state, action.read_state(ctx, plan.target)) == {}
    action.apply(ctx, plan)
    assert action.is_applied(action.read_state(ctx, plan.target), plan)  # verify re-reads the file
    assert "rpm_limit: 40" in config.read_text() and "# ignore params a provider does not support" in config.read_text()
    assert (tmp_path / f"config.yaml.spendpilot-{sha256_text(before)[:8]}.bak").read_text() == before
    assert not list(tmp_path.glob(".config.yaml.*"))  # no temporary file left behind
    assert plan.rollback is not None
    assert pre_state_differences(plan.rollback.expected_pre_state, action.read_state(ctx, plan.target)) == {}
    action.apply(ctx, plan.rollback)
    assert config.read_text() == before


def test_a_config_edited_after_the_sweep_is_drift_and_nothing_is_written(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    shutil.copy(DATA, config)
    snapshot, source = _sweep(config)
    plan = get_action("rate_limit").build_plan(_finding(snapshot))
    config.write_text(config.read_text() + "router_settings:\n  num_retries: 2\n")
    edited = config.read_text()
    ctx = ActionContext(targets=Targets([source]))
    assert "sha256" in pre_state_differences(plan.expected_pre_state, get_action("rate_limit").read_state(ctx, plan.target))
    with pytest.raises(AdapterError, match="changed since it was read"):
        get_action("rate_limit").apply(ctx, plan)
    assert config.read_text() == edited


def test_without_a_litellm_config_the_same_finding_is_advisory() -> None:
    snapshot, _ = _sweep(None)
    plan = get_action("rate_limit").build_plan(_finding(snapshot))
    assert is_advisory(plan) and plan.permissions == []


def test_a_config_that_is_not_yaml_is_refused_at_read_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("model_list: [unclosed\n")
    with pytest.raises(AdapterError, match="config.yaml: not valid YAML"):
        LiteLLMConfigSource(LiteLLMConfigSettings(path=bad)).read(SourceContext(now=NOW, prices=PRICES))


def test_approve_executes_verifies_and_rollback_restores_through_the_executor(tmp_path: Path) -> None:
    from spendpilot.approval.service import Approvals
    from spendpilot.domain import ProposalStatus
    from spendpilot.execution.executor import Executor
    from spendpilot.proposals.lifecycle import make_proposal
    from spendpilot.savings.registry import estimate
    from spendpilot.state.store import StateStore

    config = tmp_path / "config.yaml"
    shutil.copy(DATA, config)
    before = config.read_text()
    snapshot, source = _sweep(config)
    finding = _finding(snapshot)
    est = estimate(finding, PRICES)
    assert est is not None
    proposal = make_proposal(finding, est)
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.upsert_proposal(proposal)
    executor = Executor(store, ActionContext(targets=Targets([source])))
    approvals = Approvals(store, lambda p, _d: executor.execute(p.id), lambda *_a: None)
    outcome = approvals.approve(proposal.id, "alice", proposal.plan_hash)
    assert outcome.applied and outcome.verified, outcome.message
    assert "rpm_limit: 40" in config.read_text()
    assert store.get_proposal(proposal.id).status is ProposalStatus.EXECUTED
    undone = approvals.rollback(proposal.id, "alice")
    assert undone.applied and undone.verified, undone.message
    assert config.read_text() == before

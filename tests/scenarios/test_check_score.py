"""Per-check scoring of a sweep against expected.yaml: recall, precision and savings error."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spendpilot.domain import ActionPlan, Estimate, Money, Proposal, ResourceRef, Risk
from spendpilot.errors import ScenarioError
from spendpilot.scenarios.check_table import NO_VALUE, check_cells, check_table, plain_lines
from spendpilot.scenarios.model import Expected, ExpectedProposal, Trap, load_scenario
from spendpilot.scenarios.score import score, tally_checks


def _proposal(rule: str, action: str, target: str, expected: str, low: str | None = None,
              high: str | None = None) -> Proposal:
    ref = ResourceRef(provider="aws", kind="ec2_instance", id=f"i-{target}", name=target)
    plan = ActionPlan(action=action, target=ref, change={}, expected_pre_state={}, rollback_description="",
                      description=f"{action} {target}")
    return Proposal(
        id=f"sp-{rule}-{target}", rule=rule, action=action, target=ref, summary=target,
        estimate=Estimate(low=Money.usd(low or expected), expected=Money.usd(expected), high=Money.usd(high or expected),
                          formula="hand-built"),
        plan=plan, risk=Risk.LOW, evidence=[], fingerprint=f"fp-{target}", evidence_digest="d",
    )


EXPECTED = Expected(
    must_propose=[
        ExpectedProposal(rule="idle_gpu_instance", action="stop_instance", target="p4d-idle",
                         saving=Decimal("1000"), saving_basis="hand-built: 730 h x list price"),
        ExpectedProposal(rule="idle_gpu_instance", action="stop_instance", target="g5-idle",
                         saving=Decimal("200"), saving_basis="hand-built"),
        ExpectedProposal(rule="idle_gpu_instance", action="stop_instance", target="g5-missed"),
        ExpectedProposal(rule="gp2_volume", action="modify_volume_to_gp3", target="vol-a"),
    ],
    must_not_propose=[
        Trap(target="busy-box", why="GPU busy"),
        Trap(target="vol-a", rule="spot_candidate", why="a volume is no spot candidate"),
    ],
)


def test_a_trap_and_an_unexpected_proposal_lower_only_their_own_checks_precision() -> None:
    proposals = [
        _proposal("idle_gpu_instance", "stop_instance", "p4d-idle", "1100", low="900", high="1200"),
        _proposal("idle_gpu_instance", "stop_instance", "g5-idle", "150", low="140", high="190"),
        _proposal("idle_gpu_instance", "stop_instance", "busy-box", "500"),  # springs a trap
        _proposal("idle_gpu_instance", "stop_instance", "stray", "50"),  # nobody planted it
        _proposal("gp2_volume", "modify_volume_to_gp3", "vol-a", "3"),
    ]
    result = score("hand", EXPECTED, proposals)
    gpu, gp2 = result.checks["idle_gpu_instance"], result.checks["gp2_volume"]
    assert (gpu.planted, gpu.found, gpu.missed, gpu.traps_sprung, gpu.unexpected) == (3, 2, 1, 1, 1)
    assert gpu.recall == pytest.approx(2 / 3)
    assert gpu.precision == pytest.approx(2 / 4)
    assert (gp2.planted, gp2.found, gp2.traps_sprung, gp2.unexpected) == (1, 1, 0, 0)
    assert gp2.precision == 1.0
    # the per-scenario view is unchanged: one trap hit, one unexpected target
    assert len(result.traps_hit) == 1 and result.unexpected == ["stray"]


def test_savings_error_is_signed_and_the_range_is_checked_against_the_truth() -> None:
    proposals = [
        _proposal("idle_gpu_instance", "stop_instance", "p4d-idle", "1100", low="900", high="1200"),  # +10%, inside
        _proposal("idle_gpu_instance", "stop_instance", "g5-idle", "150", low="140", high="190"),  # -25%, outside
    ]
    gpu = score("hand", EXPECTED, proposals).checks["idle_gpu_instance"]
    errors = sorted(s.error for s in gpu.savings)
    assert errors == pytest.approx([-0.25, 0.10])
    assert gpu.savings_error == pytest.approx(-0.075)
    assert gpu.truths_in_range == 1
    cells = dict(zip(("check", "planted", "found", "missed", "traps", "unexpected", "recall", "precision",
                      "error", "in_range"), check_cells(gpu), strict=True))
    assert cells["error"] == "-7.5% (n=2)" and cells["in_range"] == "1/2"
    assert cells["recall"] == "67%" and cells["precision"] == "100%"


def test_an_overestimate_has_a_positive_error() -> None:
    over = score("hand", EXPECTED, [_proposal("idle_gpu_instance", "stop_instance", "g5-idle", "260")])
    assert over.checks["idle_gpu_instance"].savings_error == pytest.approx(0.30)


def test_a_found_proposal_without_a_truth_shows_no_error_and_a_second_lever_on_a_planted_target_is_unexpected() -> None:
    proposals = [
        _proposal("gp2_volume", "modify_volume_to_gp3", "vol-a", "3"),
        _proposal("unattached_ebs_volume", "snapshot_and_delete_volume", "vol-a", "8"),  # not asked for
        _proposal("spot_candidate", "switch_to_spot", "vol-a", "9"),  # the rule-scoped trap
    ]
    result = score("hand", EXPECTED, proposals)
    gp2 = result.checks["gp2_volume"]
    assert gp2.found == 1 and gp2.found_without_truth == 1 and gp2.savings_error is None
    assert check_cells(gp2)[-2:] == (NO_VALUE, NO_VALUE)
    assert result.checks["unattached_ebs_volume"].unexpected == 1
    assert result.checks["unattached_ebs_volume"].unexpected_targets == ["hand: vol-a"]
    assert result.checks["unattached_ebs_volume"].precision == 0.0
    assert result.checks["unattached_ebs_volume"].recall is None  # nothing planted for it
    assert result.checks["spot_candidate"].traps_sprung == 1


def test_tallies_add_up_over_scenarios() -> None:
    one = score("a", EXPECTED, [_proposal("idle_gpu_instance", "stop_instance", "p4d-idle", "1100")])
    two = score("b", EXPECTED, [_proposal("idle_gpu_instance", "stop_instance", "busy-box", "1")])
    rows = {t.rule: t for t in tally_checks([one, two])}
    gpu = rows["idle_gpu_instance"]
    assert (gpu.planted, gpu.found, gpu.traps_sprung) == (6, 1, 1)
    assert [s.scenario for s in gpu.savings] == ["a"]
    lines = plain_lines(list(rows.values()))
    assert lines[0].split()[:3] == ["check", "planted", "found"]
    assert lines[1].split()[:3] == ["gp2_volume", "2", "0"]


def test_a_truth_without_its_basis_is_refused_naming_the_file(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "scenario.yaml").write_text("name: t\naccount_id: '123456789012'\n")
    (folder / "resources.yaml").write_text("{}\n")
    (folder / "billing.yaml").write_text("billing_account_id: '1'\nbilling_account_name: x\n")
    (folder / "expected.yaml").write_text(
        "must_propose:\n  - rule: r\n    action: a\n    target: t\n    saving: '12.50'\n")
    with pytest.raises(ScenarioError, match=r"expected\.yaml.*saving_basis"):
        load_scenario(folder)


def test_the_terminal_table_has_a_row_per_check_with_the_same_cells() -> None:
    from rich.console import Console

    result = score("hand", EXPECTED, [_proposal("idle_gpu_instance", "stop_instance", "g5-idle", "260"),
                                      _proposal("gp2_volume", "modify_volume_to_gp3", "vol-a", "3")])
    console = Console(record=True, width=160, color_system=None)
    console.print(check_table(tally_checks([result])))
    rows = {ln.split()[0]: ln.split() for ln in console.export_text().splitlines()
            if ln.strip().startswith(("gp2_volume", "idle_gpu_instance"))}
    assert rows["idle_gpu_instance"][1:8] == ["3", "1", "2", "0", "0", "33%", "100%"]
    assert rows["idle_gpu_instance"][8:] == ["+30.0%", "(n=1)", "0/1"]
    assert rows["gp2_volume"][8:] == [NO_VALUE, NO_VALUE]

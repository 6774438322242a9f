"""`spendpilot eval` on a scenario with post-execution billing (realized.yaml): the runner stops two
idle GPU boxes in the emulator, one is started again by its owner, the bill of the week after is
ingested, and the eval reports each estimate against what the bill showed.

One scenario run (~90 s on a shared machine): the plain output and --json are checked from it.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from tests.conftest import run_cli

from spendpilot.errors import ScenarioError
from spendpilot.scenarios.check_table import realized_cells, realized_plain_lines
from spendpilot.scenarios.model import load_scenario, scenarios_root
from spendpilot.scenarios.score import RealizedComparison, ScenarioScore, tally_checks


def test_eval_reports_estimate_vs_realized_and_the_trap_reads_zero() -> None:
    proc = run_cli("eval", "realized_gpu_stop", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    (scenario,) = report["scenarios"]
    assert scenario["passed"] is True
    rows = {r["target"]: r for r in report["realized"]}
    stopped, restarted = rows["train-idle-g5"], rows["eval-idle-g5"]
    # stopped and kept stopped: the compute line disappears from the bill, the EBS line is another resource
    assert (stopped["status"], stopped["estimate"], stopped["realized"]) == ("measured", "884.76", "884.76")
    assert stopped["error"] == 0.0 and stopped["realized_ok"] is True
    # started again the same day: the bill shows no drop, and the eval says so
    assert (restarted["status"], restarted["estimate"], restarted["realized"]) == ("measured", "734.38", "0.00")
    assert restarted["error"] == 1.0 and restarted["realized_ok"] is True
    (check,) = report["checks"]
    assert check["rule"] == "idle_gpu_instance" and check["realized_error"] == pytest.approx(0.5)
    assert [r["target"] for r in check["realized"]] == ["train-idle-g5", "eval-idle-g5"]


def test_realized_table_cells_and_a_wrong_measurement_fails_the_scenario() -> None:
    good = RealizedComparison(scenario="s", rule="idle_gpu_instance", target="a", status="measured",
                              estimate=Decimal("100"), realized=Decimal("80.00"), truth=Decimal("80"), error=0.2)
    off = good.model_copy(update={"target": "b", "realized": Decimal("50.00"), "error": 0.5})
    waiting = RealizedComparison(scenario="s", rule="idle_gpu_instance", target="c", status="measuring")
    assert realized_cells(good) == ("idle_gpu_instance", "s", "a", "$100.00", "$80.00", "$80.00", "+20.0%", "ok")
    assert realized_cells(off)[-1] == "WRONG" and realized_cells(waiting)[-2:] == ("—", "measuring")
    score = ScenarioScore(scenario="s")
    score.add_realized([good])
    assert score.passed
    score.add_realized([off])
    assert not score.passed
    (tally,) = tally_checks([score])
    assert tally.realized_error == pytest.approx(0.35)
    assert realized_plain_lines([good])[0].split()[:3] == ["check", "scenario", "target"]


def test_a_realized_truth_without_its_basis_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    shutil.copytree(scenarios_root() / "realized_gpu_stop", folder)
    text = (folder / "realized.yaml").read_text()
    (folder / "realized.yaml").write_text(text.replace('    realized_basis: "restarted', '    note: "restarted'))
    with pytest.raises(ScenarioError, match=r"realized\.yaml.*realized_basis"):
        load_scenario(folder)

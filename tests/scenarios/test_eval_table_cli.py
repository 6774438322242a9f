"""`spendpilot eval` as a user runs it: the per-check table after the scenario lines, and --json.

Each run seeds a real scenario in the AWS emulator and sweeps it (about 15 s a scenario), so only
the cheap EBS gp2 scenario runs here; its two planted volumes carry true savings worked out by
hand in expected.yaml (15.00 and 30.00 a month).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.conftest import run_cli

from spendpilot.scenarios.model import scenarios_root


def test_eval_prints_a_row_per_check_after_the_scenario_lines() -> None:
    proc = run_cli("eval", "ebs_gp2_volumes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("PASS ebs_gp2_volumes: recall 100% (2/2)")
    header = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["check", "planted"])
    rows = {ln.split()[0]: ln for ln in lines[header + 1:] if ln.strip()}
    assert list(rows) == ["gp2_volume"]
    cells = rows["gp2_volume"].split()
    # planted, found, missed, traps, unexpected, recall, precision
    assert cells[1:8] == ["2", "2", "0", "0", "0", "100%", "100%"]
    assert cells[-2] == "(n=2)" and cells[-1].endswith("/2")


def test_eval_json_counts_a_missed_plant_and_keeps_exit_1(tmp_path: Path) -> None:
    scenario = tmp_path / "gp2_with_a_ghost"
    shutil.copytree(scenarios_root() / "ebs_gp2_volumes", scenario)
    expected = scenario / "expected.yaml"
    expected.write_text(expected.read_text().replace("must_not_propose:", (
        "  - rule: gp2_volume\n    action: modify_volume_to_gp3\n    target: ghost-volume\n"
        "must_not_propose:"), 1))
    proc = run_cli("eval", str(scenario), "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert [s["scenario"] for s in report["scenarios"]] == ["ebs_gp2_volumes"]
    assert report["scenarios"][0]["passed"] is False
    (row,) = report["checks"]
    assert (row["rule"], row["planted"], row["found"], row["missed"]) == ("gp2_volume", 3, 2, 1)
    assert row["recall"] == 2 / 3 and row["precision"] == 1.0
    truths = {s["target"]: s["truth"] for s in row["savings"]}
    assert truths == {"search-index": "15.00", "warehouse-db": "30.00"}
    for s in row["savings"]:
        assert s["error"] == pytest.approx((float(s["estimate"]) - float(s["truth"])) / float(s["truth"]))

"""`spendpilot chargeback` on the awkward lake: the table, CSV, JSON, the period options and bad input."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

from tests.conftest import run_cli


def _home_env(home: Path) -> dict[str, str]:
    return {"SPENDPILOT_HOME": str(home)}


def test_table_csv_and_json_agree(awkward_lake: Path) -> None:
    home = awkward_lake.parent
    table = run_cli("chargeback", "--from", "2026-03-09", "--to", "2026-03-10", env=_home_env(home), check=True).stdout
    assert "USD: lake $267.73 − $50.00 node bill rows replaced by Kubernetes allocation = $217.73 = allocated $124.47 + unallocated $93.26" in table
    assert "Kubernetes idle capacity (prod-eks)" in table and "EUR: lake €83.33" in table
    rows = list(csv.DictReader(io.StringIO(run_cli(
        "chargeback", "--csv", "--last", "2d", env=_home_env(home), check=True).stdout)))
    result = json.loads(run_cli("chargeback", "--json", "--last", "2d", env=_home_env(home), check=True).stdout)
    assert (result["start"], result["end"]) == ("2026-03-09", "2026-03-10")
    assert len(rows) == len(result["lines"])
    for row, line in zip(rows, result["lines"], strict=True):
        assert (row["team"], row["layer"], Decimal(row["effective_cost"])) == (
            line["owner"], line["layer"], Decimal(line["effective_cost"]))
    by_feature = json.loads(run_cli("chargeback", "--json", "--by", "feature", "--last", "1w",
                                    env=_home_env(home), check=True).stdout)
    assert by_feature["by"] == "feature" and {x["owner"] for x in by_feature["lines"]} >= {"chat", "ranker"}


def test_bad_options_are_one_line_errors(awkward_lake: Path, tmp_path: Path) -> None:
    env = _home_env(awkward_lake.parent)
    bad_by = run_cli("chargeback", "--by", "service", env=env)
    assert bad_by.returncode == 2 and "chargeback is by team or by feature" in bad_by.stderr
    months = run_cli("chargeback", "--last", "3m", env=env)
    assert months.returncode == 2 and "days or weeks" in months.stderr
    both = run_cli("chargeback", "--from", "2026-03-09", "--last", "2d", env=env)
    assert both.returncode == 2 and "either --from or --last" in both.stderr
    empty = run_cli("chargeback", env=_home_env(tmp_path / "empty"))
    assert empty.returncode == 4 and "no billing data" in empty.stderr

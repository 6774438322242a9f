"""Daily anomalies from the bill: a resource whose cost jumps on the last day is the driver of
its service's anomaly; the steady service next to it is not flagged."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from tests.conftest import run_cli
from tests.lake.focus_rows import write_csv
from tests.outlook.test_budgets import _row

from spendpilot.lake.ingest import ingest_file

FIRST, LAST = date(2026, 9, 28), date(2026, 11, 20)


def test_a_resource_jump_is_a_service_anomaly_naming_the_resource(tmp_path: Path) -> None:
    rows = []
    day = FIRST
    while day <= LAST:
        weekend = day.weekday() >= 5
        busy = "400" if day == LAST else ("40" if weekend else "100")
        rows += [_row(0, day, "ml", "300") | {"ResourceId": "i-steady"},
                 _row(0, day, "ml", busy) | {"ResourceId": "i-runaway"},
                 _row(0, day, "web", "20") | {"ResourceId": "bucket-1", "ServiceName": "Amazon S3"}]
        day += timedelta(days=1)
    ingest_file(write_csv(tmp_path / "focus.csv", rows), tmp_path / "home" / "lake")
    report = json.loads(run_cli("anomalies", "--json", "--home", str(tmp_path / "home"), check=True).stdout)
    [anomaly] = report["anomalies"]
    assert (anomaly["source"], anomaly["granularity"], anomaly["value"]) == ("billing", "day", "Amazon EC2")
    assert anomaly["start"].startswith(str(LAST)) and anomaly["ongoing"] is True
    assert anomaly["excess"] == "300.00"
    assert anomaly["drivers"][0] == {"dimension": "resource", "value": "i-runaway", "excess": "300.00"}
    assert any("service Amazon S3" in c for c in report["checked"])
    table = run_cli("anomalies", "--home", str(tmp_path / "home"), check=True).stdout
    assert "i-runaway" in table and "Amazon EC2" in table


def test_a_weekday_rhythm_alone_is_not_an_anomaly(tmp_path: Path) -> None:
    rows = []
    day = FIRST
    while day <= LAST:
        rows.append(_row(0, day, "ml", "30" if day.weekday() >= 5 else "100") | {"ResourceId": "i-1"})
        day += timedelta(days=1)
    ingest_file(write_csv(tmp_path / "focus.csv", rows), tmp_path / "home" / "lake")
    report = json.loads(run_cli("anomalies", "--json", "--home", str(tmp_path / "home"), check=True).stdout)
    assert report["anomalies"] == []


def test_an_empty_lake_exits_4_naming_ingest(tmp_path: Path) -> None:
    proc = run_cli("anomalies", "--home", str(tmp_path / "home"))
    assert proc.returncode == 4 and "spendpilot ingest" in proc.stderr

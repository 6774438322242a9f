"""Hourly anomalies from the per-request table: ingested GenAI spans, the real command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import run_cli
from tests.outlook.spans import write_export

SMALL_TRAFFIC = {"SPENDPILOT_ANOMALIES__MIN_EXCESS": "0.05"}
"""A few cents an hour: the default $1/hour floor would (rightly) ignore this test traffic."""
END = datetime(2026, 11, 4, 11, tzinfo=UTC)  # a Wednesday, 11:00: the spike ran 09:00-10:59


def _ingest(tmp_path: Path, **spike: object) -> Path:
    home = tmp_path / "home"
    export = tmp_path / "spans.json"
    write_export(export, end=END, weeks=5, models=["gpt-4.1-mini", "gpt-4.1"], feature="support-bot", **spike)
    run_cli("ingest", str(export), "--home", str(home), check=True)
    return home


def test_a_two_hour_spike_in_one_model_is_an_ongoing_anomaly_naming_the_model(tmp_path: Path) -> None:
    home = _ingest(tmp_path, spike_model="gpt-4.1", spike_hours=2, spike_factor=4)
    default = json.loads(run_cli("anomalies", "--json", "--home", str(home), check=True).stdout)
    assert default["anomalies"] == [], "under the default min_excess ($1/hour) a $0.12 excess is not worth a page"
    proc = run_cli("anomalies", "--json", "--home", str(home), env=SMALL_TRAFFIC, check=True)
    report = json.loads(proc.stdout)
    hourly = [a for a in report["anomalies"] if a["source"] == "llm_requests"]
    assert len(hourly) == 1, report
    [a] = hourly
    assert (a["dimension"], a["value"]) == ("feature", "support-bot")
    assert datetime.fromisoformat(a["start"]) == END - timedelta(hours=2), "flagged from the spike's first hour"
    assert a["ongoing"] is True
    assert a["drivers"][0] == {**a["drivers"][0], "dimension": "model", "value": "gpt-4.1"}
    assert float(a["excess"]) > 0 and float(a["observed"]) > 2 * float(a["expected"])


def test_the_same_traffic_without_a_spike_has_no_anomaly(tmp_path: Path) -> None:
    home = _ingest(tmp_path)
    report = json.loads(run_cli("anomalies", "--json", "--home", str(home), env=SMALL_TRAFFIC, check=True).stdout)
    assert [a for a in report["anomalies"] if a["source"] == "llm_requests"] == []
    assert any("feature support-bot" in c for c in report["checked"])

"""`spendpilot ingest` on OTLP JSON trace exports: recognised by content, summarised, configured."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import DATA

from .conftest import run_spendpilot


def test_ingest_recognises_an_otlp_export_by_content_and_prints_per_feature_totals(tmp_path: Path) -> None:
    export = tmp_path / "collector-output.log"  # the file exporter's path is whatever the user set
    shutil.copy(DATA / "otlp" / "semconv.json", export)
    config = tmp_path / "spendpilot.toml"
    config.write_text('[otel]\nfeature_attributes = ["gen_ai.provider.name"]\n')

    proc = run_spendpilot("ingest", str(export), "--home", str(tmp_path / "home"), "--config", str(config))

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == (f"{export}: OTLP JSON traces · spans read 6 · GenAI requests stored 4 · "
                        "skipped 2 · quarantined 0")
    assert lines[-1] == ("    per feature: anthropic 2 requests, 7,100 in (5,000 cached), 700 out; "
                         "openai 2 requests, 2,100 in (1,024 cached), 230 out")


def test_a_misspelt_otel_setting_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "spendpilot.toml"
    config.write_text('[otel]\nfeature_attribute = ["x"]\n')
    proc = run_spendpilot("ingest", str(DATA / "otlp" / "semconv.json"), "--home", str(tmp_path / "home"),
                          "--config", str(config))
    assert proc.returncode == 2
    assert "unknown key 'feature_attribute' in [otel] — did you mean feature_attributes?" in proc.stderr
    assert not (tmp_path / "home").exists()


def test_a_folder_of_trace_files_and_focus_files_ingests_both(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(DATA / "otlp" / "openinference.json", folder / "traces-1.json")
    shutil.copy(DATA / "otlp" / "openllmetry.jsonl", folder / "traces-2")
    shutil.copy(DATA / "focus" / "planted_bad_rows.csv", folder / "bill.csv")

    proc = run_spendpilot("ingest", str(folder), "--home", str(tmp_path / "home"))

    assert proc.returncode == 0, proc.stderr
    headlines = [line for line in proc.stdout.splitlines() if not line.startswith(" ")]
    assert [line.split(":")[0] for line in headlines] == [
        str(folder / "traces-1.json"), str(folder / "traces-2"), str(folder / "bill.csv")]
    assert "stored 4" in headlines[0] and "stored 4" in headlines[1]

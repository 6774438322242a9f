"""`spendpilot ingest` as a user (or a script piping it) sees it: summary, examples, errors."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from spendpilot.lake import ingest_file

from .conftest import lake_files, rewrite_csv, run_spendpilot


def test_summary_shows_restatement_examples_and_how_to_read_the_quarantine(
    focus_sample: Path, tmp_path: Path
):
    home = tmp_path / "home"
    assert run_spendpilot("ingest", str(focus_sample), "--home", str(home)).returncode == 0

    def restate_with_bad_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        for row in rows[:7]:
            row["BillingCurrency"] = "usd"
        return rows

    restated = rewrite_csv(focus_sample, tmp_path / "restated.csv", restate_with_bad_rows)
    proc = run_spendpilot("ingest", str(restated), "--home", str(home))

    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == f"{restated}: read 1,000 · stored 993 · quarantined 7 · format FOCUS"
    assert "replaced 1,000 previously stored rows" in out[1]
    reason = "not an ISO 4217 currency code (three capital letters, e.g. USD)"
    assert f"7 × BillingCurrency: {reason}" in proc.stdout
    examples = [line.strip() for line in out[1:] if line.strip().startswith(f"{restated}:")]
    # Each example names the row, the field and the value written there.
    assert examples == [f"{restated}:{row} BillingCurrency: 'usd' is {reason}" for row in range(1, 6)]
    quarantine = next(home.glob("lake/quarantine/restated-*.parquet")).resolve()
    assert any(str(quarantine) in line for line in out)
    command = next(line for line in out if "read them with:" in line).split("read them with:")[1]
    shown = subprocess.run(shlex.split(command), capture_output=True, text=True, check=True)
    assert "BillingCurrency" in shown.stdout and "7 rows" in shown.stdout


def test_a_stray_quote_is_one_quarantined_line_not_a_failed_file(focus_sample: Path,
                                                                 tmp_path: Path):
    lines = focus_sample.read_text(encoding="utf-8").split("\n")
    lines[5] = lines[5].replace('"USD"', '"USD', 1)
    broken = tmp_path / "stray_quote.csv"
    broken.write_text("\n".join(lines), encoding="utf-8")

    proc = run_spendpilot("ingest", str(broken), "--home", str(tmp_path / "home"))

    assert proc.returncode == 0, proc.stderr
    assert f"{broken}: read 1,000 · stored 999 · quarantined 1" in proc.stdout
    assert f"{broken}:5 BillingCurrency: unparseable CSV line" in proc.stdout


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.txt", "anything", "unsupported file type (expected .csv, .csv.gz or .parquet)"),
        ("invoice.csv", "date,amount\n2024-01-01,12.50\n", "not a FOCUS file: missing mandatory"),
    ],
)
def test_refusals_are_one_line_exit_2_and_create_no_home(tmp_path: Path, name: str,
                                                         content: str, message: str):
    path = tmp_path / name
    path.write_text(content)
    home = tmp_path / "home"

    proc = run_spendpilot("ingest", str(path), "--home", str(home))

    assert proc.returncode == 2
    [line] = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert line.startswith(f"error: {path}: ") and message in line
    assert ".jsonl" not in line
    assert not home.exists()


def test_an_interrupted_ingest_into_a_new_lake_leaves_no_folders(planted: Path, tmp_path: Path):
    lake_dir = tmp_path / "home" / "lake"

    def interrupt(rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_file(planted, lake_dir, progress=interrupt)
    assert lake_files(tmp_path / "home") == []
    assert not (tmp_path / "home").exists()

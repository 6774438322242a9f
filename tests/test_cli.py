"""The command as a user runs it: exit codes, messages, nothing written on bad input."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FOCUS_SAMPLE, run_cli


def test_ingest_real_focus_sample_accounts_for_every_row(tmp_path: Path) -> None:
    proc = run_cli("ingest", str(FOCUS_SAMPLE), "--home", str(tmp_path), check=True)
    line = next(ln for ln in proc.stdout.splitlines() if "read" in ln)
    counts = dict(part.strip().split(" ", 1) for part in line.split(":", 1)[1].split("·"))
    assert counts["read"] == "1,000"
    stored, quarantined = (int(counts[k].replace(",", "")) for k in ("stored", "quarantined"))
    assert stored + quarantined == 1000


def test_not_focus_is_refused_with_exit_2_and_nothing_written(tmp_path: Path) -> None:
    bad = tmp_path / "invoice.csv"
    bad.write_text("date,amount,customer\n2024-01-01,12.50,acme\n")
    home = tmp_path / "home"
    proc = run_cli("ingest", str(bad), "--home", str(home))
    assert proc.returncode == 2
    assert "invoice.csv" in proc.stderr and "BilledCost" in proc.stderr
    lake = home / "lake"
    assert not lake.exists() or not any(p.is_file() for p in lake.rglob("*"))


def test_missing_file_and_unknown_proposal_have_meaningful_exit_codes(tmp_path: Path) -> None:
    assert run_cli("ingest", str(tmp_path / "nope.csv"), "--home", str(tmp_path)).returncode == 2
    proc = run_cli("approve", "sp-00000000", "--by", "x", "--home", str(tmp_path))
    assert proc.returncode == 4 and "no proposal" in proc.stderr


def test_sweep_with_nothing_configured_exits_zero(tmp_path: Path) -> None:
    proc = run_cli("sweep", "--home", str(tmp_path), env={"SPENDPILOT_AWS__ENABLED": "false"})
    assert proc.returncode == 0, proc.stderr
    assert "0 finding(s)" in proc.stdout


def test_headless_demo_runs_the_whole_loop(tmp_path: Path) -> None:
    proc = run_cli("demo", "--headless", "--home", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for name in ("train-idle-p4d", "notebook-g5-idle", "embedding-batch-workers", "ticket-classifier"):
        assert name in out
    assert "inference-g5-busy" not in out
    assert "Pending expected savings: $" in out


def test_help_teaches_the_loop() -> None:
    proc = run_cli("--help", check=True)
    for command in ("demo", "ingest", "sweep", "proposals", "approve", "reject", "tui", "daemon"):
        assert command in proc.stdout


def test_demo_refuses_to_wipe_a_folder_it_did_not_create(tmp_path: Path) -> None:
    precious = tmp_path / "work"
    precious.mkdir()
    (precious / "notes.txt").write_text("not the demo's")
    proc = run_cli("demo", "--headless", "--home", str(precious))
    assert proc.returncode == 2 and "not created by `spendpilot demo`" in proc.stderr
    assert (precious / "notes.txt").read_text() == "not the demo's"


def test_checks_lists_every_threshold_with_a_real_default() -> None:
    proc = run_cli("checks", check=True)
    assert "PydanticUndefined" not in proc.stdout
    assert "interruptible_workloads = " in proc.stdout

"""`spendpilot doctor` on real homes: healthy, and broken in each way it must name.

Each home is real: a StateStore with proposals in every stage, a lake with the planted FOCUS
fixture ingested, then damaged through its files. The command runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from tests.conftest import REPO, run_cli
from tests.state.builders import Home, build_home

from spendpilot.domain import utcnow
from spendpilot.lake import ingest_path

PLANTED = REPO / "tests" / "data" / "focus" / "planted_bad_rows.csv"
HEALTHY_EVENTS = 10  # build_home without a pending approval


@pytest.fixture
def healthy(tmp_path: Path) -> Home:
    home = build_home(tmp_path / "home", approver=None)
    ingest_path(PLANTED, home.path / "lake")
    return home


def _doctor(home: Home) -> tuple[int, dict, str]:
    proc = run_cli("doctor", "--json", env=home.env())
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def _check(report: dict, name: str) -> dict:
    return next(c for c in report["checks"] if c["name"] == name)


def test_a_healthy_home_passes_every_check(healthy: Home) -> None:
    code, report, _ = _doctor(healthy)
    assert code == 0, report
    assert report["healthy"] is True and report["failed"] == []
    assert [c["name"] for c in report["checks"]] == [
        "state_db", "audit_chain", "decisions", "pending_executions", "approved_not_executed", "lake_staging", "lake",
    ]
    assert all(c["status"] == "ok" for c in report["checks"]), report
    assert _check(report, "audit_chain")["summary"].startswith(f"audit chain intact: {HEALTHY_EVENTS} events")
    assert _check(report, "lake")["summary"].startswith("6 billing rows")  # 11 planted, 5 quarantined

    table = run_cli("doctor", env=healthy.env())
    assert table.returncode == 0 and "healthy" in table.stdout
    for name in ("state_db", "audit_chain", "lake_staging"):
        assert name in table.stdout


def test_a_broken_chain_is_named_with_its_first_bad_event(healthy: Home) -> None:
    healthy.sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")  # who proposed it
    code, report, stderr = _doctor(healthy)
    assert code == 1 and report["failed"] == ["audit_chain"]
    assert "unhealthy: audit_chain" in stderr
    assert _check(report, "audit_chain")["summary"].startswith("audit chain BROKEN at event 3: hash mismatch")


def test_a_truncated_chain_is_caught_by_the_head_anchor(healthy: Home) -> None:
    healthy.sql("DELETE FROM audit_log WHERE seq > 7")
    code, report, _ = _doctor(healthy)
    # The cut took carol's rejection with it, so her decision is no longer backed either.
    assert code == 1 and report["failed"] == ["audit_chain", "decisions"]
    assert f"{HEALTHY_EVENTS} events expected from the head anchor, 7 found" in _check(report, "audit_chain")["summary"]
    assert "by 'carol'" in _check(report, "decisions")["details"][0]


def _staging_folder(home: Home, age_seconds: float) -> Path:
    folder = home.path / "lake" / ".staging" / "0123456789abcdef0123456789abcdef"
    folder.mkdir(parents=True)
    staged = folder / "fedcba9876543210.parquet"
    staged.write_bytes(b"PAR1 half-written by a killed ingest")
    then = time.time() - age_seconds
    for path in (staged, folder):
        os.utime(path, (then, then))
    return folder


def test_an_orphaned_staging_folder_fails_and_a_live_one_only_warns(healthy: Home) -> None:
    folder = _staging_folder(healthy, age_seconds=2 * 3600)
    code, report, stderr = _doctor(healthy)
    assert code == 1 and report["failed"] == ["lake_staging"] and "unhealthy: lake_staging" in stderr
    staging = _check(report, "lake_staging")
    assert "1 orphaned staging folders" in staging["summary"] and str(folder) in staging["summary"]
    assert any(str(folder) in d and "orphaned" in d for d in staging["details"])
    assert _check(report, "lake")["status"] == "ok", "staged files are invisible to queries"

    os.utime(folder / "fedcba9876543210.parquet")  # an ingest still writing it
    code, report, _ = _doctor(healthy)
    assert code == 0 and _check(report, "lake_staging")["status"] == "warn"


def test_an_interrupted_execution_shows_its_owner_and_what_resume_would_do(tmp_path: Path) -> None:
    home = build_home(tmp_path / "home")  # bob's approval is recorded, not executed
    p = home.proposals["approved"]
    home.store.claim_execution(
        f"{p.id}:{p.plan_hash}", p.id, "executor", owner="some-host:4242:deadbeef", lease_until=utcnow(),
    )
    code, report, _ = _doctor(home)
    assert code == 1 and report["failed"] == ["pending_executions", "approved_not_executed"]
    pending = _check(report, "pending_executions")
    assert "1 of 1 unfinished executions have no live holder" in pending["summary"]
    assert f"{p.id} (approved): ledger started, owner some-host:4242:deadbeef" in pending["details"][0]
    assert "holder stopped" in pending["details"][0]
    assert _check(report, "approved_not_executed")["details"][0].startswith(f"{p.id}: stop_instance")


def test_a_forged_decision_fails_the_decisions_check(healthy: Home) -> None:
    p = healthy.proposals["pending"]
    healthy.sql(
        "INSERT INTO decisions (proposal_id, plan_hash, decision, by, reason, at) VALUES (?, ?, 'approve', 'mallory', '', ?)",
        p.id, p.plan_hash, "2030-01-01 00:00:00.000000",
    )
    code, report, _ = _doctor(healthy)
    assert code == 1 and report["failed"] == ["decisions"]
    assert "by 'mallory'" in _check(report, "decisions")["details"][0]


def test_an_out_of_date_schema_is_named(healthy: Home) -> None:
    healthy.sql("ALTER TABLE executions DROP COLUMN lease_until")
    code, report, _ = _doctor(healthy)
    assert code == 1 and "state_db" in report["failed"]
    assert "table executions lacks columns lease_until" in _check(report, "state_db")["summary"]


def test_an_unreadable_state_database_fails_and_skips_what_depends_on_it(healthy: Home) -> None:
    healthy.db_path.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{healthy.db_path}{suffix}").unlink(missing_ok=True)
    code, report, _ = _doctor(healthy)
    assert code == 1 and report["failed"] == ["state_db"]
    assert "cannot be opened" in _check(report, "state_db")["summary"]
    assert _check(report, "audit_chain")["status"] == "skipped"
    assert _check(report, "lake")["status"] == "ok"


def test_an_unreadable_lake_file_fails_the_lake_check(healthy: Home) -> None:
    stored = next((healthy.path / "lake" / "focus").rglob("*.parquet"))
    stored.write_bytes(b"PAR1 garbage")
    code, report, _ = _doctor(healthy)
    assert code == 1 and report["failed"] == ["lake"]
    assert "cannot be read" in _check(report, "lake")["summary"]


def test_a_missing_home_is_bad_input(tmp_path: Path) -> None:
    proc = run_cli("doctor", "--home", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr

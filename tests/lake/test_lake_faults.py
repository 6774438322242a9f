"""Faults around ingest: staging left by a killed ingest, a live concurrent ingest, a full disk.

Real processes killed with ``os._exit`` (no cleanup runs), a real small tmpfs where the machine
lets us mount one, and a real file size limit (``RLIMIT_FSIZE``) everywhere else.
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from spendpilot.errors import ExitCode, IngestError
from spendpilot.lake import CostLake, StorageFullError, health, ingest_file

from .conftest import lake_files, run_spendpilot
from .focus_rows import focus_row, write_csv

_DIE_WHILE_STAGING = """
import os, sys
from pathlib import Path
from spendpilot.lake import ingest_file

def die(rows):
    os._exit(17)  # as if killed: no finally, no cleanup

ingest_file(Path(sys.argv[1]), Path(sys.argv[2]), progress=die)
"""

_WAIT_WHILE_STAGING = """
import sys
from pathlib import Path
from spendpilot.lake import ingest_file

def wait(rows):
    print("staged", flush=True)
    sys.stdin.readline()  # the test lets us go on

report = ingest_file(Path(sys.argv[1]), Path(sys.argv[2]), progress=wait)
print("stored", report.rows_stored, flush=True)
"""


def staging_folders(lake_dir: Path) -> list[Path]:
    staging = lake_dir / ".staging"
    return sorted(p for p in staging.iterdir() if p.is_dir()) if staging.is_dir() else []


def test_staging_of_a_killed_ingest_is_reported_then_cleaned_but_a_live_ones_is_kept(
    tmp_path: Path, lake_dir: Path
):
    ingest_file(write_csv(tmp_path / "base.csv", [focus_row(i) for i in range(3)]), lake_dir)
    live = subprocess.Popen(  # an ingest that is staging right now, in another process
        [sys.executable, "-c", _WAIT_WHILE_STAGING,
         str(write_csv(tmp_path / "live.csv", [focus_row(i, BillingAccountId="acct-3")
                                               for i in range(2)])), str(lake_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert live.stdout is not None and live.stdin is not None
        assert live.stdout.readline().strip() == "staged"
        [live_folder] = staging_folders(lake_dir)

        killed = write_csv(tmp_path / "killed.csv", [focus_row(i, BillingAccountId="acct-2")
                                                     for i in range(3)])
        child = subprocess.run(
            [sys.executable, "-c", _DIE_WHILE_STAGING, str(killed), str(lake_dir)],
            capture_output=True, text=True, timeout=120,
        )
        assert child.returncode == 17, child.stderr
        [orphan] = [p for p in staging_folders(lake_dir) if p != live_folder]
        assert any(orphan.iterdir())  # it had written staged Parquet

        report = health(lake_dir)  # a held folder is not an orphan
        assert (report.readable, report.rows, report.orphaned_staging) == (True, 3, [orphan])

        ingest_file(write_csv(tmp_path / "next.csv", [focus_row(i, BillingAccountId="acct-4")
                                                      for i in range(4)]), lake_dir)

        assert not orphan.exists()  # the next ingest deleted the dead run's folder
        assert live_folder.is_dir() and any(live_folder.iterdir())  # and left the live one alone
        live.stdin.write("\n")
        live.stdin.flush()
        out, err = live.communicate(timeout=120)
    finally:
        if live.poll() is None:
            live.kill()
    assert live.returncode == 0, err
    assert "stored 2" in out
    assert CostLake(lake_dir).row_count() == 3 + 4 + 2
    after = health(lake_dir)
    assert (after.orphaned_staging, after.interrupted_commits, after.errors) == ([], [], [])
    assert staging_folders(lake_dir) == []


def test_health_of_a_missing_and_of_a_damaged_lake(tmp_path: Path, lake_dir: Path):
    assert health(lake_dir).exists is False
    report = ingest_file(write_csv(tmp_path / "a.csv", [focus_row(0), focus_row(1, BilledCost="x")]),
                         lake_dir)
    ok = health(lake_dir)
    assert (ok.readable, ok.rows, ok.quarantined) == (True, 1, 1)
    stored = next((lake_dir / "focus").rglob("*.parquet"))
    stored.write_bytes(b"PAR1 torn write")
    broken = health(lake_dir)
    assert not broken.readable
    assert [str(stored) in e for e in broken.errors] == [True]
    assert report.quarantine_file is not None


# --- a full disk ------------------------------------------------------------------------------------


def incompressible_rows(n: int) -> list[dict[str, str]]:
    """Rows whose ids are random, so their Parquet cannot be compressed below ~1 MB."""
    return [focus_row(i, ResourceId=secrets.token_hex(64)) for i in range(n)]


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 1 MiB filesystem (tmpfs); skipped where this machine does not allow mounting."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_stores_nothing_frees_its_space_and_says_so(small_disk: Path, tmp_path: Path):
    big = write_csv(tmp_path / "big.csv", incompressible_rows(30_000))
    home = small_disk / "home"
    used_before = shutil.disk_usage(small_disk).used

    proc = run_spendpilot("ingest", str(big), "--home", str(home))

    assert proc.returncode == ExitCode.FAILURE, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"error: no space left on device while writing {home / 'lake'}; "
                     "nothing was stored (free some space and ingest again)"]
    assert lake_files(home / "lake") == []
    assert shutil.disk_usage(small_disk).used <= used_before + 64 * 1024  # folders only

    small = write_csv(tmp_path / "small.csv", [focus_row(i) for i in range(5)])
    again = run_spendpilot("ingest", str(small), "--home", str(home))
    assert again.returncode == 0, again.stderr
    assert CostLake(home / "lake").row_count() == 5
    assert CostLake(home / "lake").top_spend(days=60)

    with pytest.raises(StorageFullError) as caught:  # the library says the same
        ingest_file(big, home / "lake")
    assert isinstance(caught.value, IngestError) and caught.value.exit_code == ExitCode.FAILURE
    assert CostLake(home / "lake").row_count() == 5
    assert health(home / "lake").orphaned_staging == []


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def test_a_file_size_limit_stores_nothing_and_says_so(tmp_path: Path):
    """The same failure through another real seam, available without root: RLIMIT_FSIZE."""
    big = write_csv(tmp_path / "big.csv", incompressible_rows(8_000))
    home = tmp_path / "home"
    proc = subprocess.run(
        [sys.executable, "-m", "spendpilot.cli", "ingest", str(big), "--home", str(home)],
        capture_output=True, text=True, timeout=180, preexec_fn=_limit_file_size,  # noqa: PLW1509
        env={**os.environ, "COLUMNS": "80"},
    )
    assert proc.returncode == ExitCode.FAILURE, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: file size limit exceeded while writing {home / 'lake'}; nothing was stored "
        "(free some space and ingest again)"
    ]
    assert lake_files(home / "lake") == []
    assert run_spendpilot("ingest", str(big), "--home", str(home)).returncode == 0
    assert CostLake(home / "lake").row_count() == 8_000

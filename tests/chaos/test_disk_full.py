"""A full disk under the home: a small tmpfs filled up to the last few KiB (when this machine
lets us mount one, as root in a container usually can), and a file size limit (RLIMIT_FSIZE)
everywhere. Ingest, approve and sweep must fail with one line, leave every store readable, and
finish once space is back."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from spendpilot.domain import ProposalStatus

from .conftest import Lab, Org
from .forkserver import Result
from .invariants import changes_once, converged, healthy, readable, resume_until_quiet, user_visible
from .test_kill_ingest import Ingests, _ingests, lake_rows, reported

pytestmark = pytest.mark.chaos

TMPFS_BYTES = 8 * 1024 * 1024


def _can_mount(where: Path) -> str | None:
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    where.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"this machine does not allow a tmpfs mount ({probe.stderr.strip()})"
    subprocess.run(["umount", str(where)], check=True)
    return None


@contextlib.contextmanager
def small_disk(where: Path) -> Iterator[Path]:
    if why := _can_mount(where):
        pytest.skip(why)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` until only ``leave`` bytes are free; returns the filler to delete later."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as handle:
        handle.truncate(0)
        chunk = b"\0" * (1 << 20)
        todo = max(free - leave, 0)
        while todo > 0:
            written = handle.write(chunk[: min(len(chunk), todo)])
            todo -= written
    return filler


def _on_disk(org: Org, disk: Path) -> Org:
    home = disk / "home"
    shutil.copytree(org.home, home)
    return Org(org.demo, org.lab, home, org.proposals)


@pytest.mark.parametrize("leave", [0, 16 * 1024, 96 * 1024])
@pytest.mark.parametrize("kind", ["spot", "route"])
def test_approve_on_a_full_disk(lab: Lab, tmp_path: Path, kind: str, leave: int) -> None:
    with small_disk(tmp_path / "disk") as disk:
        org = _on_disk(lab.cheap(), disk)
        base, landed = org.world(), lab.proxy.landed()
        filler = fill(disk, leave)
        r = org.run("approve", org.pid(kind), "--by", "alice")
        user_visible([r], crash_ok=False)
        changes_once(org, kind, base, landed)
        filler.unlink()
        readable(org)
        resume_until_quiet(org)
        if org.status(org.pid(kind)) is ProposalStatus.PENDING:
            again = org.run("approve", org.pid(kind), "--by", "alice")
            user_visible([again], crash_ok=False)
        assert converged(org, kind, base) is ProposalStatus.EXECUTED
        changes_once(org, kind, base, landed)
        healthy(org)


@pytest.mark.parametrize("fsize", [8 * 1024, 64 * 1024])
@pytest.mark.parametrize("kind", ["spot", "route"])
def test_approve_under_a_file_size_limit(lab: Lab, kind: str, fsize: int) -> None:
    org = lab.cheap()
    base, landed = org.world(), lab.proxy.landed()
    r = org.run("approve", org.pid(kind), "--by", "alice", fsize=fsize)
    user_visible([r], crash_ok=False)
    changes_once(org, kind, base, landed)
    readable(org)
    resume_until_quiet(org)
    if org.status(org.pid(kind)) is ProposalStatus.PENDING:
        user_visible([org.run("approve", org.pid(kind), "--by", "alice")], crash_ok=False)
    assert converged(org, kind, base) is ProposalStatus.EXECUTED
    changes_once(org, kind, base, landed)
    healthy(org)


def _all_or_nothing(r: Result, home: Path, before: int, ingests: Ingests) -> None:
    """Enough room after all (exit 0, everything accounted for), or one line and nothing stored."""
    if r.returncode == 0:
        assert reported(r) == ingests.expected[:3] and lake_rows(home, ingests.delivery.kind) == ingests.expected[3]
        return
    assert r.returncode == 1 and "nothing was stored" in r.stderr, str(r)
    assert lake_rows(home, ingests.delivery.kind) == before


@pytest.mark.parametrize("leave", [0, 32 * 1024])
@pytest.mark.parametrize("name", ["focus-restate", "llm-fresh"])
def test_ingest_on_a_full_disk(lab: Lab, tmp_path: Path, name: str, leave: int) -> None:
    ingests = _ingests(lab, name)
    with small_disk(tmp_path / "disk") as disk:
        src, before = ingests.home()
        home = disk / "home"
        shutil.copytree(src, home)
        filler = fill(disk, leave)
        r = lab.fs.run(*ingests.delivery.argv(), env=ingests.env(home))
        user_visible([r], crash_ok=False)
        filler.unlink()
        _all_or_nothing(r, home, before, ingests)
        again = lab.fs.run(*ingests.delivery.argv(), env=ingests.env(home))
        assert again.returncode == 0 and reported(again) == ingests.expected[:3], str(again)
        assert lake_rows(home, ingests.delivery.kind) == ingests.expected[3]


@pytest.mark.parametrize("fsize", [4 * 1024, 32 * 1024])
@pytest.mark.parametrize("name", ["focus-fresh", "llm-restate"])
def test_ingest_under_a_file_size_limit(lab: Lab, name: str, fsize: int) -> None:
    ingests = _ingests(lab, name)
    home, before = ingests.home()
    r = lab.fs.run(*ingests.delivery.argv(), env=ingests.env(home), fsize=fsize)
    user_visible([r], crash_ok=False)
    _all_or_nothing(r, home, before, ingests)
    again = lab.fs.run(*ingests.delivery.argv(), env=ingests.env(home))
    assert again.returncode == 0 and reported(again) == ingests.expected[:3], str(again)

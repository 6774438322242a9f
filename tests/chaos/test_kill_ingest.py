"""kill -9 during ingest: at every lake failpoint, and at seeded random moments of a large ingest.

After each kill, whatever reads the lake sees either the lake as it was before the ingest or
with the whole delivery in it, never part of it (a reader finishes a commit whose journal is
on disk). Running the same ingest again stores every row or quarantines it with a reason
(read == stored + quarantined), and the lake ends exactly as a clean ingest leaves it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.lake.focus_rows import USAGE_HEADER, focus_row, usage_row, write_csv

from spendpilot._failpoints import CRASH_EXIT_CODE
from spendpilot.lake import CostLake, health, read_llm_usage

from .conftest import Lab, doctor
from .forkserver import Result
from .invariants import user_visible

pytestmark = pytest.mark.chaos

_LINE = re.compile(r"read ([\d,]+) · stored ([\d,]+) · quarantined ([\d,]+)")


def _focus_rows(n: int, cost: str, bad_every: int = 17) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        period = ("2024-08", "2024-09")[i % 2]
        nxt = {"2024-08": "2024-09", "2024-09": "2024-10"}[period]
        row = focus_row(
            i, ProviderName=("AWS", "Google Cloud")[(i // 2) % 2], BilledCost=cost,
            BillingPeriodStart=f"{period}-01 00:00:00", BillingPeriodEnd=f"{nxt}-01 00:00:00",
            ChargePeriodStart=f"{period}-{1 + i % 28:02d} 00:00:00", ChargePeriodEnd=f"{period}-{1 + i % 28:02d} 01:00:00",
        )
        if bad_every and i % bad_every == 5:
            row["BilledCost"] = "twelve dollars"  # quarantined, with a reason
        rows.append(row)
    return rows


def _usage_rows(n: int, cost: str) -> list[dict[str, str]]:
    rows = [usage_row(i, feature=("support-bot", "search")[i % 2], cost=cost) for i in range(n)]
    for i in range(3, n, 19):
        rows[i]["input_tokens"] = "-5"
    return rows


@dataclass(frozen=True)
class Delivery:
    """An ingest to kill: what the lake holds first (``before``), then the ingest itself."""

    kind: str  # focus | llm
    before: Path | None
    path: Path

    def argv(self, path: Path | None = None) -> list[str]:
        return ["ingest", str(path or self.path), *(["--llm-usage"] if self.kind == "llm" else [])]


def lake_rows(home: Path, kind: str) -> int:
    lake = home / "lake"
    if kind == "llm":
        return len(read_llm_usage(lake))
    return CostLake(lake).row_count()


def reported(result: Result) -> tuple[int, int, int]:
    found = _LINE.findall(result.stdout)
    assert found, f"no ingest report:\n{result}"
    read, stored, quarantined = (sum(int(x[i].replace(",", "")) for x in found) for i in range(3))
    assert read == stored + quarantined, f"rows unaccounted for:\n{result}"
    return read, stored, quarantined


@functools.cache
def _deliveries(root: Path) -> dict[str, Delivery]:
    root.mkdir(parents=True, exist_ok=True)
    folder = root / "folder"
    folder.mkdir()
    write_csv(folder / "a.csv", _focus_rows(400, "2.00"))
    write_csv(folder / "b.csv", [r | {"BillingAccountId": "acct-2"} for r in _focus_rows(300, "3.00")])
    return {
        "focus-fresh": Delivery("focus", None, write_csv(root / "new.csv", _focus_rows(900, "1.50"))),
        "focus-restate": Delivery("focus", write_csv(root / "old.csv", _focus_rows(500, "1.00", bad_every=0)),
                                  root / "new.csv"),
        "focus-folder": Delivery("focus", write_csv(root / "old2.csv", _focus_rows(200, "1.00")), folder),
        "llm-fresh": Delivery("llm", None, write_csv(root / "usage.csv", _usage_rows(300, "0.25"), USAGE_HEADER)),
        "llm-restate": Delivery("llm", write_csv(root / "usage-old.csv", _usage_rows(120, "0.10"), USAGE_HEADER),
                                root / "usage.csv"),
    }


class Ingests:
    """Fresh homes for one delivery, and what a clean run of it leaves (the oracle)."""

    def __init__(self, lab: Lab, name: str) -> None:
        self.lab = lab
        self.delivery = _deliveries(lab.root / "deliveries")[name]
        self.expected = self._clean()

    def env(self, home: Path, failpoints: str | None = None) -> dict[str, str]:
        env = {"SPENDPILOT_HOME": str(home), "SPENDPILOT_CONFIG": os.devnull}
        return env | ({"SPENDPILOT_FAILPOINTS": failpoints} if failpoints else {})

    def home(self) -> tuple[Path, int]:
        """A home holding ``before`` (if any), and how many rows its lake shows."""
        home = self.lab.lake_home()
        d = self.delivery
        if d.before is not None:
            r = self.lab.fs.run(*d.argv(d.before), env=self.env(home))
            assert r.returncode == 0, str(r)
        return home, lake_rows(home, d.kind)

    def _clean(self) -> tuple[int, int, int, int]:
        home, _ = self.home()
        r = self.lab.fs.run(*self.delivery.argv(), env=self.env(home))
        assert r.returncode == 0, str(r)
        return (*reported(r), lake_rows(home, self.delivery.kind))

    def check_after_kill(self, home: Path, before_rows: int, killed: Result) -> None:
        user_visible([killed])
        d = self.delivery
        report = doctor(self.env(home), self.lab)
        checks = {c["name"]: c for c in report["checks"]}
        assert checks["lake"]["status"] in ("ok", "warn", "skipped"), report
        seen = lake_rows(home, d.kind)
        assert seen in (before_rows, self.expected[3]), (
            f"half an ingest is visible: {seen} rows, expected {before_rows} (before) or {self.expected[3]} (after)"
        )
        again = self.lab.fs.run(*d.argv(), env=self.env(home))
        user_visible([again], crash_ok=False)
        assert again.returncode == 0, str(again)
        assert reported(again) == self.expected[:3]
        assert lake_rows(home, d.kind) == self.expected[3]
        lake = health(home / "lake")
        assert not lake.errors, lake
        final = doctor(self.env(home), self.lab)
        assert final["healthy"], final


@functools.cache
def _ingests(lab: Lab, name: str) -> Ingests:
    return Ingests(lab, name)


LAKE_POINTS = ["lake_stage_write@1", "lake_stage_write@2", "lake_before_journal", "lake_journal_written",
               "lake_after_journal", "lake_apply_step@1", "lake_apply_step@2", "lake_apply_step@3",
               "lake_after_apply"]
DELIVERIES = ["focus-fresh", "focus-restate", "focus-folder", "llm-fresh", "llm-restate"]
UNREACHED = {("llm-fresh", "lake_stage_write@2"), ("llm-fresh", "lake_apply_step@3"),
             ("llm-restate", "lake_stage_write@2")}
"""LLM usage is staged in one write, and a fresh one commits in two steps (rows, quarantine)."""


@pytest.mark.parametrize(("name", "point"), [(n, p) for n in DELIVERIES for p in LAKE_POINTS if (n, p) not in UNREACHED])
def test_kill_ingest_at_failpoint(lab: Lab, name: str, point: str) -> None:
    ingests = _ingests(lab, name)
    home, before = ingests.home()
    killed = lab.fs.run(*ingests.delivery.argv(), env=ingests.env(home, point))
    assert killed.returncode == CRASH_EXIT_CODE, f"{point} not reached:\n{killed}"
    ingests.check_after_kill(home, before, killed)


BIG_ROWS = 40_000
RANDOM_KILLS = 16


@functools.cache
def _big(lab: Lab) -> tuple[Ingests, float]:
    """A 40,000-row FOCUS delivery restating a smaller one, and how long its clean ingest takes."""
    root = lab.root / "big"
    root.mkdir()
    deliveries = _deliveries(lab.root / "deliveries")
    big = Delivery("focus", deliveries["focus-restate"].before, write_csv(root / "big.csv", _focus_rows(BIG_ROWS, "1.25")))
    ingests = Ingests.__new__(Ingests)
    ingests.lab, ingests.delivery = lab, big
    started = time.monotonic()
    ingests.expected = ingests._clean()
    return ingests, time.monotonic() - started


@pytest.mark.parametrize("seed", range(RANDOM_KILLS))
def test_sigkill_ingest_at_a_random_moment(lab: Lab, seed: int) -> None:
    ingests, clean_seconds = _big(lab)
    delay = random.Random(seed).uniform(0.0, clean_seconds * 1.1)
    home, before = ingests.home()
    child = lab.fs.spawn(*ingests.delivery.argv(), env=ingests.env(home))
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):  # it finished first: the invariants hold all the same
        os.kill(child.pid, signal.SIGKILL)
    killed = lab.fs.wait(child)
    assert killed.returncode in (0, -signal.SIGKILL), str(killed)
    ingests.check_after_kill(home, before, killed)

"""Fixtures for the cost lake: the real FOCUS sample, hand-made fixtures, a fresh lake per test."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from tests.conftest import DATA, FOCUS_SAMPLE

FIXTURES = DATA / "focus"


@pytest.fixture
def focus_sample() -> Path:
    """The FinOps Foundation's 1,000-row FOCUS 1.0 sample, kept in tests/data (see its PROVENANCE.md)."""
    assert FOCUS_SAMPLE.is_file(), f"FOCUS sample missing: expected it at {FOCUS_SAMPLE}"
    return FOCUS_SAMPLE


@pytest.fixture
def planted() -> Path:
    """Eleven FOCUS rows, five of them deliberately bad (see test_ingest for which)."""
    return FIXTURES / "planted_bad_rows.csv"


@pytest.fixture
def not_focus() -> Path:
    return FIXTURES / "not_focus.csv"


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"


def csv_column_sum(path: Path, column: str) -> Decimal:
    """Independent oracle: sum a CSV column with the csv module and Decimal, skipping NULLs."""
    total = Decimal(0)
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row[column] not in ("", "NULL"):
                total += Decimal(row[column])
    return total


def lake_files(lake_dir: Path) -> list[Path]:
    """Every file in the lake (staging included), to prove that nothing was written."""
    return sorted(p for p in lake_dir.rglob("*") if p.is_file()) if lake_dir.exists() else []


def rewrite_csv(source: Path, target: Path, edit: Callable[[list[dict[str, str]]], list[dict[str, str]]]
                ) -> Path:
    """Write ``edit(rows)`` of a CSV to ``target`` with the same header (``NULL`` stays ``NULL``)."""
    with open(source, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = edit(list(reader))
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows)
    return target


def run_spendpilot(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh process, as a user (or a script piping it) runs it."""
    return subprocess.run(
        [sys.executable, "-m", "spendpilot.cli", *args],
        capture_output=True, text=True, timeout=180, env={**os.environ, "COLUMNS": "80"},
    )

"""The lake's part of the standing adversarial suite (issue 6).

Every case in ``cases.ALL_CASES`` goes through the public ingest API into a lake that already
holds rows, and must end one of two ways:

* refused: an ``IngestError`` whose message is one line naming the file (and what is wrong),
  exit code 2, and not one byte of the lake changed;
* accounted for: ``rows_read == rows_stored + rows_quarantined`` with the expected counts, every
  quarantined row numbered within the file and carrying a reason, a broken line's evidence being
  that line's own text.

Either way no other exception escapes (it would reach a user as a traceback), nothing is written
outside the lake, no staging is left behind, and the lake stays queryable: the row count, a
``top_spend`` that still shows the rows that were there, and the LLM usage all answer. A subset
also runs through the real CLI.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.lake.conftest import lake_files, run_spendpilot
from tests.lake.focus_rows import USAGE_HEADER, focus_row, usage_row, write_csv

from spendpilot.errors import ExitCode, IngestError
from spendpilot.lake import (
    CostLake,
    IngestReport,
    ingest_file,
    ingest_llm_usage_file,
    read_llm_usage,
)

from .cases import ALL_CASES, Case, Refused

QUARANTINE_COLUMNS = ("_row", "_reason", "_source_file", "_raw_text")

BASELINE_FOCUS_ROWS = 2
BASELINE_USAGE_ROWS = 1


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake that already holds FOCUS rows and usage, under keys no case restates."""
    root = tmp_path_factory.mktemp("baseline")
    lake = root / "lake"
    ingest_file(write_csv(root / "base.csv", [
        focus_row(i, ProviderName="Baseline", BillingAccountId="baseline-acct")
        for i in range(BASELINE_FOCUS_ROWS)
    ]), lake)
    ingest_llm_usage_file(write_csv(root / "base_usage.csv", [usage_row(0, feature="baseline")],
                                    USAGE_HEADER), lake)
    return lake


def files_under(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def ingest(case: Case, path: Path, lake: Path) -> IngestReport:
    if case.usage:
        return ingest_llm_usage_file(path, lake)
    return ingest_file(path, lake)


def assert_queryable(lake: Path, focus_rows: int, usage_rows: int) -> None:
    costs = CostLake(lake)
    assert costs.row_count() == focus_rows
    spend = costs.top_spend(by="provider", days=36_500, until=datetime(2100, 1, 1, tzinfo=UTC))
    assert "Baseline" in {line.key for line in spend}, "the rows that were there are lost"
    assert len(read_llm_usage(lake)) == usage_rows
    staging = lake / ".staging"
    assert not staging.exists() or not any(staging.iterdir()), "staging left behind"


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_bad_input_is_refused_or_every_row_is_accounted_for(case: Case, baseline: Path,
                                                            tmp_path: Path):
    path = tmp_path / "input" / case.name
    path.parent.mkdir()
    path.write_bytes(case.build())
    lake = tmp_path / "lake"
    shutil.copytree(baseline, lake)
    before = files_under(lake)

    if isinstance(case.expect, Refused):
        with pytest.raises(IngestError) as caught:
            ingest(case, path, lake)
        message = str(caught.value)
        assert "\n" not in message and str(path) in message, message
        for word in case.expect.mentions:
            assert word in message, message
        assert caught.value.exit_code == ExitCode.BAD_INPUT
        assert files_under(lake) == before, "a refused input changed the lake"
        stored = 0
    else:
        report = ingest(case, path, lake)
        expect = case.expect
        assert report.rows_read == report.rows_stored + report.rows_quarantined
        assert (report.rows_read, report.rows_stored) == (expect.read, expect.stored), report.reasons
        assert sum(report.reasons.values()) == report.rows_quarantined
        for word in expect.reasons:
            assert any(word in reason for reason in report.reasons), (word, report.reasons)
        if report.rows_quarantined:
            assert report.quarantine_file is not None
            quarantined = pq.read_table(report.quarantine_file, columns=list(QUARANTINE_COLUMNS))
            assert quarantined.num_rows == report.rows_quarantined
            numbers = quarantined.column("_row").to_pylist()
            assert numbers == sorted(set(numbers)) and numbers[0] >= 1 and numbers[-1] <= expect.read
            assert quarantined.column("_reason").null_count == 0
            assert set(quarantined.column("_source_file").unique().to_pylist()) == {str(path)}
            evidence = quarantined.column("_raw_text").drop_null().to_pylist()
            if path.suffix == ".csv":  # a broken line's evidence is that line's own text
                text = path.read_bytes().decode("utf-8", "replace")
                assert all(line[:200] in text for line in evidence), evidence
        else:
            assert report.quarantine_file is None
        stored = report.rows_stored

    created = {p for p in tmp_path.rglob("*") if p.is_file()} - {path}
    assert all(lake in p.parents for p in created), "something was written outside the lake"
    assert_queryable(
        lake,
        focus_rows=BASELINE_FOCUS_ROWS + (0 if case.usage else stored),
        usage_rows=BASELINE_USAGE_ROWS + (stored if case.usage else 0),
    )


@pytest.mark.parametrize("case", [c for c in ALL_CASES if c.cli], ids=lambda c: c.id)
def test_bad_input_through_the_cli(case: Case, tmp_path: Path):
    path = tmp_path / case.name
    path.write_bytes(case.build())
    home = tmp_path / "home"
    proc = run_spendpilot("ingest", str(path), "--home", str(home),
                          *(["--llm-usage"] if case.usage else []))

    assert "Traceback" not in proc.stdout + proc.stderr
    if isinstance(case.expect, Refused):
        assert proc.returncode == ExitCode.BAD_INPUT
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith(f"error: {path}")
        assert lake_files(home / "lake") == []
    else:
        assert proc.returncode == 0, proc.stderr
        read, stored = case.expect.read, case.expect.stored
        assert f"read {read:,} · stored {stored:,} · quarantined {read - stored:,}" in proc.stdout


# --- restated usage deliveries -------------------------------------------------------------------

A = [usage_row(i) for i in range(4)]
RESTATED_DELIVERIES = {
    "same-export-twice": [A, A],
    "same-rows-plus-one-day": [A, [*A, usage_row(4)]],
    "revised-numbers": [A, [usage_row(i, input_tokens="99", output_tokens="1") for i in range(4)]],
    "overlapping-ranges": [A[:3], A[1:]],
    "another-feature-is-kept": [A, [usage_row(i, feature="summaries") for i in range(2)]],
    "model-moved-within-a-day": [A, [usage_row(0, model="gpt-4.1-mini")]],
    "three-deliveries": [A[:2], A, [*A, usage_row(5)]],
}


def newest_per_key(deliveries: list[list[dict[str, str]]]) -> list[dict[str, str]]:
    """Independent oracle: each (provider, feature, day) keeps the rows of its newest delivery."""
    owner: dict[tuple[str, str, str], int] = {}
    for n, rows in enumerate(deliveries):
        for row in rows:
            owner[(row["provider"], row["feature"], row["day"])] = n
    kept: defaultdict[int, list[dict[str, str]]] = defaultdict(list)
    for n, rows in enumerate(deliveries):
        kept[n] += [r for r in rows if owner[(r["provider"], r["feature"], r["day"])] == n]
    return [r for n in sorted(kept) for r in kept[n]]


@pytest.mark.parametrize("name", RESTATED_DELIVERIES)
def test_restated_usage_deliveries_keep_each_day_once(name: str, tmp_path: Path):
    deliveries = RESTATED_DELIVERIES[name]
    lake = tmp_path / "lake"
    for n, rows in enumerate(deliveries):
        report = ingest_llm_usage_file(
            write_csv(tmp_path / f"delivery-{n}.csv", rows, USAGE_HEADER), lake)
        assert report.rows_read == report.rows_stored == len(rows)
    expected = newest_per_key(deliveries)
    usage = read_llm_usage(lake)
    assert len(usage) == len(expected)
    for column in ("input_tokens", "output_tokens", "requests"):
        assert sum(getattr(u, column) for u in usage) == sum(int(r[column]) for r in expected)

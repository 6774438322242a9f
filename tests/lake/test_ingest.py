"""FOCUS ingestion against real files: the FinOps Foundation sample and hand-made fixtures."""

from __future__ import annotations

import gzip
import shutil
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from tests.lake.conftest import csv_column_sum, lake_files

from spendpilot.errors import IngestError
from spendpilot.lake import CostLake, ingest_file, ingest_path
from spendpilot.lake.schema import REQUIRED_COLUMNS


def stored(lake_dir: Path) -> list[dict]:
    """Every stored FOCUS row, read straight from the Parquet files (not through CostLake)."""
    files = sorted((lake_dir / "focus").rglob("*.parquet"))
    rows: list[dict] = []
    for f in files:
        rows += pq.read_table(f).to_pylist()
    return rows


# --- the real FOCUS 1.0 sample ----------------------------------------------------------------


def test_focus_sample_every_row_accounted_for_and_totals_exact(focus_sample: Path, lake_dir: Path):
    report = ingest_file(focus_sample, lake_dir)

    assert report.rows_read == 1000
    # The sample is valid FOCUS: negative costs are refunds and NULLs are allowed where it has
    # them (ContractedCost is null on 7 Oracle/AWS rows; tolerated, see schema.py).
    assert (report.rows_stored, report.rows_quarantined) == (1000, 0)
    assert report.quarantine_file is None and report.reasons == {}
    assert report.partitions == [
        "provider=AWS/billing_period=2024-09",
        "provider=Microsoft/billing_period=2024-09",
        "provider=Oracle/billing_period=2024-09",
        "provider=Oracle/billing_period=2024-10",
    ]
    rows = stored(lake_dir)
    assert len(rows) == 1000
    for column in ("BilledCost", "EffectiveCost", "ListCost"):
        assert sum(r[column] for r in rows) == csv_column_sum(focus_sample, column), column
    assert any(r["BilledCost"] < 0 for r in rows), "refund rows must be kept"


def test_focus_sample_values_keep_their_meaning(focus_sample: Path, lake_dir: Path):
    ingest_file(focus_sample, lake_dir)
    rows = stored(lake_dir)
    first = next(r for r in rows if r["Id"] == "11472")  # the sample's first data row
    assert first["BilledCost"] == Decimal("0.00000080000")
    assert first["ChargePeriodStart"] == datetime(2024, 9, 18, 22, tzinfo=UTC)
    assert first["AvailabilityZone"] is None  # literal NULL
    assert first["ListUnitPrice"] == Decimal("0.0000004")
    # 15 decimals of usage survive (DECIMAL(38, 12) would have rounded them).
    assert any(r["ConsumedQuantity"] == Decimal("0.002007490000000") for r in rows)
    # Tags stay as written, leading-space keys included; the unknown Id column is text.
    assert any(r["Tags"] and '" org"' in r["Tags"] for r in rows)
    assert isinstance(first["Id"], str)


# --- files that are not FOCUS -------------------------------------------------------------------


def test_non_focus_csv_is_refused_and_nothing_is_written(not_focus: Path, lake_dir: Path):
    with pytest.raises(IngestError) as caught:
        ingest_file(not_focus, lake_dir)
    message = str(caught.value)
    assert str(not_focus) in message
    for column in REQUIRED_COLUMNS:
        assert column in message
    assert lake_files(lake_dir) == []


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("binary.csv", bytes(range(256)) * 40),
        ("empty.csv", b""),
        ("fake.parquet", b"PAR1 this is not parquet"),
    ],
)
def test_unreadable_files_are_refused_and_nothing_is_written(
    tmp_path: Path, lake_dir: Path, name: str, content: bytes
):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=name):
        ingest_file(path, lake_dir)
    assert lake_files(lake_dir) == []


# --- bad rows -----------------------------------------------------------------------------------


PLANTED = {  # data row → (field, reason)
    3: ("BilledCost", "not a decimal"),
    5: ("ChargePeriodStart", "not a timestamp"),
    7: ("ProviderName", "missing value"),
    9: ("Tags", "not a JSON object"),
    11: ("ChargePeriodEnd", "ChargePeriodEnd before ChargePeriodStart"),
}


def test_planted_bad_rows_are_quarantined_with_row_field_and_reason(planted: Path, lake_dir: Path):
    report = ingest_file(planted, lake_dir)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (11, 6, 5)
    assert report.reasons == Counter(f"{f}: {r}" for f, r in PLANTED.values())
    assert report.quarantine_file is not None
    assert report.quarantine_file.parent == lake_dir / "quarantine"
    assert report.quarantine_file.name.startswith("planted_bad_rows-")
    quarantined = pq.read_table(report.quarantine_file).to_pylist()
    assert {q["_row"]: (q["_field"], q["_reason"]) for q in quarantined} == PLANTED
    assert {q["_source_file"] for q in quarantined} == {str(planted)}
    by_row = {q["_row"]: q for q in quarantined}
    assert by_row[3]["BilledCost"] == "12,50"  # raw text, as written
    assert by_row[5]["ChargePeriodStart"] == "2024-09-31 25:00:00"
    assert by_row[7]["ProviderName"] is None
    assert by_row[9]["Tags"] == '{"team": "ml-platform", '
    assert sorted(int(r["Id"]) for r in stored(lake_dir)) == [1, 2, 4, 6, 8, 10]


def test_iso_timestamps_with_zone_are_read_as_utc(planted: Path, lake_dir: Path):
    ingest_file(planted, lake_dir)
    row = next(r for r in stored(lake_dir) if r["Id"] == "8")
    assert row["ChargePeriodStart"] == datetime(2024, 9, 15, 10, tzinfo=UTC)
    assert row["ChargePeriodEnd"] == datetime(2024, 9, 15, 11, tzinfo=UTC)  # +02:00 → UTC


def test_malformed_lines_are_quarantined_and_later_rows_keep_their_numbers(
    planted: Path, tmp_path: Path, lake_dir: Path
):
    lines = planted.read_text().splitlines()
    lines.insert(2, "1.0,only,four,fields")  # becomes data row 2; planted rows shift by one
    path = tmp_path / "with_broken_line.csv"
    path.write_text("\n".join(lines) + "\n")

    report = ingest_file(path, lake_dir)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (12, 6, 6)
    assert report.reasons["malformed row"] == 1
    rows = {q["_row"]: q for q in pq.read_table(report.quarantine_file).to_pylist()}
    assert rows[2]["_reason"] == "malformed row" and "only,four,fields" in rows[2]["_raw_text"]
    assert {r: (q["_field"], q["_reason"]) for r, q in rows.items() if r != 2} == {
        row + 1: problem for row, problem in PLANTED.items()
    }


# --- idempotence and atomicity ----------------------------------------------------------------


def test_reingesting_the_same_bytes_replaces_instead_of_duplicating(
    planted: Path, tmp_path: Path, lake_dir: Path
):
    first = ingest_file(planted, lake_dir)
    files = lake_files(lake_dir)
    again = ingest_file(planted, lake_dir)
    assert lake_files(lake_dir) == files
    assert again.content_sha256 == first.content_sha256
    # The same bytes under another name still replace the earlier copy.
    renamed = tmp_path / "renamed.csv"
    shutil.copy(planted, renamed)
    ingest_file(renamed, lake_dir)
    names = {p.name for p in lake_files(lake_dir)}
    assert all(n.startswith("renamed-") for n in names), names
    assert CostLake(lake_dir).row_count() == 6


def test_a_failure_mid_ingest_leaves_the_lake_as_it_was(planted: Path, lake_dir: Path):
    ingest_file(planted, lake_dir)
    before = {p: p.read_bytes() for p in lake_files(lake_dir)}

    def interrupt(rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_file(planted, lake_dir, progress=interrupt)
    assert {p: p.read_bytes() for p in lake_files(lake_dir)} == before


# --- other inputs -------------------------------------------------------------------------------


def test_parquet_input_with_typed_columns_matches_the_csv(focus_sample: Path, tmp_path: Path,
                                                           lake_dir: Path):
    """A typed FOCUS Parquet export (decimals, doubles, timestamps, Tags as a map) ingests to the
    same rows as the CSV it came from."""
    parquet = tmp_path / "focus_sample.parquet"
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT * REPLACE (
                CAST(BilledCost AS DECIMAL(38, 11)) AS BilledCost,
                CAST(EffectiveCost AS DOUBLE) AS EffectiveCost,
                CAST(ChargePeriodStart AS TIMESTAMP) AS ChargePeriodStart,
                CAST(json(Tags) AS MAP(VARCHAR, VARCHAR)) AS Tags)
            FROM read_csv('{focus_sample}', all_varchar = true, nullstr = 'NULL'))
            TO '{parquet}' (FORMAT parquet)"""
    ).fetchall()
    con.close()

    report = ingest_file(parquet, lake_dir)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (1000, 1000, 0)
    rows = stored(lake_dir)
    assert sum(r["BilledCost"] for r in rows) == csv_column_sum(focus_sample, "BilledCost")
    assert sum(r["EffectiveCost"] for r in rows) == csv_column_sum(focus_sample, "EffectiveCost")
    assert any(r["Tags"] and '" org"' in r["Tags"] for r in rows)


def test_gzipped_csv_and_directory_ingest_with_progress(focus_sample: Path, planted: Path,
                                                         tmp_path: Path, lake_dir: Path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with open(focus_sample, "rb") as src, gzip.open(inbox / "sample.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    shutil.copy(planted, inbox / "planted.csv")
    (inbox / "notes.txt").write_text("not ingested")
    seen: list[int] = []

    reports = ingest_path(inbox, lake_dir, progress=seen.append)

    assert [r.file.name for r in reports] == ["planted.csv", "sample.csv.gz"]
    assert [r.rows_read for r in reports] == [11, 1000]
    assert seen == sorted(seen) and seen[-1] == 1011
    assert CostLake(lake_dir).row_count() == 6 + 1000

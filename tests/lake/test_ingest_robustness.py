"""Issue 6's ingest defects: each test here failed before its fix.

Whole read batches without a good row, spreadsheet dates, ``null`` in any case, values no bill
contains and sums that overflow, header-only exports, unclosed quotes, restated LLM usage.
(Staging left by dead ingests and full disks: ``test_lake_faults``.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.conftest import DATA

from spendpilot.lake import CostLake, ingest_file, ingest_llm_usage_file, read_llm_usage

from .conftest import lake_files, run_spendpilot
from .focus_rows import FOCUS_HEADER, USAGE_HEADER, csv_lines, focus_row, usage_row, write_csv

ADVERSARIAL_DATA = DATA / "adversarial"
BATCH_ROWS = 122_880  # the validator's read batch


def quarantined(report) -> list[dict]:
    return pq.read_table(report.quarantine_file).to_pylist() if report.quarantine_file else []


# --- 1. a read batch with no good row ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_read_batch_with_no_good_row_is_quarantined_row_by_row(tmp_path: Path, lake_dir: Path,
                                                                  fmt: str):
    bad = BATCH_ROWS + 1_000
    header, bad_line, good_line = csv_lines([focus_row(0, BilledCost="twelve"), focus_row(1)])
    if fmt == "csv":
        path = tmp_path / "one_bad_block.csv"
        path.write_text(header + "\n" + (bad_line + "\n") * bad + (good_line + "\n") * 3)
    else:
        path = tmp_path / "one_bad_block.parquet"
        bad_row, good_row = focus_row(0, BilledCost="twelve"), focus_row(1)
        pq.write_table(pa.table({
            name: pa.array([bad_row[name]] * bad + [good_row[name]] * 3) for name in FOCUS_HEADER
        }), path)

    report = ingest_file(path, lake_dir)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (bad + 3, 3, bad)
    assert report.reasons == {"BilledCost: not a decimal": bad}
    rows = pq.read_table(report.quarantine_file, columns=["_row", "BilledCost"])
    assert rows.num_rows == bad
    assert rows.column("_row").to_pylist() == list(range(1, bad + 1))
    assert set(rows.column("BilledCost").to_pylist()) == {"twelve"}
    lake = CostLake(lake_dir)
    assert lake.row_count() == 3
    assert lake.top_spend(days=60)[0].cost == Decimal("4.5")


def test_a_small_file_whose_every_row_is_bad_is_quarantined_not_an_error(tmp_path: Path,
                                                                          lake_dir: Path):
    """The same defect on any file whose rows are all bad, e.g. ``null`` in a mandatory column."""
    path = write_csv(tmp_path / "all_null_provider.csv",
                     [focus_row(i, ProviderName="null") for i in range(4)])
    report = ingest_file(path, lake_dir)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (4, 0, 4)
    assert report.reasons == {"ProviderName: missing value": 4}
    assert CostLake(lake_dir).row_count() == 0


# --- 2. spreadsheet dates --------------------------------------------------------------------------


def test_spreadsheet_dates_are_quarantined_never_guessed(lake_dir: Path):
    """A SaaS export written the way the FOCUS specification's example sheet writes dates."""
    saas = ADVERSARIAL_DATA / "saas_spreadsheet_dates.csv"

    report = ingest_file(saas, lake_dir)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (6, 0, 6)
    [label] = report.reasons
    assert label.startswith("BillingPeriodEnd: not an ISO 8601 date-time")
    assert "never guessed" in label and "--date-format" in label
    first = report.examples[0]
    assert (first.row, first.field, first.value) == (1, "BillingPeriodEnd", "5/1/25")
    assert first.message.startswith("BillingPeriodEnd: '5/1/25' is not an ISO 8601 date-time ")
    assert lake_files(lake_dir / "focus") == []  # nothing under billing_period=0001-01 or any other


def test_an_explicit_date_format_reads_spreadsheet_dates(lake_dir: Path):
    saas = ADVERSARIAL_DATA / "saas_spreadsheet_dates.csv"

    report = ingest_file(saas, lake_dir, date_format="%m/%d/%y")

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (6, 6, 0)
    assert report.partitions == [
        "provider=ACME/billing_period=2025-04", "provider=ACME/billing_period=2025-05",
        "provider=ACME/billing_period=2025-06",
    ]
    rows = pq.read_table(next((lake_dir / "focus").rglob("*2025-04/*.parquet"))).to_pylist()
    purchase = next(r for r in rows if r["ChargeCategory"] == "Purchase")
    assert purchase["ChargePeriodStart"] == datetime(2025, 4, 1, tzinfo=UTC)
    assert purchase["ChargePeriodEnd"] == datetime(2026, 4, 1, tzinfo=UTC)


def test_the_date_format_flag_is_documented_and_used_by_the_cli(tmp_path: Path):
    helped = run_spendpilot("ingest", "--help")
    assert "--date-format" in helped.stdout and "%m/%d/%y" in helped.stdout
    saas = ADVERSARIAL_DATA / "saas_spreadsheet_dates.csv"
    proc = run_spendpilot("ingest", str(saas), "--home", str(tmp_path / "h"),
                          "--date-format", "%m/%d/%y")
    assert proc.returncode == 0, proc.stderr
    assert "read 6 · stored 6 · quarantined 0" in proc.stdout


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("2024-09-10T00:00:00Z", datetime(2024, 9, 10, tzinfo=UTC)),
        ("2024-09-10 00:00:00 UTC", datetime(2024, 9, 10, tzinfo=UTC)),  # BigQuery's export
        ("2024-09-10T05:30:00+05:30", datetime(2024, 9, 10, tzinfo=UTC)),
        ("2024-09-10", datetime(2024, 9, 10, tzinfo=UTC)),
        ("4/1/25", None), ("09/10/2024", None), ("2024/09/10", None), ("20240910", None),
        ("Sep 10, 2024", None), ("1725926400", None), ("0004-01-25", None),
        ("9999-12-31 00:00:00", None), ("2024-09-10T00:00:00+25:00", None),
    ],
)
def test_only_iso_dates_in_a_plausible_range_are_stored(tmp_path: Path, lake_dir: Path,
                                                        written: str, stored: datetime | None):
    row = focus_row(0, ChargePeriodStart=written, ChargePeriodEnd="2024-09-10 01:00:00")
    report = ingest_file(write_csv(tmp_path / "dates.csv", [row]), lake_dir)
    if stored is None:
        assert report.rows_quarantined == 1
        [example] = report.examples
        assert example.field == "ChargePeriodStart" and example.value == written
        assert "ISO 8601" in example.reason or "not a real billing date" in example.reason
    else:
        assert report.rows_stored == 1
        [row] = pq.read_table(next((lake_dir / "focus").rglob("*.parquet"))).to_pylist()
        assert row["ChargePeriodStart"] == stored


# --- 3. null in any letter case ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_null_in_any_case_is_missing_and_never_a_commitment(tmp_path: Path, lake_dir: Path,
                                                            fmt: str):
    rows = [focus_row(i, ResourceId="i-gpu", CommitmentDiscountId=spelling, Tags=spelling)
            for i, spelling in enumerate(["null", "NULL", "Null", "nUlL", ""])]
    rows.append(focus_row(9, ResourceId="i-reserved", CommitmentDiscountId="ri-123"))
    if fmt == "csv":
        path = write_csv(tmp_path / "nulls.csv", rows)
    else:
        path = tmp_path / "nulls.parquet"
        pq.write_table(pa.table({n: pa.array([r[n] for r in rows]) for n in FOCUS_HEADER}), path)

    report = ingest_file(path, lake_dir)

    assert (report.rows_read, report.rows_stored) == (6, 6)
    stored = pq.read_table(next((lake_dir / "focus").rglob("*.parquet"))).to_pylist()
    assert [r["CommitmentDiscountId"] for r in stored] == [None] * 5 + ["ri-123"]
    assert [r["Tags"] for r in stored][:5] == [None] * 5
    shares = CostLake(lake_dir).resource_commitment_share(since=datetime(2024, 9, 1, tzinfo=UTC))
    assert shares == {"i-reserved": 1.0}  # "null" is not a commitment


def test_null_in_any_case_is_missing_in_usage_exports(tmp_path: Path, lake_dir: Path):
    path = tmp_path / "usage.jsonl"
    path.write_text('{"day": "2025-05-01", "provider": "openai", "model": "gpt-4.1", '
                    '"feature": "NULL", "project_id": "null", "requests": 1, "input_tokens": 1, '
                    '"output_tokens": 1, "cost": 0.1}\n'
                    '{"day": "2025-05-01", "provider": "openai", "model": "gpt-4.1", '
                    '"feature": "bot", "project_id": "Null", "requests": 1, "input_tokens": 1, '
                    '"output_tokens": 1, "cost": 0.1}\n')
    report = ingest_llm_usage_file(path, lake_dir)
    assert report.reasons == {"feature: missing value": 1}
    [usage] = read_llm_usage(lake_dir)
    assert usage.project_id is None


# --- 4. values no bill contains; sums that cannot overflow -------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "kept"),
    [
        ("EffectiveCost", "99999999999999999999999999", False),
        ("EffectiveCost", "1e30", False),
        ("BilledCost", "-1000000000000", False),
        ("ListCost", "Infinity", False),
        ("EffectiveCost", "999999999999.99", True),  # just below the bound
        ("BilledCost", "-0.00000001", True),
    ],
)
def test_values_no_bill_contains_are_quarantined(tmp_path: Path, lake_dir: Path, column: str,
                                                 value: str, kept: bool):
    report = ingest_file(write_csv(tmp_path / "big.csv", [focus_row(0, **{column: value}),
                                                           focus_row(1)]), lake_dir)
    assert report.rows_read == 2
    assert report.rows_stored == (2 if kept else 1)
    if not kept:
        [example] = report.examples
        assert (example.field, example.value) == (column, value)
        assert example.reason.startswith(("out of range", "not a decimal"))
    assert CostLake(lake_dir).top_spend(days=60)  # every aggregate still works


def test_every_aggregate_survives_values_stored_before_the_bound(tmp_path: Path, lake_dir: Path):
    """A lake written by an older version (or by hand) holding costs near DECIMAL(38, 12)'s
    limit: a plain SUM overflows; the queries must still answer, exactly."""
    ingest_file(write_csv(tmp_path / "ok.csv", [focus_row(i) for i in range(3)]), lake_dir)
    stored = next((lake_dir / "focus").rglob("*.parquet"))
    table = pq.read_table(stored)
    huge = Decimal("99999999999999999999999999.5")
    column = table.schema.get_field_index("EffectiveCost")
    legacy = table.set_column(column, "EffectiveCost",
                              pa.array([huge] * 3, table.schema.field(column).type))
    pq.write_table(legacy, stored.with_name("legacy-0000aaaa.parquet"))

    lake = CostLake(lake_dir)
    since = datetime(2024, 9, 1, tzinfo=UTC)
    expected = huge * 3 + Decimal("4.5")
    assert lake.top_spend(days=60)[0].cost == expected
    assert sum(d.cost for d in lake.daily_spend(days=30)) == expected
    assert lake.untagged_spend(["owner"], days=60) == expected
    costs = lake.resource_costs(since)
    assert costs["i-00001"] == {"USD": huge + Decimal("1.5")}
    assert lake.resource_commitment_share(since) == {}


# --- 5. a header-only export ---------------------------------------------------------------------------


def test_a_header_only_export_is_zero_rows_not_an_error(tmp_path: Path, lake_dir: Path):
    path = tmp_path / "empty_month.csv"
    path.write_text(",".join(FOCUS_HEADER) + "\r\n")

    report = ingest_file(path, lake_dir)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (0, 0, 0)
    assert any("no data rows" in note for note in report.notes)
    assert lake_files(lake_dir) == []
    assert CostLake(lake_dir).row_count() == 0

    proc = run_spendpilot("ingest", str(path), "--home", str(tmp_path / "home"))
    assert proc.returncode == 0, proc.stderr
    assert "read 0 · stored 0 · quarantined 0" in proc.stdout
    assert "no data rows" in proc.stdout and "Traceback" not in proc.stderr


# --- 6. unclosed quotes ------------------------------------------------------------------------------


def test_an_unclosed_quote_at_the_start_of_a_row_loses_no_other_row(tmp_path: Path,
                                                                    lake_dir: Path):
    """Row 4 (no other quote on it) opens a quote that row 5's quoted Tags field closes: the
    engine's reader lost row 5 and quarantined another line's text as row 4's evidence."""
    rows = [focus_row(i) for i in range(10)]
    rows[3]["Tags"] = "NULL"
    lines = csv_lines(rows)
    lines[4] = '"' + lines[4]
    path = tmp_path / "quote_at_start.csv"
    path.write_text("\n".join(lines) + "\n")

    report = ingest_file(path, lake_dir)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (10, 9, 1)
    [bad] = quarantined(report)
    assert bad["_row"] == 4 and bad["_raw_text"] == lines[4]
    assert bad["_field"] == "BilledCost"
    assert bad["_reason"] == "unparseable CSV line (unterminated or stray quote)"
    stored = sorted(r["ResourceId"] for r in pq.read_table(
        next((lake_dir / "focus").rglob("*.parquet"))).to_pylist())
    assert stored == [f"i-{i:05d}" for i in range(10) if i != 3]


def test_a_quote_that_never_closes_costs_its_line_not_the_rest_of_the_file(tmp_path: Path,
                                                                          lake_dir: Path):
    rows = [focus_row(i, Tags="NULL") for i in range(50)]  # no other quote in the file
    lines = csv_lines(rows)
    lines[2] = lines[2].replace("AWS,", '"AWS,', 1)
    path = tmp_path / "never_closes.csv"
    path.write_text("\n".join(lines) + "\n")

    report = ingest_file(path, lake_dir)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (50, 49, 1)
    [bad] = quarantined(report)
    assert (bad["_row"], bad["_field"], bad["_raw_text"]) == (2, "ProviderName", lines[2])


# --- 7. restated LLM usage ------------------------------------------------------------------------------


def test_a_redelivered_usage_export_replaces_instead_of_doubling(tmp_path: Path, lake_dir: Path):
    first = [usage_row(i) for i in range(5)] + [usage_row(0, feature="summaries")]
    ingest_llm_usage_file(write_csv(tmp_path / "usage-1.csv", first, USAGE_HEADER), lake_dir)
    tokens = sum(u.input_tokens for u in read_llm_usage(lake_dir))

    again = [usage_row(i) for i in range(6)]  # the same support-bot rows plus one more day
    report = ingest_llm_usage_file(write_csv(tmp_path / "usage-2.csv", again, USAGE_HEADER),
                                   lake_dir)

    assert report.rows_replaced == 5
    assert report.restatement_key == ["provider", "feature", "day"]
    usage = read_llm_usage(lake_dir)
    assert len(usage) == 7  # 6 support-bot days + the summaries row the new export does not cover
    assert sum(u.input_tokens for u in usage) == tokens + 10_000


def test_a_restated_usage_day_replaces_the_whole_feature_day(tmp_path: Path, lake_dir: Path):
    """A correction that moves a feature's day from one model to another keeps no stale row."""
    before = [usage_row(0, model="gpt-4.1"), usage_row(0, model="gpt-4.1-mini")]
    ingest_llm_usage_file(write_csv(tmp_path / "a.csv", before, USAGE_HEADER), lake_dir)
    after = [usage_row(0, model="gpt-4.1-mini", input_tokens="20000")]
    ingest_llm_usage_file(write_csv(tmp_path / "b.csv", after, USAGE_HEADER), lake_dir)
    [usage] = read_llm_usage(lake_dir)
    assert (usage.model, usage.input_tokens) == ("gpt-4.1-mini", 20_000)

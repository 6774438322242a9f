"""CUR 2.0 and legacy CUR exports into the lake as FOCUS rows (issue 7).

The samples are in tests/data/cur (see its PROVENANCE.md); each test ingests one through the
public API and reads the stored Parquet back with DuckDB, never through the code under test.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.data.cur import build_cur_samples
from tests.lake.conftest import csv_column_sum, lake_files, run_spendpilot
from tests.lake.cur_files import (
    COST_COLUMN,
    CUR2_CSV,
    LEGACY_CSV,
    SAMPLE_ROWS,
    as_parquet,
    edited,
    gzipped,
    read_rows,
    write_rows,
)

from spendpilot.errors import IngestError
from spendpilot.lake import ingest_file, ingest_path
from spendpilot.lake.cur import CUR_2, LEGACY_CUR, detect

FORMATS = {LEGACY_CSV: LEGACY_CUR, CUR2_CSV: CUR_2}


def stored(lake: Path, columns: str = "*") -> list[dict[str, Any]]:
    relation = duckdb.sql(
        f"SELECT {columns} FROM read_parquet('{lake}/focus/**/*.parquet', hive_partitioning = true,"
        " union_by_name = true)")
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def stored_total(lake: Path, column: str = "BilledCost") -> Decimal:
    [(total,)] = duckdb.sql(
        f"SELECT sum({column}) FROM read_parquet('{lake}/focus/**/*.parquet')").fetchall()
    return Decimal(total)


def shaped(sample: Path, shape: str, tmp_path: Path) -> Path:
    if shape == "csv":
        return sample
    if shape == "csv.gz":
        return gzipped(sample, tmp_path / f"{sample.stem}.csv.gz")
    return as_parquet(sample, tmp_path / f"{sample.stem}.parquet")


@pytest.mark.parametrize("shape", ["csv", "csv.gz", "parquet"])
@pytest.mark.parametrize("sample", [LEGACY_CSV, CUR2_CSV], ids=["legacy", "cur2"])
def test_cost_total_stored_equals_the_sum_of_the_cost_column(sample: Path, shape: str,
                                                            tmp_path: Path):
    path = shaped(sample, shape, tmp_path)
    report = ingest_file(path, tmp_path / "lake")

    expected = csv_column_sum(sample, COST_COLUMN[sample])
    assert expected == Decimal("1736.8584395061")  # the sample's own figure, summed by hand
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (SAMPLE_ROWS,) * 2 + (0,)
    assert report.format == FORMATS[sample]
    assert stored_total(tmp_path / "lake") == expected


def test_the_samples_are_what_their_generator_writes(tmp_path: Path):
    """PROVENANCE.md says how the samples were made; this keeps the files and that account equal."""
    build_cur_samples.main(tmp_path)
    for sample in (LEGACY_CSV, CUR2_CSV):
        assert (tmp_path / sample.name).read_bytes() == sample.read_bytes(), sample.name


def by_line_item(lake: Path) -> dict[str, dict[str, Any]]:
    rows = stored(lake)
    keyed = {f"{r['x_LineItemType']}:{r['ResourceId'] or r['ServiceName']}": r for r in rows}
    assert len(keyed) == len(rows)
    return keyed


SP = "arn:aws:savingsplans::111122223333:savingsplan/3a1f9c2e-7b4d-4e8a-9c61-0d2b5f7e8a90"
RI = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/5e6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
D = Decimal

# line item → (ChargeCategory, BilledCost, EffectiveCost, ListCost, CommitmentDiscountId)
EXPECTED = {
    "Usage:i-0a1b2c3d4e5f60718": ("Usage", D("32.7726"), D("32.7726"), D("32.7726"), None),
    "SavingsPlanCoveredUsage:i-07a8b9c0d1e2f3a4b": ("Usage", D("1.212"), D("0.8004"), D("1.212"), SP),
    "SavingsPlanNegation:i-07a8b9c0d1e2f3a4b": ("Usage", D("-1.212"), D(0), D(0), SP),
    "SavingsPlanRecurringFee:Savings Plans for AWS Compute usage":
        ("Purchase", D(360), D("47.5"), D(0), SP),
    "DiscountedUsage:i-0c9d8e7f6a5b4c3d2": ("Usage", D(0), D("0.3312"), D("0.526"), RI),
    "RIFee:Amazon Elastic Compute Cloud": ("Purchase", D(144), D("23.5"), D(0), RI),
    "Fee:Amazon Elastic Compute Cloud": ("Purchase", D(1100), D(0), D(0), RI),
    "Tax:Amazon Elastic Compute Cloud": ("Tax", D("96.51"), D("96.51"), D("96.51"), None),
    "Credit:Amazon SageMaker": ("Credit", D(-25), D(-25), D(-25), None),
    "Refund:Amazon Elastic Compute Cloud": ("Adjustment", D("-3.5"), D("-3.5"), D("-3.5"), None),
}


@pytest.mark.parametrize("sample", [LEGACY_CSV, CUR2_CSV], ids=["legacy", "cur2"])
def test_each_line_item_type_maps_to_its_charge_category_and_amortised_cost(sample: Path,
                                                                           tmp_path: Path):
    ingest_file(sample, tmp_path / "lake")
    rows = by_line_item(tmp_path / "lake")
    for key, (category, billed, effective, listed, commitment) in EXPECTED.items():
        row = rows[key]
        got = (row["ChargeCategory"], row["BilledCost"], row["EffectiveCost"], row["ListCost"],
               row["CommitmentDiscountId"])
        assert got == (category, billed, effective, listed, commitment), key


def test_amortised_total_counts_each_commitment_once(tmp_path: Path):
    """Billed: fees in full, covered usage at on-demand rates netted by the negation. Amortised:
    the same month with the upfront fee and the used commitment spread over the covered usage."""
    ingest_file(LEGACY_CSV, tmp_path / "lake")
    billed = stored_total(tmp_path / "lake")
    effective = stored_total(tmp_path / "lake", "EffectiveCost")
    moved = (D(1100) + (D(360) - D("47.5")) + (D(144) - D("23.5"))  # fees no longer counted
             - D("0.8004") - D("0.3312"))  # ... but their share in the covered usage is
    assert billed - effective == moved


@pytest.mark.parametrize("sample", [LEGACY_CSV, CUR2_CSV], ids=["legacy", "cur2"])
def test_the_other_columns_map_as_documented(sample: Path, tmp_path: Path):
    ingest_file(sample, tmp_path / "lake")
    gpu = by_line_item(tmp_path / "lake")["Usage:i-0a1b2c3d4e5f60718"]
    team, project = ("user:team", "user:project") if sample == LEGACY_CSV else ("user_team", "user_project")
    assert {k: gpu[k] for k in (
        "ProviderName", "BillingAccountId", "SubAccountId", "BillingCurrency", "ServiceName",
        "RegionId", "AvailabilityZone", "ChargeDescription", "PricingQuantity", "PricingUnit",
        "ConsumedQuantity", "ConsumedUnit", "ListUnitPrice", "SkuId", "InvoiceId",
        "InvoiceIssuerName", "x_UsageType", "x_Operation", "x_ProductCode",
    )} == {
        "ProviderName": "AWS", "BillingAccountId": "111122223333", "SubAccountId": "444455556666",
        "BillingCurrency": "USD", "ServiceName": "Amazon Elastic Compute Cloud",
        "RegionId": "us-east-1", "AvailabilityZone": "us-east-1a",
        "ChargeDescription": "$32.7726 per On Demand Linux p4d.24xlarge Instance Hour",
        "PricingQuantity": D(1), "PricingUnit": "Hrs", "ConsumedQuantity": D(1),
        "ConsumedUnit": "Hrs", "ListUnitPrice": D("32.7726"), "SkuId": "SKUP4D24XLARGE01",
        "InvoiceId": "EUINUS24-000001", "InvoiceIssuerName": "Amazon Web Services, Inc.",
        "x_UsageType": "BoxUsage:p4d.24xlarge", "x_Operation": "RunInstances",
        "x_ProductCode": "AmazonEC2",
    }
    assert str(gpu["ChargePeriodStart"]) == "2024-09-10 00:00:00+00:00"
    assert str(gpu["ChargePeriodEnd"]) == "2024-09-10 01:00:00+00:00"
    assert str(gpu["BillingPeriodStart"]) == "2024-09-01 00:00:00+00:00"
    assert str(gpu["BillingPeriodEnd"]) == "2024-10-01 00:00:00+00:00"
    assert json.loads(gpu["Tags"]) == {team: "ml", project: "llm-finetune"}
    tax = by_line_item(tmp_path / "lake")["Tax:Amazon Elastic Compute Cloud"]
    assert tax["Tags"] is None and tax["ConsumedQuantity"] is None


def test_tag_keys_that_differ_only_in_case_are_both_kept(tmp_path: Path):
    """AWS tag keys are case-sensitive, so a legacy CUR can carry user:team and user:Team."""
    header, rows = read_rows(LEGACY_CSV)
    for row in rows:
        row["resourceTags/user:Team"] = "platform" if row["resourceTags/user:team"] else ""
    path = write_rows(tmp_path / "two_teams.csv", [*header, "resourceTags/user:Team"], rows)
    ingest_file(path, tmp_path / "lake")
    gpu = by_line_item(tmp_path / "lake")["Usage:i-0a1b2c3d4e5f60718"]
    assert json.loads(gpu["Tags"]) == {"user:team": "ml", "user:Team": "platform",
                                       "user:project": "llm-finetune"}


def test_bad_rows_are_quarantined_under_the_cur_column_with_counts_that_add_up(tmp_path: Path):
    def spoil(rows: list[dict[str, str]]) -> None:
        rows[0]["lineItem/LineItemType"] = "EdpDiscount"
        rows[1]["lineItem/UnblendedCost"] = "12,50"
        rows[2]["savingsPlan/SavingsPlanEffectiveCost"] = ""
        rows[8]["lineItem/UsageStartDate"] = "9/10/24 00:00"

    path = edited(LEGACY_CSV, tmp_path / "spoiled.csv", spoil)
    report = ingest_file(path, tmp_path / "lake")

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (13, 9, 4)
    assert sum(report.reasons.values()) == 4
    assert [(q.row, q.field, q.value) for q in report.examples] == [
        (1, "lineItem/LineItemType", "EdpDiscount"),
        (2, "lineItem/UnblendedCost", "12,50"),
        (3, "savingsPlan/SavingsPlanEffectiveCost", None),
        (9, "lineItem/UsageStartDate", "9/10/24 00:00"),
    ]
    assert report.examples[0].reason.startswith("not a line item type AWS documents")
    assert report.examples[2].reason.startswith("missing value (the EffectiveCost of a "
                                                "SavingsPlanCoveredUsage line")
    assert "ISO 8601" in report.examples[3].reason
    kept = csv_column_sum(LEGACY_CSV, "lineItem/UnblendedCost") - sum(
        D(read_rows(LEGACY_CSV)[1][i]["lineItem/UnblendedCost"]) for i in (0, 1, 2, 8))
    assert stored_total(tmp_path / "lake") == kept


def test_a_broken_line_is_read_line_by_line_and_still_mapped(tmp_path: Path):
    lines = LEGACY_CSV.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("AmazonEC2", '"AmazonEC2', 1)  # a quote that never closes
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = ingest_file(path, tmp_path / "lake")

    assert (report.rows_read, report.rows_stored) == (13, 12)
    assert [q.row for q in report.examples] == [3]
    assert report.format == LEGACY_CUR
    assert {r["ProviderName"] for r in stored(tmp_path / "lake", "ProviderName")} == {"AWS"}


@pytest.mark.parametrize(("header", "expected"), [
    (["lineItem/UnblendedCost", "bill/PayerAccountId"], LEGACY_CUR),
    (["line_item_unblended_cost", "resource_tags"], CUR_2),
    (["line_item_unblended_cost", "bill_payer_account_name"], CUR_2),
    (["line_item_unblended_cost", "resource_tags_user_team"], LEGACY_CUR),
    (["BilledCost", "lineItem/UnblendedCost"], None),
    (["date", "amount"], None),
])
def test_format_is_recognised_from_the_columns_alone(header: list[str], expected: str | None):
    assert detect(header) == expected


def test_a_file_that_is_neither_says_what_was_expected(tmp_path: Path):
    path = tmp_path / "invoice.csv"
    path.write_text("invoice,amount\nINV-1,12.50\n", encoding="utf-8")
    with pytest.raises(IngestError) as caught:
        ingest_file(path, tmp_path / "lake")
    message = str(caught.value)
    assert "not a FOCUS file" in message and "BilledCost" in message
    assert "line_item_unblended_cost" in message and "lineItem/UnblendedCost" in message
    assert lake_files(tmp_path / "lake") == []


def test_a_cur_file_missing_a_column_it_cannot_do_without_is_refused(tmp_path: Path):
    header, rows = read_rows(CUR2_CSV)
    header.remove("line_item_currency_code")
    path = write_rows(tmp_path / "no_currency.csv", header,
                      [{k: v for k, v in r.items() if k in header} for r in rows])
    with pytest.raises(IngestError, match=r"not a CUR 2\.0 file: missing mandatory column\(s\) "
                                          r"line_item_currency_code"):
        ingest_file(path, tmp_path / "lake")
    assert lake_files(tmp_path / "lake") == []


def test_a_redelivered_cur_month_restates_the_stored_one(tmp_path: Path):
    lake = tmp_path / "lake"
    first = ingest_file(LEGACY_CSV, lake)

    def revise(rows: list[dict[str, str]]) -> None:
        rows[0]["lineItem/UnblendedCost"] = "65.5452"  # two hours, not one
        del rows[-1]  # the refund moved to next month

    again = edited(LEGACY_CSV, tmp_path / "legacy_cur_2024-09-v2.csv", revise)
    second = ingest_file(again, lake)

    assert first.rows_stored == SAMPLE_ROWS
    assert (second.rows_stored, second.rows_replaced) == (SAMPLE_ROWS - 1, SAMPLE_ROWS)
    assert stored_total(lake) == csv_column_sum(again, "lineItem/UnblendedCost")


def test_a_folder_of_focus_and_cur_files_is_one_run(tmp_path: Path):
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(LEGACY_CSV, folder / "a_legacy.csv")
    as_parquet(CUR2_CSV, folder / "b_cur2.parquet")
    reports = ingest_path(folder, tmp_path / "lake")
    assert [r.format for r in reports] == [LEGACY_CUR, CUR_2]


def test_the_cli_says_which_format_it_read(tmp_path: Path):
    proc = run_spendpilot("ingest", str(CUR2_CSV), "--home", str(tmp_path / "home"))
    assert proc.returncode == 0, proc.stderr
    assert f"read {SAMPLE_ROWS} · stored {SAMPLE_ROWS} · quarantined 0 · format CUR 2.0" in proc.stdout

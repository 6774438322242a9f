"""FOCUS ingestion against real files: the FinOps Foundation sample and hand-made fixtures."""

from __future__ import annotations

import gzip
import multiprocessing
import shutil
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from spendpilot.errors import IngestError
from spendpilot.lake import CostLake, ingest_file, ingest_path
from spendpilot.lake.schema import REQUIRED_COLUMNS

from .conftest import csv_column_sum, lake_files, rewrite_csv


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
    assert report.reasons["unparseable CSV line (too few fields)"] == 1
    rows = {q["_row"]: q for q in pq.read_table(report.quarantine_file).to_pylist()}
    assert rows[2]["_reason"] == "unparseable CSV line (too few fields)"
    assert rows[2]["_raw_text"] == "1.0,only,four,fields"
    assert {r: (q["_field"], q["_reason"]) for r, q in rows.items() if r != 2} == {
        row + 1: problem for row, problem in PLANTED.items()
    }


def test_one_stray_quote_quarantines_its_line_not_the_file(focus_sample: Path, tmp_path: Path,
                                                           lake_dir: Path):
    lines = focus_sample.read_text(encoding="utf-8").split("\n")
    lines[5] = lines[5].replace('"USD"', '"USD', 1)  # data row 5: a quote that never closes
    broken = tmp_path / "stray_quote.csv"
    broken.write_text("\n".join(lines), encoding="utf-8")

    report = ingest_file(broken, lake_dir)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (1000, 999, 1)
    [row] = pq.read_table(report.quarantine_file).to_pylist()
    assert (row["_source_file"], row["_row"]) == (str(broken), 5)
    assert row["_field"] == "BillingCurrency"  # where the reader lost its way
    assert row["_reason"].startswith("unparseable CSV line")
    assert row["_raw_text"].startswith('NULL,0.00000041370,"1234567890123","SunBird","USD,')
    assert report.examples[0].row == 5


def test_values_outside_the_spec_are_quarantined(planted: Path, tmp_path: Path, lake_dir: Path):
    def mislabel(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        rows[0]["ChargeCategory"] = "Foo"
        rows[1]["BillingCurrency"] = "US Dollars"
        rows[3]["BillingCurrency"] = "usd"
        rows[5]["ChargeCategory"] = "usage"  # allowed values are case-sensitive
        rows[7]["BillingCurrency"] = "EUR"  # any ISO 4217 code is fine
        return rows

    report = ingest_file(rewrite_csv(planted, tmp_path / "mislabelled.csv", mislabel), lake_dir)

    quarantined = pq.read_table(report.quarantine_file).to_pylist()
    problems = {q["_row"]: (q["_field"], q["_reason"]) for q in quarantined}
    category = "not one of the allowed values (Usage, Purchase, Tax, Credit, Adjustment)"
    currency = "not an ISO 4217 currency code (three capital letters, e.g. USD)"
    assert problems == {
        **PLANTED,
        1: ("ChargeCategory", category),
        2: ("BillingCurrency", currency),
        4: ("BillingCurrency", currency),
        6: ("ChargeCategory", category),
    }
    assert report.reasons[f"BillingCurrency: {currency}"] == 2
    assert {r["BillingCurrency"] for r in stored(lake_dir)} == {"USD", "EUR"}
    assert {r["ChargeCategory"] for r in stored(lake_dir)} <= {"Usage", "Credit"}


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
    report = ingest_file(renamed, lake_dir)
    names = {p.name for p in lake_files(lake_dir)}
    assert all(n.startswith("renamed-") for n in names), names
    assert CostLake(lake_dir).row_count() == 6
    assert report.rows_replaced == 0  # an earlier copy of the same bytes is not a restatement


# --- restated exports ---------------------------------------------------------------------------


def billed_total(lake_dir: Path) -> Decimal:
    return sum((r["BilledCost"] for r in stored(lake_dir)), Decimal(0))


@pytest.mark.parametrize("same_name", [True, False])
def test_a_restated_export_replaces_the_rows_it_restates(
    focus_sample: Path, tmp_path: Path, lake_dir: Path, same_name: bool
):
    first = tmp_path / "delivery-1" / "focus.csv"
    first.parent.mkdir()
    shutil.copy(focus_sample, first)
    ingest_file(first, lake_dir)

    def restate(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        rows[0]["BilledCost"] = "1000.00000000000"  # one cell changed
        return rows

    second = tmp_path / "delivery-2" / ("focus.csv" if same_name else "focus-restated.csv")
    second.parent.mkdir()
    report = ingest_file(rewrite_csv(focus_sample, second, restate), lake_dir)

    assert report.rows_replaced == 1000
    assert CostLake(lake_dir).row_count() == 1000
    assert billed_total(lake_dir) == csv_column_sum(second, "BilledCost")


def test_restatement_keeps_the_older_exports_other_keys(focus_sample: Path, tmp_path: Path,
                                                        lake_dir: Path):
    """Key = (ProviderName, BillingAccountId, BillingPeriodStart). The older export covers AWS
    in two accounts plus Microsoft and Oracle; the newer one restates only AWS account 1."""

    def two_aws_accounts(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        aws = [r for r in rows if r["ProviderName"] == "AWS"]
        for r in aws[::2]:
            r["BillingAccountId"] = "account-2"
        return rows

    older = rewrite_csv(focus_sample, tmp_path / "older.csv", two_aws_accounts)
    ingest_file(older, lake_dir)

    def account_1_only_and_doubled(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        kept = [r for r in two_aws_accounts(rows)
                if r["ProviderName"] == "AWS" and r["BillingAccountId"] != "account-2"]
        for r in kept:
            r["BilledCost"] = str(Decimal(r["BilledCost"]) * 2)
        return kept

    newer = rewrite_csv(focus_sample, tmp_path / "newer.csv", account_1_only_and_doubled)
    report = ingest_file(newer, lake_dir)

    restated = report.rows_stored
    assert restated == 471 and report.rows_replaced == restated
    assert CostLake(lake_dir).row_count() == 1000
    rows = stored(lake_dir)
    assert Counter(r["BillingAccountId"] for r in rows if r["ProviderName"] == "AWS") == {
        "1234567890123": 471, "account-2": 471,
    }
    old_total = csv_column_sum(older, "BilledCost")
    old_account_1 = csv_column_sum(newer, "BilledCost") / 2
    assert billed_total(lake_dir) == old_total - old_account_1 + old_account_1 * 2


def test_files_of_one_run_do_not_replace_each_other(focus_sample: Path, tmp_path: Path,
                                                    lake_dir: Path):
    """A delivery split into parts (same keys in every part) is ingested as one folder."""
    rows_of = {"part-1.csv": slice(0, 500), "part-2.csv": slice(500, None)}
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    for name, part in rows_of.items():
        rewrite_csv(focus_sample, delivery / name, lambda rows, part=part: rows[part])

    reports = ingest_path(delivery, lake_dir)
    assert [r.rows_replaced for r in reports] == [0, 0]
    assert CostLake(lake_dir).row_count() == 1000

    again = ingest_path(delivery, lake_dir)  # the next delivery of the same month
    assert sum(r.rows_replaced for r in again) == 0  # same bytes: earlier copies, not restated
    assert CostLake(lake_dir).row_count() == 1000
    restated = tmp_path / "restated"
    restated.mkdir()
    for name in rows_of:
        rewrite_csv(delivery / name, restated / name, lambda rows: rows[:-1])
    reports = ingest_path(restated, lake_dir)
    assert sum(r.rows_replaced for r in reports) == 1000
    assert CostLake(lake_dir).row_count() == 998


def test_a_folder_with_one_bad_file_stores_nothing(focus_sample: Path, not_focus: Path,
                                                   tmp_path: Path, lake_dir: Path):
    ingest_file(focus_sample, lake_dir)
    before = {p: p.read_bytes() for p in lake_files(lake_dir)}
    folder = tmp_path / "delivery"
    folder.mkdir()
    rewrite_csv(focus_sample, folder / "a-restated.csv", lambda rows: rows[:10])
    shutil.copy(not_focus, folder / "b-invoice.csv")

    with pytest.raises(IngestError, match="b-invoice.csv"):
        ingest_path(folder, lake_dir)
    assert {p: p.read_bytes() for p in lake_files(lake_dir)} == before


_CRASHING_INGEST = """
import os
from pathlib import Path

steps = 0

def step(real):
    def wrapper(*args, **kwargs):
        global steps
        steps += 1
        if steps == crash_at:
            os._exit(17)  # no cleanup, no finally: as if the machine lost power
        return real(*args, **kwargs)
    return wrapper

from spendpilot.lake import ingest_file
real_replace, real_unlink = os.replace, os.unlink
os.replace, os.unlink = step(real_replace), step(real_unlink)
ingest_file(Path(newer), Path(lake))
os.replace, os.unlink = real_replace, real_unlink  # the child's own exit is not a step of the ingest
"""
"""Run by ``exec`` in a child process with ``newer``, ``lake`` and ``crash_at`` as its globals."""


def _crash_children() -> multiprocessing.context.ForkServerContext:
    """Children forked from a server that has imported the lake once: a fresh ``python -c`` per
    crash point spent ~1 s importing it, a dozen times per run. Each child is still a process of
    its own, killed with ``os._exit`` as before; the server itself never opens a lake. (The child's
    code goes by ``exec``, a builtin: a function of this module would be re-imported by each child,
    pytest and all, since the server does not get this module's place on sys.path.)"""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["spendpilot.lake"])
    return ctx


def test_a_crash_at_any_step_of_the_commit_leaves_old_or_new_never_both(
    focus_sample: Path, tmp_path: Path
):
    """Kill the ingest at every file operation of its commit: a reader then sees either the old
    rows or the new ones for every key, never both and never neither."""

    def two_aws_accounts(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        aws = [r for r in rows if r["ProviderName"] == "AWS"]
        for r in aws[::2]:
            r["BillingAccountId"] = "account-2"
        return rows

    def restated(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        # AWS account 1 (a partial rewrite of the old AWS file) and all of Microsoft (its old
        # file is deleted), every cost doubled, plus one bad row (a quarantine file).
        kept = [r for r in two_aws_accounts(rows) if r["ProviderName"] == "Microsoft"
                or (r["ProviderName"] == "AWS" and r["BillingAccountId"] != "account-2")]
        for r in kept:
            r["BilledCost"] = str(Decimal(r["BilledCost"]) * 2)
        kept[0]["ChargeCategory"] = "Foo"
        return kept

    older = rewrite_csv(focus_sample, tmp_path / "older.csv", two_aws_accounts)
    newer = rewrite_csv(focus_sample, tmp_path / "newer.csv", restated)
    base = tmp_path / "base"
    ingest_file(older, base)
    old_state = billed_total(base), CostLake(base).row_count()
    expected = tmp_path / "expected"
    shutil.copytree(base, expected)
    ingest_file(newer, expected)
    new_state = billed_total(expected), CostLake(expected).row_count()
    assert new_state != old_state

    outcomes = []
    children = _crash_children()
    for crash_at in range(1, 50):
        lake = tmp_path / f"crash-{crash_at}"
        shutil.copytree(base, lake)
        scope = {"newer": str(newer), "lake": str(lake), "crash_at": crash_at}
        child = children.Process(target=exec, args=(_CRASHING_INGEST, scope))
        child.start()
        child.join(timeout=120)
        assert child.exitcode in (0, 17), f"crash point {crash_at}: exit code {child.exitcode} (its traceback is above)"
        seen = CostLake(lake).row_count()  # a reader finishes an interrupted commit first
        state = billed_total(lake), seen
        outcomes.append("old" if state == old_state else "new" if state == new_state else state)
        assert not list((lake / ".staging").glob("*/commit.json"))
        if child.exitcode == 0:
            break
    else:
        pytest.fail("the ingest never finished")
    # Renaming the journal into place is the commit point: before it, old; after it, new.
    assert outcomes[0] == "old" and set(outcomes[1:]) == {"new"}, outcomes
    assert len(outcomes) >= 5  # journal, 3 renames, 1 delete at least were each interrupted


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

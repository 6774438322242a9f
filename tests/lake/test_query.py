"""CostLake queries over real ingested files, checked against sums computed independently."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from spendpilot.lake import CostLake, ingest_file

from .conftest import rewrite_csv

D = Decimal


@pytest.fixture
def planted_lake(planted: Path, lake_dir: Path) -> CostLake:
    ingest_file(planted, lake_dir)
    return CostLake(lake_dir)


def test_empty_lake_answers_with_empty_results(lake_dir: Path):
    lake = CostLake(lake_dir)  # the directory does not even exist
    assert lake.row_count() == 0
    assert lake.latest_charge_time() is None
    assert lake.resource_costs(datetime(2024, 1, 1, tzinfo=UTC)) == {}
    assert lake.top_spend("service") == []
    assert lake.top_spend("tag:team") == []
    assert lake.daily_spend() == []
    assert lake.untagged_spend(["team"]) == D(0)


def test_top_spend_by_service_on_the_focus_sample(focus_sample: Path, lake_dir: Path):
    ingest_file(focus_sample, lake_dir)
    lake = CostLake(lake_dir)
    assert lake.latest_charge_time() == datetime(2024, 10, 1, tzinfo=UTC)

    expected: dict[str, Decimal] = defaultdict(Decimal)
    since = datetime(2024, 10, 1) - timedelta(days=30)  # the whole sample starts on/after this
    with open(focus_sample, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if datetime.fromisoformat(row["ChargePeriodStart"]) >= since:
                expected[row["ServiceName"]] += D(row["EffectiveCost"])
    ranked = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:5]

    lines = lake.top_spend("service", days=30, limit=5)

    assert [(line.key, line.cost) for line in lines] == ranked
    assert {line.currency for line in lines} == {"USD"}


def test_top_spend_by_tag_matches_trimmed_keys_and_counts_untagged(planted_lake: CostLake):
    lines = planted_lake.top_spend("tag:team")
    assert [(line.key, line.cost) for line in lines] == [
        ("(untagged)", D("8.77")),  # S3 without tags + SageMaker tagged only with env
        ("ml-platform", D("8.50")),  # 10.50 and a -2.00 refund
        ("search", D("7.58333333333")),  # 4.25 under the key " team" + 3.33333333333
    ]
    assert planted_lake.top_spend("tag: team ") == lines


def test_top_spend_other_dimensions_and_limits(planted_lake: CostLake):
    by_provider = planted_lake.top_spend("provider")
    assert [(x.key, x.cost) for x in by_provider] == [
        ("AWS", D("21.52")),
        ("Microsoft", D("3.33333333333")),
    ]
    assert len(planted_lake.top_spend("resource", limit=2)) == 2
    with pytest.raises(ValueError, match="unknown spend dimension"):
        planted_lake.top_spend("colour")


def test_windows_count_back_from_until(planted_lake: CostLake):
    # Only charges starting in [2024-09-19, 2024-09-21): the -2.00 refund on 09-20.
    lines = planted_lake.top_spend("service", days=2, until=datetime(2024, 9, 21))
    assert [(x.key, x.cost) for x in lines] == [("Amazon Elastic Compute Cloud", D("-2"))]


def test_resource_costs_by_id_and_by_name(planted_lake: CostLake):
    costs = planted_lake.resource_costs(datetime(2024, 9, 1, tzinfo=UTC))
    assert costs == {
        "i-0a1": {"USD": D("8.5")},
        "trainer-a": {"USD": D("8.5")},
        "i-0b2": {"USD": D("4.25")},
        "arn:aws:s3:::datasets": {"USD": D("1")},
        "datasets": {"USD": D("1")},
        "/subscriptions/s1/vm/gpu-box": {"USD": D("3.33333333333")},
        "gpu-box": {"USD": D("3.33333333333")},
        "arn:aws:sagemaker:endpoint/chat": {"USD": D("7.77")},
        "chat": {"USD": D("7.77")},
    }
    later = planted_lake.resource_costs(datetime(2024, 9, 20), until=datetime(2024, 9, 29))
    assert later == {"i-0a1": {"USD": D("-2")}, "trainer-a": {"USD": D("-2")}}


def test_billed_hours_run_from_first_charge_to_last(planted_lake: CostLake):
    hours = planted_lake.resource_billed_hours(datetime(2024, 9, 1, tzinfo=UTC))
    # i-0a1 billed 09-10 00:00 -> 09-20 01:00; the S3 bucket one day; gpu-box 10:00Z -> 11:00Z.
    assert hours["i-0a1"] == 10 * 24 + 1
    assert hours["arn:aws:s3:::datasets"] == 24
    assert hours["/subscriptions/s1/vm/gpu-box"] == 1
    later = planted_lake.resource_billed_hours(datetime(2024, 9, 20, tzinfo=UTC), until=datetime(2024, 9, 29, tzinfo=UTC))
    assert later == {"i-0a1": 1.0}


def test_commitment_share_counts_only_rows_with_a_commitment(planted: Path, tmp_path: Path):
    with open(planted, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = [*(reader.fieldnames or []), "CommitmentDiscountId"], list(reader)
    for row in rows:
        covered = row["ResourceId"] == "i-0a1" and row["ChargePeriodStart"].startswith("2024-09-10")
        row["CommitmentDiscountId"] = "arn:aws:savingsplans::123:savingsplan/sp-1" if covered else "NULL"
    edited = tmp_path / "covered.csv"
    with open(edited, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    ingest_file(edited, tmp_path / "lake")
    shares = CostLake(tmp_path / "lake").resource_commitment_share(datetime(2024, 9, 1, tzinfo=UTC))
    # Covered $10.50 of a $8.50 net (a -$2 credit later): capped at 100 %; no one else is covered.
    assert shares == {"i-0a1": 1.0}


def test_resource_costs_never_add_up_across_currencies(planted: Path, tmp_path: Path,
                                                       lake_dir: Path):
    """One resource billed in USD and in EUR (a second account) keeps two amounts."""

    def second_account_in_eur(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        extra = {**rows[0], "BillingAccountId": "eu-1", "BillingCurrency": "EUR",
                 "EffectiveCost": "100.00000000000", "Id": "12"}
        return [*rows, extra]

    ingest_file(rewrite_csv(planted, tmp_path / "two_currencies.csv", second_account_in_eur),
                lake_dir)

    costs = CostLake(lake_dir).resource_costs(datetime(2024, 9, 1, tzinfo=UTC))

    assert costs["i-0a1"] == {"USD": D("8.5"), "EUR": D("100")}
    assert costs["trainer-a"] == {"USD": D("8.5"), "EUR": D("100")}
    assert costs["i-0b2"] == {"USD": D("4.25")}


def test_daily_spend_has_every_day_of_the_window(planted_lake: CostLake):
    days = planted_lake.daily_spend(days=30)
    assert len(days) == 30
    assert days[-1].day == date(2024, 9, 29)  # the latest charge ends 2024-09-29 01:00
    assert days[0].day == date(2024, 8, 31)
    by_day = {d.day: d.cost for d in days}
    assert by_day[date(2024, 9, 10)] == D("10.5")
    assert by_day[date(2024, 9, 15)] == D("3.33333333333")
    assert by_day[date(2024, 9, 1)] == D(0)
    assert sum(by_day.values()) == D("24.85333333333")


def test_untagged_spend(planted_lake: CostLake):
    assert planted_lake.untagged_spend(["team"]) == D("8.77")
    # Missing either key: no tags (1.00), team only (-2.00), env only (7.77).
    assert planted_lake.untagged_spend(["team", "env"]) == D("6.77")
    assert planted_lake.untagged_spend([]) == D("1")


def test_tag_lookup_tolerates_repeated_keys_and_non_string_values(planted: Path, tmp_path: Path,
                                                                   lake_dir: Path):
    header, first = planted.read_text().splitlines()[:2]
    odd = [
        first.replace('"{""team"": ""ml-platform"", ""env"": ""prod""}"',
                      '"{""team"": ""a"", ""team"": ""b""}"'),
        first.replace('"{""team"": ""ml-platform"", ""env"": ""prod""}"', '"{""team"": 7}"'),
    ]
    path = tmp_path / "odd_tags.csv"
    path.write_text("\n".join([header, *odd]) + "\n")
    assert ingest_file(path, lake_dir).rows_stored == 2
    lines = CostLake(lake_dir).top_spend("tag:team")
    assert sorted((x.key, x.cost) for x in lines) == [("7", D("10.5")), ("a", D("10.5"))]

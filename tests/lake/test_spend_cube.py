"""The spend cube answers the dashboard's questions exactly as the spend explorer does.

Every answer is compared with ``run_spend_query`` on the same real lake: a bill with what makes
grouping hard (tag keys with stray spaces, no tags, a non-string tag value, an account renamed
half-way, an account without a name, two currencies, groups only in the previous period).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.allocation.lakes import write_node_lake

from spendpilot.errors import NoSpendData
from spendpilot.lake import ingest_file
from spendpilot.lake.spend import Granularity, SpendFilter, build_query, run_spend_query
from spendpilot.lake.spend_cube import SpendCube

from .focus_rows import FOCUS_HEADER, write_csv

KEYS = ("service", "subaccount", "region", "team")
FIRST = date(2024, 7, 1)
DAYS = 70

_TAGS = ('{"team": "ml"}', '{" team ": "search", "env": "prod"}', "", '{"team": 7}', '{"env": "dev"}',
         '{"team": "  "}')


def _bill(root: Path) -> Path:
    header = [*FOCUS_HEADER, "SubAccountId", "SubAccountName", "RegionId"]
    rows = []
    for offset in range(DAYS):
        day = FIRST + timedelta(days=offset)
        month_start = day.replace(day=1)
        month_end = (month_start + timedelta(days=32)).replace(day=1)
        for k in range(7):
            if k == 6 and offset > 30:
                continue  # only in the earlier days: a group that exists only "before"
            account = ("111", "research" if offset < 40 else "research-renamed") if k % 2 else ("222", "")
            rows.append({
                "BilledCost": "1", "BillingAccountId": "acct", "BillingCurrency": "EUR" if k == 5 else "USD",
                "BillingPeriodStart": f"{month_start} 00:00:00", "BillingPeriodEnd": f"{month_end} 00:00:00",
                "ChargeCategory": "Usage", "ChargePeriodStart": f"{day} {k:02d}:00:00",
                "ChargePeriodEnd": f"{day} {k + 1:02d}:00:00",
                "EffectiveCost": f"{(k + 1) * 3 + offset % 5}.{k}25", "ListCost": "9",
                "ProviderName": "AWS", "ServiceName": f"svc-{k % 4}" if k != 6 else "svc-gone",
                "ResourceId": f"r-{k}", "CommitmentDiscountId": "NULL", "Tags": _TAGS[k % len(_TAGS)],
                "SubAccountId": account[0], "SubAccountName": account[1],
                "RegionId": "" if k == 3 else f"region-{k % 2}",
            })
    lake = root / "lake"
    ingest_file(write_csv(root / "bill.csv", rows, header), lake)
    return lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _bill(tmp_path_factory.mktemp("cube"))


@pytest.fixture(scope="module")
def cube(lake: Path) -> SpendCube:
    built = SpendCube.build(lake, KEYS, 60)
    assert built is not None
    return built


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("days", [7, 30])
@pytest.mark.parametrize("shape", ["compared", "daily top 2", "total", "weekly"])
def test_the_cube_answers_as_the_explorer(lake: Path, cube: SpendCube, key: str, days: int, shape: str) -> None:
    fields: dict[str, object] = {"group_by": [key], "last_days": days}
    if shape == "compared":
        fields["compare"] = True
    elif shape == "daily top 2":
        fields.update(granularity=Granularity.DAY, top=2)
    elif shape == "weekly":
        fields["granularity"] = Granularity.WEEK
    query = build_query(**fields)
    answer = cube.answer(query)
    assert answer is not None
    assert answer == run_spend_query(lake, query)
    assert answer.rows  # not an empty answer equal to an empty answer


def test_labels_show_the_latest_account_name_and_the_untagged(cube: SpendCube, lake: Path) -> None:
    accounts = cube.answer(build_query(group_by=["subaccount"], last_days=30))
    assert accounts is not None
    assert {r.keys["subaccount"] for r in accounts.rows} == {"research-renamed [111]", "222"}
    teams = cube.answer(build_query(group_by=["team"], last_days=30))
    assert teams is not None
    assert {r.keys["team"] for r in teams.rows} == {"ml", "search", "7", "(untagged)"}


def test_questions_it_cannot_answer_go_back_to_the_explorer(cube: SpendCube) -> None:
    assert cube.answer(build_query(group_by=["service"], last_days=60, compare=True)) is None  # 120 days
    assert cube.answer(build_query(group_by=["service", "region"], last_days=7)) is None
    assert cube.answer(build_query(group_by=["resource"], last_days=7)) is None
    assert cube.answer(build_query(group_by=["service"], last_days=7, metric="billed")) is None
    assert cube.answer(build_query(group_by=["service"], last_days=7,
                                   where=[SpendFilter(key="region", values=("region-0",))])) is None
    assert cube.answer(build_query(group_by=["team"], last_days=7, team_tag="owner")) is None
    assert cube.answer(build_query(group_by=["service"], start=FIRST + timedelta(days=50))) is None
    assert cube.answer(build_query(group_by=["feature"], last_days=7)) is None  # LLM usage


def test_an_empty_lake_says_so(tmp_path: Path) -> None:
    with pytest.raises(NoSpendData):
        SpendCube.build(tmp_path / "lake", KEYS, 60)


@pytest.fixture(scope="module")
def node_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node on the bill on two days, allocated on one (tests/lake/test_k8s_replaced.py)."""
    return write_node_lake(tmp_path_factory.mktemp("nodes"), allocated=True)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("shape", ["compared", "daily", "total"])
def test_the_cube_counts_an_allocated_node_once_as_the_explorer(node_lake: Path, key: str, shape: str) -> None:
    cube = SpendCube.build(node_lake, KEYS, 2)
    assert cube is not None
    fields: dict[str, object] = {"group_by": [key], "last_days": 2}
    if shape == "compared":
        fields.update(last_days=1, compare=True)
    elif shape == "daily":
        fields["granularity"] = Granularity.DAY
    query = build_query(**fields)
    answer = cube.answer(query)
    assert answer is not None
    assert answer == run_spend_query(node_lake, query)
    assert answer.rows
    if shape != "compared":  # the node's EC2 row of the allocated day is not in the cube's sums
        assert sum((r.amount for r in answer.rows), Decimal(0)) == Decimal("114")

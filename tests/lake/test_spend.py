"""The spend explorer (``lake.spend`` and ``spendpilot spend``) on a lake whose sums are known.

Rows go in through the real ingest path; every expected figure below is added up by hand from
the rows in ``hand_lake``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.config.helpers import invoke, one_error_line

from spendpilot.errors import BadArgument, NoSpendData
from spendpilot.lake import _dialect, ingest_file, ingest_llm_usage_file
from spendpilot.lake.spend import SpendResult, build_query, parse_filter, run_spend_query

from .focus_rows import FOCUS_HEADER, USAGE_HEADER, focus_row, usage_row, write_csv

D = Decimal
HEADER = [*FOCUS_HEADER, "BillingAccountName", "SubAccountId", "SubAccountName", "RegionId"]
PERIOD = {"start": date(2024, 9, 16), "end": date(2024, 9, 25)}
"""Ten days; the previous period of the same length is 2024-09-06 to 2024-09-15."""


def _row(i: int, day: int, service: str, billed: str, effective: str, list_: str, **more: str
         ) -> dict[str, str]:
    return focus_row(i, **{
        "ServiceName": service, "BilledCost": billed, "EffectiveCost": effective, "ListCost": list_,
        "ChargePeriodStart": f"2024-09-{day:02d} 00:00:00",
        "ChargePeriodEnd": f"2024-09-{day:02d} 01:00:00", "BillingAccountName": "Acme",
        "SubAccountId": "111", "SubAccountName": "research", "RegionId": "us-east-1", **more,
    })


@pytest.fixture(scope="module")
def hand_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only for the tests, so ingested once for the module."""
    home = tmp_path_factory.mktemp("spend-home")
    lake_dir = home / "lake"
    rows = [
        _row(1, 20, "EC2", "10", "7", "12", Tags='{"team": "ml"}'),
        _row(2, 21, "EC2", "5", "5", "5", SubAccountId="222", SubAccountName="prod",
             RegionId="eu-west-1", Tags='{"team": "web"}'),
        _row(3, 22, "S3", "2", "2", "2", Tags="NULL"),
        _row(4, 25, "S3", "3", "3", "3", BillingCurrency="EUR", BillingAccountId="acct-2",
             BillingAccountName="NULL", SubAccountId="NULL", SubAccountName="NULL",
             Tags='{" team ": "ml"}', ChargePeriodEnd="2024-09-26 00:00:00"),
        _row(5, 10, "EC2", "4", "4", "4", Tags='{"team": "ml"}'),  # previous period
        _row(6, 1, "EC2", "100", "100", "100", Tags='{"team": "ml"}'),  # in neither period
    ]
    ingest_file(write_csv(home / "bill.csv", rows, HEADER), lake_dir)
    return lake_dir


def _spend(lake: Path, **fields: object) -> SpendResult:
    return run_spend_query(lake, build_query(**{**PERIOD, **fields}))


def _amounts(result: SpendResult) -> dict[tuple[str, ...], tuple[str, Decimal]]:
    return {tuple(r.keys.values()): (r.currency, r.amount) for r in result.rows}


def test_totals_per_service_are_per_currency(hand_lake: Path):
    result = _spend(hand_lake, group_by=["service"])
    assert [(r.keys["service"], r.currency, r.amount) for r in result.rows] == [
        ("S3", "EUR", D(3)), ("EC2", "USD", D(12)), ("S3", "USD", D(2)),
    ]
    assert [(t.currency, t.amount) for t in result.totals] == [("EUR", D(3)), ("USD", D(14))]
    assert result.rows[1].share == D("0.8571")  # 12 of the 14 USD, never of 17 "money"
    assert result.rows[0].share == D(1)


def test_metric_picks_billed_effective_or_list_cost(hand_lake: Path):
    def ec2(metric: str) -> Decimal:
        return _amounts(_spend(hand_lake, group_by=["service"], metric=metric))[("EC2",)][1]

    assert (ec2("effective"), ec2("billed"), ec2("list")) == (D(12), D(15), D(17))
    assert _spend(hand_lake, metric="billed").metric == "BilledCost"


def test_compare_adds_the_previous_period_of_the_same_length(hand_lake: Path):
    result = _spend(hand_lake, group_by=["service"], compare=True)
    assert (result.previous_start, result.previous_end) == (date(2024, 9, 6), date(2024, 9, 15))
    ec2 = next(r for r in result.rows if r.keys["service"] == "EC2")
    assert (ec2.previous, ec2.delta, ec2.delta_pct) == (D(4), D(8), D("200.0"))
    s3 = next(r for r in result.rows if r.keys == {"service": "S3"} and r.currency == "USD")
    assert (s3.previous, s3.delta, s3.delta_pct) == (D(0), D(2), None)  # new: no percentage
    usd = next(t for t in result.totals if t.currency == "USD")
    assert (usd.amount, usd.previous, usd.delta, usd.delta_pct) == (D(14), D(4), D(10), D("250.0"))


def test_accounts_show_names_with_the_id_and_fall_back_to_the_id(hand_lake: Path):
    assert _amounts(_spend(hand_lake, group_by=["account"])) == {
        ("acct-2",): ("EUR", D(3)), ("Acme [acct-1]",): ("USD", D(14)),
    }
    assert _amounts(_spend(hand_lake, group_by=["subaccount"])) == {
        ("(none)",): ("EUR", D(3)), ("research [111]",): ("USD", D(9)), ("prod [222]",): ("USD", D(5)),
    }


def test_tags_group_with_trimmed_keys_and_untagged_rows(hand_lake: Path):
    by_team = _spend(hand_lake, group_by=["team"])
    assert [(r.keys["team"], r.currency, r.amount) for r in by_team.rows] == [
        ("ml", "EUR", D(3)), ("ml", "USD", D(7)), ("web", "USD", D(5)), ("(untagged)", "USD", D(2)),
    ]
    by_tag = _spend(hand_lake, group_by=["tag:team"])
    assert [(r.keys["tag:team"], r.amount) for r in by_tag.rows] == [(r.keys["team"], r.amount) for r in by_team.rows]


def test_team_tag_is_configurable(hand_lake: Path):
    result = _spend(hand_lake, group_by=["team"], team_tag="owner")
    assert [(r.keys["team"], r.currency, r.amount) for r in result.rows] == [
        ("(untagged)", "EUR", D(3)), ("(untagged)", "USD", D(14)),
    ]


def test_filters_match_values_names_and_missing_tags(hand_lake: Path):
    untagged = _spend(hand_lake, where=[parse_filter("tag:team=(untagged)")])
    assert [(t.currency, t.amount) for t in untagged.totals] == [("USD", D(2))]
    by_name = _spend(hand_lake, group_by=["service"], where=[parse_filter("account=Acme")])
    assert _amounts(by_name) == {("EC2",): ("USD", D(12)), ("S3",): ("USD", D(2))}
    either = _spend(hand_lake, where=[parse_filter("region=eu-west-1,us-east-1"), parse_filter("service=EC2")])
    assert [(t.currency, t.amount) for t in either.totals] == [("USD", D(12))]


def test_top_folds_the_rest_into_other_per_currency(hand_lake: Path):
    result = _spend(hand_lake, group_by=["service"], top=1)
    assert [(r.keys["service"], r.currency, r.amount, r.groups) for r in result.rows] == [
        ("S3", "EUR", D(3), 1), ("EC2", "USD", D(12), 1), ("(other)", "USD", D(2), 1),
    ]


def test_daily_series_puts_each_charge_in_its_day(hand_lake: Path):
    result = _spend(hand_lake, group_by=["service"], granularity="day", where=[parse_filter("service=EC2")])
    assert [(r.bucket, r.amount) for r in result.rows] == [(date(2024, 9, 20), D(7)), (date(2024, 9, 21), D(5))]
    weekly = _spend(hand_lake, granularity="week")
    assert {(r.bucket, r.currency): r.amount for r in weekly.rows} == {
        (date(2024, 9, 16), "USD"): D(14), (date(2024, 9, 23), "EUR"): D(3),  # weeks start on Monday
    }


def test_default_period_is_the_last_30_full_days_of_data(hand_lake: Path):
    result = run_spend_query(hand_lake, build_query())
    # The latest charge ends 2024-09-26 00:00, so 09-25 is the last full day.
    assert (result.start, result.end, result.latest_data) == (date(2024, 8, 27), date(2024, 9, 25), date(2024, 9, 25))
    assert [(t.currency, t.amount) for t in result.totals] == [("EUR", D(3)), ("USD", D(118))]
    last_week = run_spend_query(hand_lake, build_query(last_days=7))
    assert last_week.start == date(2024, 9, 19)


def test_bad_queries_are_one_line_errors(hand_lake: Path, lake_dir: Path):
    with pytest.raises(BadArgument, match="unknown group key 'colour'; valid keys: service, account"):
        build_query(group_by=["colour"])
    with pytest.raises(BadArgument, match="LLM usage has no service"):
        build_query(group_by=["feature", "service"], source="llm_usage")
    with pytest.raises(NoSpendData):
        run_spend_query(lake_dir.parent / "empty", build_query())


def test_llm_usage_unit_costs_and_unknown_requests(tmp_path: Path, lake_dir: Path):
    rows = [
        usage_row(0, feature="chat", model="gpt-4.1", requests="100", input_tokens="8000",
                  output_tokens="2000", cost="0.50"),
        usage_row(1, feature="chat", model="gpt-4.1", requests="300", input_tokens="30000",
                  output_tokens="10000", cost="1.50"),
        usage_row(1, feature="batch", model="gpt-4.1-mini", requests="0", input_tokens="0",
                  output_tokens="0", cost="1.00", provider="anthropic"),
    ]
    ingest_llm_usage_file(write_csv(tmp_path / "usage.csv", rows, USAGE_HEADER), lake_dir)
    result = run_spend_query(lake_dir, build_query(group_by=["feature"]))
    assert result.source == "llm_usage"
    chat, batch = result.rows
    assert (chat.keys, chat.amount, chat.requests, chat.tokens) == ({"feature": "chat"}, D(2), 400, 50000)
    assert (chat.cost_per_request, chat.cost_per_1k_tokens) == (D("0.005"), D("0.04"))
    assert (batch.amount, batch.cost_per_request, batch.cost_per_1k_tokens) == (D(1), None, None)
    assert any("unknown, not zero" in note for note in result.notes)


def test_the_focus_sample_total_equals_duckdbs_own_sum(focus_sample: Path, lake_dir: Path):
    ingest_file(focus_sample, lake_dir)
    everything = {"start": date(2000, 1, 1), "end": date(2099, 12, 31)}
    con = _dialect.connect()
    files = _dialect.parquet_relation(str(lake_dir / "focus" / "**" / "*.parquet"))
    oracle = {
        (svc, cur): total for svc, cur, total in con.sql(
            f'SELECT "ServiceName", "BillingCurrency", sum("BilledCost") FROM {files} GROUP BY ALL'
        ).fetchall()
    }
    con.close()
    result = run_spend_query(lake_dir, build_query(group_by=["service"], metric="billed", **everything))
    assert {(r.keys["service"], r.currency): r.amount for r in result.rows} == oracle
    assert sum(oracle.values()) == sum(t.amount for t in result.totals)


# --- the command ---------------------------------------------------------------------------------


def _cli(lake: Path, *args: str):
    return invoke("spend", "--home", str(lake.parent), "--from", "2024-09-16", "--to", "2024-09-25", *args)


def test_cli_table_states_period_metric_and_totals(hand_lake: Path):
    out = _cli(hand_lake, "--by", "account", "--compare")
    assert out.exit_code == 0, out.output
    header = out.output.splitlines()[0]
    assert "2024-09-16 → 2024-09-25 (10 days" in header
    assert "EffectiveCost" in header and "€3.00 · $14.00" in header
    assert "Acme [acct-1]" in out.output and "+250.0%" in out.output


def test_cli_csv_is_long_and_exact(hand_lake: Path, tmp_path: Path):
    target = tmp_path / "spend.csv"
    out = _cli(hand_lake, "--by", "service,team", "--csv", "--output", str(target))
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert list(rows[0]) == ["service", "team", "currency", "amount", "previous_amount", "delta",
                             "delta_pct", "share", "groups"]
    assert [(r["service"], r["team"], r["currency"], r["amount"]) for r in rows] == [
        ("S3", "ml", "EUR", "3"), ("EC2", "ml", "USD", "7"), ("EC2", "web", "USD", "5"),
        ("S3", "(untagged)", "USD", "2"),
    ]


def test_cli_json_carries_exact_decimals_and_the_period(hand_lake: Path):
    out = _cli(hand_lake, "--by", "service", "--json", "--metric", "billed")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert (data["start"], data["end"], data["days"], data["metric"]) == ("2024-09-16", "2024-09-25", 10, "BilledCost")
    assert [(t["currency"], D(t["amount"])) for t in data["totals"]] == [("EUR", D(3)), ("USD", D(17))]
    assert {"keys", "currency", "amount", "previous", "delta", "delta_pct", "share"} <= set(data["rows"][0])


def test_cli_exit_codes_for_empty_lake_and_unknown_key(tmp_path: Path, hand_lake: Path):
    empty = invoke("spend", "--home", str(tmp_path / "nothing"))
    assert empty.exit_code == 4
    assert "no billing data" in one_error_line(empty.stderr)
    unknown = _cli(hand_lake, "--by", "service,colour")
    assert unknown.exit_code == 2
    assert "valid keys: service, account, subaccount, region" in one_error_line(unknown.stderr)


def test_sums_stay_exact_past_the_plain_decimal_limit(tmp_path: Path, lake_dir: Path):
    """Costs near DECIMAL(38, 12)'s limit (a lake written before ingest bounded them) overflow a
    plain SUM; the spend query answers anyway, exactly, in both periods."""
    ingest_file(write_csv(tmp_path / "ok.csv", [focus_row(i) for i in range(3)]), lake_dir)
    stored = next((lake_dir / "focus").rglob("*.parquet"))
    table = pq.read_table(stored)
    huge = D("99999999999999999999999999.5")
    column = table.schema.get_field_index("EffectiveCost")
    pq.write_table(table.set_column(column, "EffectiveCost", pa.array([huge] * 3, table.schema.field(column).type)),
                   stored.with_name("legacy-0000aaaa.parquet"))
    result = run_spend_query(lake_dir, build_query(start=date(2024, 9, 1), end=date(2024, 9, 30), compare=True))
    assert [(t.amount, t.previous) for t in result.totals] == [(huge * 3 + D("4.5"), D(0))]

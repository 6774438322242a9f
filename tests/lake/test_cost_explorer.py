"""Cost Explorer GetCostAndUsage into the lake, against moto in server mode over HTTP.

moto 5.2.5 answers ``ce:GetCostAndUsage`` from a queue seeded through its
``/moto-api/static/ce/cost-and-usage-results`` endpoint: each distinct request body takes the next
queued reply, so a request carrying a NextPageToken gets the second page. The replies are
tests/data/cost-explorer (see its PROVENANCE.md). Refusals (AccessDenied, throttling) come from
the scripted reply server, since moto cannot be made to refuse.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from tests.adapters.reply_server import FAST_AWS, Reply, reply_server
from tests.conftest import DATA, run_cli
from tests.lake.cur_files import CUR2_CSV

from spendpilot.errors import AdapterError, IngestError
from spendpilot.lake import ingest_file
from spendpilot.lake.cost_explorer import (
    CE_SOURCE,
    CostExplorerQuery,
    ingest_cost_explorer,
    month_window,
    resolve_billing_account,
)

PAGES = json.loads((DATA / "cost-explorer" / "get_cost_and_usage_pages.json").read_text())
SEPTEMBER = CostExplorerQuery(start=date(2024, 9, 1), end=date(2024, 10, 1))
PAYER = "111122223333"
CUR2_TOTAL = Decimal("1736.8584395061")


def _metric_sum(name: str) -> Decimal:
    return sum((Decimal(g["Metrics"][name]["Amount"]) for page in PAGES for r in page["ResultsByTime"]
                for g in r["Groups"]), Decimal(0))


def _seed(endpoint: str, pages: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/static/ce/cost-and-usage-results", data=json.dumps({"results": pages}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - the local emulator
        assert reply.status == 201


def _ce(endpoint: str) -> Any:
    return boto3.client("ce", endpoint_url=endpoint, region_name="us-east-1")


def _lake(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW focus AS SELECT * FROM read_parquet('{lake}/focus/*/*/*.parquet', "
                    "union_by_name = true)")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_pages_are_followed_and_amounts_kept_exactly(aws_endpoint: str, tmp_path: Path) -> None:
    _seed(aws_endpoint, PAGES)
    lake = tmp_path / "lake"
    result = ingest_cost_explorer(_ce(aws_endpoint), SEPTEMBER, lake, PAYER)

    assert result.pages == 2 and result.rows_received == 4
    assert result.report is not None and result.report.rows_stored == 4
    assert result.report.rows_quarantined == 0
    [(billed, effective, rows)] = _lake(lake, "SELECT sum(BilledCost), sum(EffectiveCost), count(*) FROM focus")
    assert (Decimal(billed), Decimal(effective), rows) == (_metric_sum("UnblendedCost"),
                                                           _metric_sum("AmortizedCost"), 4)
    assert _metric_sum("UnblendedCost") == Decimal("290.8734567892")
    labelled = _lake(lake, "SELECT DISTINCT x_Source, x_Granularity, BillingAccountId, ProviderName FROM focus")
    assert labelled == [(CE_SOURCE, "DAILY", PAYER, "AWS")]
    by_day = _lake(lake, "SELECT strftime(ChargePeriodStart, '%Y-%m-%d'), ServiceName, SubAccountId, x_Estimated "
                         "FROM focus ORDER BY 1, 2")
    assert by_day == [
        ("2024-09-01", "Amazon Elastic Compute Cloud - Compute", "111122223333", "false"),
        ("2024-09-01", "Amazon SageMaker", "444455556666", "false"),
        ("2024-09-02", "Amazon Elastic Compute Cloud - Compute", "111122223333", "true"),
        ("2024-09-02", "Amazon SageMaker", "444455556666", "true"),
    ]


def test_cur_replaces_cost_explorer_rows_and_then_wins(aws_endpoint: str, tmp_path: Path) -> None:
    _seed(aws_endpoint, PAGES)
    lake = tmp_path / "lake"
    ingest_cost_explorer(_ce(aws_endpoint), SEPTEMBER, lake, PAYER)

    cur = ingest_file(CUR2_CSV, lake)
    assert cur.rows_replaced == 4  # the same payer's September: CUR restates Cost Explorer's rows
    [(total, rows)] = _lake(lake, "SELECT sum(BilledCost), count(*) FROM focus")
    assert (Decimal(total), rows) == (CUR2_TOTAL, 13)  # the CUR's 13 lines, no Cost Explorer row left

    again = ingest_cost_explorer(_ce(aws_endpoint), SEPTEMBER, lake, PAYER)  # moto replays the same pages
    assert again.rows_received == 4
    assert again.months_left_to_cur == ["2024-09"] and again.report is None
    [(total_after,)] = _lake(lake, "SELECT sum(BilledCost) FROM focus")
    assert Decimal(total_after) == CUR2_TOTAL


def test_another_payer_is_not_left_out(aws_endpoint: str, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest_file(CUR2_CSV, lake)
    _seed(aws_endpoint, PAGES)
    result = ingest_cost_explorer(_ce(aws_endpoint), SEPTEMBER, lake, "999988887777")
    assert result.months_left_to_cur == []
    assert result.report is not None and result.report.rows_stored == 4


def test_ungrouped_reply_uses_the_total(aws_endpoint: str, tmp_path: Path) -> None:
    page = {"ResultsByTime": [{"TimePeriod": {"Start": "2024-09-01", "End": "2024-09-02"},
                               "Total": {"UnblendedCost": {"Amount": "12.5", "Unit": "USD"},
                                         "AmortizedCost": {"Amount": "10", "Unit": "USD"}},
                               "Groups": [], "Estimated": False}]}
    _seed(aws_endpoint, [page])
    lake = tmp_path / "lake"
    query = CostExplorerQuery(start=date(2024, 9, 1), end=date(2024, 10, 1), group_by=[])
    ingest_cost_explorer(_ce(aws_endpoint), query, lake, PAYER)
    [(service, billed, effective)] = _lake(lake, "SELECT ServiceName, BilledCost, EffectiveCost FROM focus")
    assert (service, Decimal(billed), Decimal(effective)) == (
        "AWS (all services, Cost Explorer)", Decimal("12.5"), Decimal("10"))


def test_tag_and_record_type_groups(aws_endpoint: str, tmp_path: Path) -> None:
    page = {"ResultsByTime": [{"TimePeriod": {"Start": "2024-09-01", "End": "2024-09-02"}, "Total": {},
                               "Groups": [
                                   {"Keys": ["team$ml", "Credit"], "Metrics": {
                                       "UnblendedCost": {"Amount": "-5", "Unit": "USD"},
                                       "AmortizedCost": {"Amount": "-5", "Unit": "USD"}}},
                                   {"Keys": ["team$", "Usage"], "Metrics": {
                                       "UnblendedCost": {"Amount": "7", "Unit": "USD"},
                                       "AmortizedCost": {"Amount": "6", "Unit": "USD"}}}],
                               "Estimated": False}]}
    _seed(aws_endpoint, [page])
    lake = tmp_path / "lake"
    query = CostExplorerQuery(start=date(2024, 9, 1), end=date(2024, 10, 1), group_by=["TAG:team", "RECORD_TYPE"])
    ingest_cost_explorer(_ce(aws_endpoint), query, lake, PAYER)
    rows = _lake(lake, "SELECT ChargeCategory, Tags::VARCHAR, BilledCost::VARCHAR FROM focus ORDER BY 3")
    assert rows[0][0] == "Credit" and json.loads(rows[0][1]) == {"team": "ml"}
    assert rows[1][0] == "Usage" and rows[1][1] is None  # "team$" is the untagged group


def test_reply_missing_a_metric_stores_nothing(aws_endpoint: str, tmp_path: Path) -> None:
    page = json.loads(json.dumps(PAGES[1]))
    del page["ResultsByTime"][0]["Groups"][1]["Metrics"]["AmortizedCost"]
    _seed(aws_endpoint, [page])
    lake = tmp_path / "lake"
    with pytest.raises(IngestError, match=r"2024-09-02 Amazon SageMaker/444455556666: no AmortizedCost"):
        ingest_cost_explorer(_ce(aws_endpoint), SEPTEMBER, lake, PAYER)
    assert not list(lake.glob("focus/*/*/*.parquet"))


@pytest.mark.parametrize(("code", "status", "words"), [
    ("AccessDeniedException", 400, "ce:GetCostAndUsage denied"),
    ("LimitExceededException", 400, "LimitExceededException"),
    ("ThrottlingException", 400, "ThrottlingException"),
])
def test_refusals_are_named_and_store_nothing(tmp_path: Path, code: str, status: int, words: str) -> None:
    body = json.dumps({"__type": code, "message": "scripted"}).encode()
    refusal = Reply(status=status, body=body, content_type="application/x-amz-json-1.1")
    with reply_server(refusal) as server:
        ce = boto3.client("ce", endpoint_url=server.url, region_name="us-east-1", config=FAST_AWS)
        with pytest.raises(AdapterError, match=words) as raised:
            ingest_cost_explorer(ce, SEPTEMBER, tmp_path / "lake", PAYER)
    assert "Cost Explorer not read: nothing stored" in str(raised.value)
    assert not (tmp_path / "lake").exists() or not list((tmp_path / "lake").glob("focus/*/*/*.parquet"))


def test_endless_next_page_token_is_bounded(tmp_path: Path) -> None:
    from spendpilot.lake import cost_explorer

    body = json.dumps({"ResultsByTime": [], "NextPageToken": "again"}).encode()
    with reply_server(Reply(body=body, content_type="application/x-amz-json-1.1")) as server:
        ce = boto3.client("ce", endpoint_url=server.url, region_name="us-east-1", config=FAST_AWS)
        with pytest.raises(IngestError, match=f"after {cost_explorer.MAX_PAGES} pages"):
            ingest_cost_explorer(ce, SEPTEMBER, tmp_path / "lake", PAYER)


def test_billing_account_is_the_management_account(aws_endpoint: str) -> None:
    organizations = boto3.client("organizations", endpoint_url=aws_endpoint, region_name="us-east-1")
    sts = boto3.client("sts", endpoint_url=aws_endpoint, region_name="us-east-1")
    caller = sts.get_caller_identity()["Account"]
    assert resolve_billing_account(organizations, sts) == caller  # no organisation: its own payer
    master = organizations.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    assert resolve_billing_account(organizations, sts) == master


def test_month_window_is_whole_months() -> None:
    assert month_window(date(2025, 2, 10), 3) == (date(2024, 12, 1), date(2025, 2, 11))
    assert month_window(date(2025, 1, 31), 1) == (date(2025, 1, 1), date(2025, 2, 1))
    with pytest.raises(IngestError):
        ingest_cost_explorer(None, CostExplorerQuery(start=date(2024, 9, 2), end=date(2024, 10, 1)),
                             Path("unused"), PAYER)


def test_cli_ingest_cost_explorer(aws_endpoint: str, tmp_path: Path) -> None:
    _seed(aws_endpoint, PAGES)
    env = {"SPENDPILOT_HOME": str(tmp_path / "home"), "SPENDPILOT_AWS__ENDPOINT_URL": aws_endpoint}
    done = run_cli("ingest-cost-explorer", "--months", "1", "--billing-account", PAYER, env=env)
    assert done.returncode == 0, done.stderr
    assert "2 page(s), 4 daily rows received · stored 4" in done.stdout
    bad = run_cli("ingest-cost-explorer", "--group-by", "SERVICE,REGION,USAGE_TYPE", env=env)
    assert bad.returncode == 2 and "--group-by" in bad.stderr

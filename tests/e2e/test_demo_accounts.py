"""The demo organisation's second account, second region, EBS, SageMaker and CUR 2.0 export (issue 7).

The session's demo (``demo_fixtures.demo_template``) is seeded by ``prepare_scenario`` and swept by
the real ``spendpilot sweep --json`` with the demo's ``[[aws.accounts]]`` (``accounts.yaml``): the
proposals below come from three (account, region) sources of one emulator.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.demo_fixtures import DemoTemplate

from spendpilot.lake import ingest_file
from spendpilot.lake.query import CostLake
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios import load_scenario, locate_scenario
from spendpilot.scenarios.demo_aws_ml import (
    SeededAccountRegion,
    accounts_config,
    cur2_rows,
    write_cur2_export,
)
from spendpilot.scenarios.seed import SeededInstance, SeededOrg

MAIN, ML = "123456789012", "210987654321"

WHERE = {
    # target: (rule, account, region, expected $/month)
    "old-training-scratch": ("unattached_ebs_volume", MAIN, "us-east-1", "25.00"),
    "inference-model-cache": ("gp2_volume", MAIN, "us-east-1", "15.00"),
    "dataset-v3-before-resize": ("old_ebs_snapshot", MAIN, "us-east-1", "25.00"),
    "reranker-staging": ("idle_sagemaker_endpoint", ML, "us-east-1", "673.06"),
    "research-sandbox": ("idle_notebook_instance", ML, "us-east-1", "167.90"),
    "llm-finetune-0412": ("zombie_training_job", ML, "us-east-1", "242.40"),
    "eval-g5-idle": ("idle_gpu_instance", ML, "us-west-2", "734.38"),
}
"""What the grown demo proposes outside the original four, where, and for how much (a run's figures)."""


def test_the_demo_proposes_ebs_sagemaker_and_the_second_account_and_region_naming_where(
    demo_template: DemoTemplate,
) -> None:
    found = {p["target"]["name"]: p for p in demo_template.sweep["proposals"]}
    for target, (rule, account, region, expected) in WHERE.items():
        assert target in found, f"no proposal for {target}: {sorted(found)}"
        p = found[target]
        assert p["rule"] == rule
        assert (p["target"]["account"], p["target"]["region"]) == (account, region), p["target"]
        assert Decimal(p["estimated_monthly_savings"]["expected"]) == Decimal(expected), (target, p["estimated_monthly_savings"])
    for trap in ("db-primary-data", "etl-staging", "features-weekly", "fraud-scoring", "team-analysis",
                 "churn-retrain-0502", "eval-g5-busy"):
        assert trap not in found, f"fell into the look-alike {trap}"
    read = [s.split(":")[0] for s in demo_template.sweep["report"]["sources"]]
    assert "acme-ml-platform us-east-1" in read and "acme-ml-platform us-west-2" in read, read
    assert not demo_template.sweep["report"]["gaps"]


def test_the_demo_ingests_the_ml_accounts_cur_2_export_beside_the_focus_one(demo_template: DemoTemplate) -> None:
    """The lake holds the ML account's CUR 2.0 lines as FOCUS rows of its own billing account, next
    to (not replacing) the main account's FOCUS export."""
    cur = demo_template.home / "inputs" / "cur2_ml_accounts.csv"
    assert cur.is_file()
    with cur.open() as fh:
        rows = list(csv.DictReader(fh))
    billed = sum(Decimal(r["line_item_unblended_cost"]) for r in rows)
    lake = CostLake(Path(demo_template.home) / "lake")
    by_account = {r["account"]: r for r in lake._rows(
        'SELECT "BillingAccountId" AS account, count(*) AS n, sum("BilledCost") AS billed FROM focus GROUP BY 1')}
    assert {MAIN, ML} <= set(by_account), by_account  # (and the LLM usage's own billing account)
    assert by_account[ML]["n"] == len(rows) and Decimal(str(by_account[ML]["billed"])) == billed
    resources = {r["line_item_resource_id"] for r in rows}
    assert f"arn:aws:sagemaker:us-east-1:{ML}:endpoint/reranker-staging" in resources
    assert f"arn:aws:sagemaker:us-east-1:{ML}:notebook-instance/research-sandbox" in resources
    ml_instances = {i.instance_id for part in demo_template.org.accounts for i in part.org.instances}
    assert len(ml_instances) == 2 and ml_instances <= resources, "the us-west-2 instances, by their emulator ids"


def test_cur_2_export_lines_are_hours_times_list_price_and_ingest_reads_them_as_cur_2(tmp_path: Path) -> None:
    """Without the emulator: the ML account's lines for one instance launched 36 h ago and the
    scenario's SageMaker resources, at the price book's prices, and ``ingest`` detecting CUR 2.0."""
    scenario = load_scenario(locate_scenario("demo"))
    acct = scenario.accounts.accounts[0]
    now = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
    box = SeededInstance("i-0123456789abcdef0", "eval-g5-idle", "g5.xlarge", {"Name": "eval-g5-idle", "team": "ml"},
                         now - timedelta(hours=36))
    seeded = [SeededAccountRegion(acct, "us-west-2", SeededOrg(instances=[box])),
              SeededAccountRegion(acct, "us-east-1", SeededOrg())]
    rows = cur2_rows(scenario, seeded, now, PriceBook.bundled())
    box_rows = [r for r in rows if r["line_item_resource_id"] == box.instance_id]
    # launched 2026-12-02 02:30: 21.5 h that day; today (2026-12-03) is not a whole day yet
    assert [(r["line_item_usage_start_date"], r["line_item_usage_amount"]) for r in box_rows] == [
        ("2026-12-02T00:00:00Z", "21.5000")]
    assert box_rows[0]["line_item_usage_type"] == "USW2-BoxUsage:g5.xlarge"
    assert Decimal(box_rows[0]["line_item_unblended_cost"]) == Decimal("21.5") * Decimal("1.006")
    endpoint = [r for r in rows if r["line_item_resource_id"].endswith("endpoint/reranker-staging")]
    assert len(endpoint) == 30 and {r["line_item_usage_amount"] for r in endpoint} == {"48.0000"}  # 2 instances x 24 h
    job = [r for r in rows if r["line_item_resource_id"].endswith("training-job/llm-finetune-0412")]
    assert [r["line_item_usage_amount"] for r in job] == ["3.0000", "48.0000"]  # 2 instances: 1.5 h, then all day

    path = write_cur2_export(scenario, seeded, now, tmp_path)
    assert path is not None
    report = ingest_file(path, tmp_path / "lake")
    assert report.format == "CUR 2.0"
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (len(rows), len(rows), 0)
    assert write_cur2_export(scenario, [], now, tmp_path) is None


def test_accounts_config_is_the_main_account_then_each_role() -> None:
    scenario = load_scenario(locate_scenario("demo"))
    assert accounts_config(scenario) == [
        {"account_id": MAIN, "regions": ["us-east-1"], "name": "acme-ai"},
        {"role_arn": f"arn:aws:iam::{ML}:role/spendpilot", "regions": ["us-east-1", "us-west-2"],
         "metric_lookback_days": 8, "name": "acme-ml-platform"},
    ]

"""Realized savings measured from a real lake (FOCUS CSV ingested into Parquet, read by DuckDB)
and a real state store (an executed proposal whose execution the audit log dates)."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from tests.state.builders import build_home, make_proposal

from spendpilot.domain import Approval, Decision, ExecutionStatus, ProposalStatus, ResourceRef
from spendpilot.lake.ingest import ingest_file
from spendpilot.savings.realized import (
    RealizedSettings,
    RealizedStatus,
    measure,
    realized_for,
    realized_rows,
    realized_savings,
)
from spendpilot.scenarios.synth import FOCUS_COLUMNS

HOURLY = Decimal("1.006")  # g5.xlarge on-demand, us-east-1
EXECUTED = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def focus_row(day: date, cost: Decimal, resource_id: str, name: str = "", *, currency: str = "USD",
              account: str = "111122223333", service: str = "Amazon Elastic Compute Cloud") -> dict[str, str]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    row = dict.fromkeys(FOCUS_COLUMNS, "")
    row.update({
        "BilledCost": str(cost), "EffectiveCost": str(cost), "ListCost": str(cost),
        "BillingAccountId": account, "BillingAccountName": "lab", "BillingCurrency": currency,
        "BillingPeriodStart": f"{start} 00:00:00", "BillingPeriodEnd": f"{end} 00:00:00",
        "ChargeCategory": "Usage", "ChargePeriodStart": f"{day} 00:00:00",
        "ChargePeriodEnd": f"{day + timedelta(days=1)} 00:00:00", "ProviderName": "AWS",
        "PublisherName": "AWS", "InvoiceIssuerName": "AWS", "ServiceName": service, "ServiceCategory": "Compute",
        "ResourceId": resource_id, "ResourceName": name,
    })
    return row


def write_lake(tmp: Path, rows: list[dict[str, str]]) -> Path:
    lake = tmp / "lake"
    path = tmp / f"bill-{len(list(tmp.glob('bill-*.csv')))}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FOCUS_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    report = ingest_file(path, lake)
    assert report.rows_quarantined == 0, report
    return lake


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=d) for d in range((last - first).days + 1)]


def instance_bill(execution_day: date, *, after_hourly: Decimal, before_days: int = 10, after_days: int = 8,
                  instance: str = "i-0e1") -> list[dict[str, str]]:
    """An instance billed at HOURLY before the execution day and ``after_hourly`` after it, and a
    neighbour billed throughout (so the bill's coverage does not depend on the instance)."""
    rows = []
    for day in days(execution_day - timedelta(days=before_days), execution_day + timedelta(days=after_days)):
        hourly = HOURLY if day < execution_day else after_hourly
        if day == execution_day:
            hourly = HOURLY / 2
        if hourly:
            rows.append(focus_row(day, hourly * 24, instance, f"gpu-{instance}"))
        rows.append(focus_row(day, Decimal("5.00"), "vol-0keep", "data"))
    return rows


def test_stopped_instance_realizes_its_compute_run_rate(tmp_path: Path) -> None:
    lake = write_lake(tmp_path, instance_bill(EXECUTED.date(), after_hourly=Decimal(0)))
    p = make_proposal("sp-stop0001", "i-0e1", expected="734.38")
    r = measure(p, EXECUTED, lake_of(lake), now=datetime(2026, 12, 1, tzinfo=UTC))
    assert r.status is RealizedStatus.MEASURED
    assert r.before_window.label() == "2026-11-13–2026-11-19"
    assert r.after_window.label() == "2026-11-21–2026-11-27"
    assert r.before_window.cost == HOURLY * 24 * 7 and r.after_window.cost == 0
    assert r.realized_monthly == Decimal("734.38")  # $734.38: 730 h, the month the estimators use
    assert r.error == pytest.approx(0.0, abs=1e-6)
    assert r.line() == "realized $734.38/month vs estimated $734.38 (measured 2026-11-13–2026-11-19 vs 2026-11-21–2026-11-27)"


def test_no_drop_is_reported_as_zero_realized_not_hidden(tmp_path: Path) -> None:
    lake = write_lake(tmp_path, instance_bill(EXECUTED.date(), after_hourly=HOURLY))
    r = measure(make_proposal("sp-stop0002", "i-0e1", expected="734.38"), EXECUTED, lake_of(lake),
                now=datetime(2026, 12, 1, tzinfo=UTC))
    assert r.status is RealizedStatus.MEASURED
    assert r.realized_monthly == 0
    assert r.error == pytest.approx(1.0)  # the estimate promised everything the bill does not show
    assert r.in_range is False


def test_partial_after_window_is_measuring_with_its_ready_date(tmp_path: Path) -> None:
    lake = write_lake(tmp_path, instance_bill(EXECUTED.date(), after_hourly=Decimal(0), after_days=4))
    r = measure(make_proposal("sp-stop0003", "i-0e1"), EXECUTED, lake_of(lake), now=datetime(2026, 12, 1, tzinfo=UTC))
    assert r.status is RealizedStatus.MEASURING and r.realized_monthly is None
    assert r.ready_on == date(2026, 11, 28)
    assert r.line().startswith("measuring, ready on 2026-11-28")
    # a complete bill still waits for the window to end in time
    (tmp_path / "full").mkdir()
    full = write_lake(tmp_path / "full", instance_bill(EXECUTED.date(), after_hourly=Decimal(0)))
    early = measure(make_proposal("sp-stop0003", "i-0e1"), EXECUTED, lake_of(full), now=datetime(2026, 11, 25, tzinfo=UTC))
    assert early.status is RealizedStatus.MEASURING


def test_resource_absent_from_the_bill_is_named_not_zero(tmp_path: Path) -> None:
    lake = write_lake(tmp_path, instance_bill(EXECUTED.date(), after_hourly=Decimal(0), instance="i-other"))
    r = measure(make_proposal("sp-stop0004", "i-0e1"), EXECUTED, lake_of(lake), now=datetime(2026, 12, 1, tzinfo=UTC))
    assert r.status is RealizedStatus.NOT_IN_BILL and r.realized_monthly is None
    assert "no FOCUS row names ec2_instance gpu-i-0e1" in r.line()
    (tmp_path / "empty").mkdir()
    nothing = measure(make_proposal("sp-stop0004", "i-0e1"), EXECUTED, lake_of(tmp_path / "empty"),
                      now=datetime(2026, 12, 1, tzinfo=UTC))
    assert nothing.status is RealizedStatus.NOT_IN_BILL and "no billing rows" in nothing.line()


def test_bill_starting_inside_the_before_window_has_no_baseline(tmp_path: Path) -> None:
    lake = write_lake(tmp_path, instance_bill(EXECUTED.date(), after_hourly=Decimal(0), before_days=3))
    r = measure(make_proposal("sp-stop0005", "i-0e1"), EXECUTED, lake_of(lake), now=datetime(2026, 12, 1, tzinfo=UTC))
    assert r.status is RealizedStatus.NO_BASELINE and r.realized_monthly is None
    # a shorter window fits the bill it has
    short = measure(make_proposal("sp-stop0005", "i-0e1"), EXECUTED, lake_of(lake),
                    settings=RealizedSettings(window_days=3), now=datetime(2026, 12, 1, tzinfo=UTC))
    assert short.status is RealizedStatus.MEASURED and short.realized_monthly == Decimal("734.38")


def test_feature_is_measured_over_all_its_models(tmp_path: Path) -> None:
    """Routing moves a feature's tokens to a cheaper model: the saving is the feature's drop, not
    the old model's disappearance."""
    rows = []
    for day in days(date(2026, 11, 10), date(2026, 11, 28)):
        model, cost = ("gpt-4o", Decimal("30")) if day < EXECUTED.date() else ("gpt-4o-mini", Decimal("2"))
        row = focus_row(day, cost, f"proj/{model}", "support-chat", account="org-openai", service="OpenAI API")
        rows.append(row | {"SkuId": model, "ProviderName": "OpenAI", "ServiceCategory": "AI and Machine Learning"})
    lake = write_lake(tmp_path, rows)
    p = make_proposal("sp-route001", "x", expected="851.67").model_copy(update={
        "target": ResourceRef(provider="openai", kind="llm_feature", id="support-chat@gpt-4o", name="support-chat"),
        "action": "route_to_model"})
    r = measure(p, EXECUTED, lake_of(lake), now=datetime(2026, 12, 1, tzinfo=UTC))
    assert r.status is RealizedStatus.MEASURED
    assert r.realized_monthly == Decimal("851.67")  # $28/day less: 28 / 24 h x 730 h


def test_currencies_are_never_added(tmp_path: Path) -> None:
    rows = instance_bill(EXECUTED.date(), after_hourly=Decimal(0))
    rows.append(focus_row(date(2026, 11, 15), Decimal("3"), "i-0e1", currency="EUR"))
    r = measure(make_proposal("sp-stop0006", "i-0e1"), EXECUTED, lake_of(write_lake(tmp_path, rows)),
                now=datetime(2026, 12, 1, tzinfo=UTC))
    assert r.status is RealizedStatus.MIXED_CURRENCY and r.realized_monthly is None


def test_realized_savings_reads_the_ledger_and_skips_unexecuted(tmp_path: Path) -> None:
    home = build_home(tmp_path / "home")
    executed = home.proposals["executed"]
    day = home.store.audit_events(proposal_id=executed.id)[-1].at.date()
    lake = write_lake(tmp_path, instance_bill(day, after_hourly=Decimal(0)))
    later = datetime.combine(day + timedelta(days=9), datetime.min.time(), tzinfo=UTC)
    found = realized_savings(home.store, lake, now=later)
    assert [r.proposal_id for r in found] == [executed.id]  # pending, approved, rejected: not executed
    assert found[0].status is RealizedStatus.MEASURED and found[0].realized_monthly == Decimal("734.38")
    assert realized_for(home.store, lake, home.proposals["pending"].id) is None
    row = realized_rows(found)[0]
    assert row == {"proposal_id": executed.id, "title": executed.summary, "estimated_monthly": Decimal("1200.00"),
                   "realized_monthly": Decimal("734.38"), "status": "measured", "currency": "USD",
                   "detail": found[0].line()}
    assert json.loads(json.dumps(found[0].public_dict()))["realized_monthly"] == str(Decimal("734.38"))
    # its rollback, executed too, is no saving of its own
    rollback = make_proposal("rb-stop0001", "i-0e1").model_copy(update={"rollback_of": executed.id})
    home.store.upsert_proposal(rollback)
    home.store.record_decision(Approval(proposal_id=rollback.id, plan_hash=rollback.plan_hash,
                                        decision=Decision.APPROVE, by="alice"), ProposalStatus.APPROVED)
    key = f"{rollback.id}:{rollback.plan_hash}"
    assert home.store.claim_execution(key, rollback.id, "executor", owner="me", lease_until=later)
    home.store.mark_execution(key, ExecutionStatus.VERIFIED, actor="executor", proposal_status=ProposalStatus.EXECUTED)
    assert [r.proposal_id for r in realized_savings(home.store, lake, now=later)] == [executed.id]
    # rolled back since: nothing is claimed
    home.store.set_status(executed.id, ProposalStatus.ROLLED_BACK, actor="test", note="undone")
    assert realized_savings(home.store, lake, now=later)[0].status is RealizedStatus.ROLLED_BACK


def lake_of(path: Path):  # type: ignore[no-untyped-def]
    from spendpilot.lake.query import CostLake

    return CostLake(path)


def test_feature_without_focus_rows_is_measured_from_the_lakes_llm_usage(tmp_path: Path) -> None:
    """A lake holding provider usage exports but no token FOCUS rows (token-focus not run)."""
    from spendpilot.demo import LLM_USAGE_COLUMNS
    from spendpilot.lake import ingest_llm_usage_file

    path = tmp_path / "usage.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LLM_USAGE_COLUMNS)
        writer.writeheader()
        for day in days(date(2026, 11, 10), date(2026, 11, 28)):
            model, cost = ("gpt-4o", "30") if day < EXECUTED.date() else ("gpt-4o-mini", "2")
            writer.writerow({"day": day.isoformat(), "provider": "openai", "model": model, "feature": "support-chat",
                             "project_id": "", "requests": "100", "input_tokens": "1000", "cached_input_tokens": "0",
                             "output_tokens": "100", "cost": cost, "currency": "USD"})
            writer.writerow({"day": day.isoformat(), "provider": "openai", "model": "gpt-4o", "feature": "other",
                             "project_id": "", "requests": "10", "input_tokens": "10", "cached_input_tokens": "0",
                             "output_tokens": "10", "cost": "7", "currency": "USD"})
    lake = tmp_path / "lake"
    ingest_llm_usage_file(path, lake)
    p = make_proposal("sp-route002", "x").model_copy(update={
        "target": ResourceRef(provider="openai", kind="llm_feature", id="support-chat@gpt-4o", name="support-chat")})
    r = measure(p, EXECUTED, lake_of(lake), now=datetime(2026, 12, 1, tzinfo=UTC))
    assert r.status is RealizedStatus.MEASURED, r.evidence
    assert r.realized_monthly == Decimal("851.67")
    assert any("LLM usage of support-chat" in e for e in r.evidence)
    early = measure(p, EXECUTED, lake_of(lake), now=datetime(2026, 11, 25, tzinfo=UTC))
    assert early.status is RealizedStatus.MEASURING


def test_window_days_is_read_from_the_config_and_a_bad_value_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spendpilot.config import load_settings
    from spendpilot.errors import ConfigError

    monkeypatch.setenv("SPENDPILOT_CONFIG", os.devnull)  # load_settings records the file it read here

    good = tmp_path / "good.toml"
    good.write_text("[realized]\nwindow_days = 14\n")
    assert load_settings(good, home=tmp_path / "home").realized.window_days == 14
    bad = tmp_path / "bad.toml"
    bad.write_text("[realized]\nwindow_days = 0\n")
    with pytest.raises(ConfigError, match=r"realized\.window_days"):
        load_settings(bad, home=tmp_path / "home")

"""Fixtures for driving ``SpendpilotApp`` against ``FakeServices``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.notifications import SeverityLevel
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from spendpilot.domain import ProposalStatus, Risk
from spendpilot.tui import SpendpilotApp

from .fakes import FakeServices, make_proposal

APP_SIZE = (140, 42)


class RecordingApp(SpendpilotApp):
    """The real app, remembering every notification (toasts are not rendered headless)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notices: list[tuple[SeverityLevel, str, str]] = []

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        self.notices.append((severity, title, message))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def notices_of(self, severity: SeverityLevel) -> list[str]:
        return [f"{title}: {message}" for sev, title, message in self.notices if sev == severity]


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every worker (and any worker a result handler started) has finished."""
    for _ in range(20):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:  # a newer read replaced it (exclusive groups): wait again
            continue
        await pilot.pause()
        if all(worker.is_finished for worker in pilot.app.workers):
            return
    raise AssertionError("workers did not settle")


@pytest.fixture
def services() -> FakeServices:
    return FakeServices(
        [
            make_proposal("p-small", "120"),
            make_proposal("p-done", "5000", status=ProposalStatus.EXECUTED),
            make_proposal("p-big", "2400", action="switch_to_spot", risk=Risk.MEDIUM),
            make_proposal("p-mid", "800", name="[red]not markup[/red]"),
        ]
    )


@pytest.fixture
def app(services: FakeServices) -> RecordingApp:
    return RecordingApp(services, approver="alice")


# -- a real spend lake for the dashboard ------------------------------------------------------

LAKE_DAYS = 60
"""Two 30-day periods (2024-08-01 .. 2024-09-29), so the dashboard can compare them."""

_SERVICES = (
    # service, (account id, account name), region, team, daily cost in the first and second period
    ("Amazon EC2", ("111111111111", "research"), "us-east-1", "ml", "120", "100"),
    ("Amazon SageMaker", ("222222222222", "production"), "us-west-2", "search", "80", "80"),
    ("Amazon Bedrock", ("222222222222", "production"), "us-east-1", "llm-apps", "10", "55"),
    ("Amazon S3", ("111111111111", "research"), "eu-west-1", "data", "20", "25"),
)


SPIKE = ("Amazon S3", "400")
"""On the last day S3 costs $400 instead of $25: the anomaly the dashboard must show."""


def write_spend_lake(root: Path) -> Path:
    """Ingest a small, hand-readable FOCUS bill and an LLM usage export into a real lake.

    Bedrock grows from $10 to $55 a day in the second period (the top mover), EC2 falls from
    $120 to $100, S3 spikes on the last day (``SPIKE``); accounts carry SubAccountName so the
    dashboard can show names.
    """
    from datetime import date, timedelta

    from tests.lake.focus_rows import FOCUS_HEADER, USAGE_HEADER, focus_row, usage_row, write_csv

    from spendpilot.lake import ingest_file, ingest_llm_usage_file

    lake = root / "lake"
    header = [*FOCUS_HEADER, "BillingAccountName", "SubAccountId", "SubAccountName", "RegionId"]
    rows = []
    first = date(2024, 8, 1)
    for offset in range(LAKE_DAYS):
        day = first + timedelta(days=offset)
        month_start = day.replace(day=1)
        month_end = (month_start + timedelta(days=32)).replace(day=1)
        for service, (account, name), region, team, before, after in _SERVICES:
            cost = before if offset < LAKE_DAYS // 2 else after
            if service == SPIKE[0] and offset == LAKE_DAYS - 1:
                cost = SPIKE[1]
            rows.append(focus_row(
                len(rows), ServiceName=service, BilledCost=cost, EffectiveCost=cost, ListCost=cost,
                ChargePeriodStart=f"{day} 00:00:00", ChargePeriodEnd=f"{day + timedelta(days=1)} 00:00:00",
                BillingPeriodStart=f"{month_start} 00:00:00", BillingPeriodEnd=f"{month_end} 00:00:00",
                BillingAccountId="999999999999", BillingAccountName="Acme",
                SubAccountId=account, SubAccountName=name, RegionId=region, Tags=f'{{"team": "{team}"}}',
            ))
    ingest_file(write_csv(root / "bill.csv", rows, header), lake)
    usage = [
        usage_row(i, feature=feature, model=model, requests=requests, input_tokens=tokens,
                  output_tokens="0", cost=cost)
        for i in range(28)
        for feature, model, requests, tokens, cost in (
            ("support-bot", "gpt-4.1", "1000", "400000", "2.00"),
            ("search-summaries", "gpt-4.1-mini", "5000", "1000000", "0.50"),
        )
    ]
    ingest_llm_usage_file(write_csv(root / "usage.csv", usage, USAGE_HEADER), lake)
    return lake


@pytest.fixture(scope="session")
def spend_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only for the tests, so ingested once."""
    return write_spend_lake(tmp_path_factory.mktemp("tui-lake"))

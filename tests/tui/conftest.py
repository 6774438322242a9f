"""Fixtures for driving ``SpendpilotApp`` against ``FakeServices``."""

from __future__ import annotations

from typing import Any

import pytest
from textual.notifications import SeverityLevel
from textual.pilot import Pilot

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
        await pilot.app.workers.wait_for_complete()
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

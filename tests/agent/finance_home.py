"""A home for chargeback and realized-savings answers: ``build_home``'s proposals (one executed,
audit-dated now) and a lake billing around that execution, written by the real ingest.

The bill (``tests/savings/test_realized.instance_bill``): instance i-0e1 at $1.006/h for the 10
days before the execution day, half a day on it, nothing after; volume vol-0keep $5.00 every day;
both without a team tag (unallocated). Added here: team ``ml`` $10.00 every day and team
``research`` $50.00 on the first day, tagged, so the chargeback has owners.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.savings.test_realized import days, focus_row, instance_bill, write_lake
from tests.state.builders import Home, build_home

from spendpilot.clock import FixedClock
from spendpilot.config import Settings
from spendpilot.runtime import LocalServices, build_services

ML_DAILY, RESEARCH_ONCE = Decimal("10.00"), Decimal("50.00")


@dataclass
class FinanceHome:
    home: Home
    services: LocalServices
    executed_day: date
    first_day: date
    last_day: date

    @property
    def executed_id(self) -> str:
        return self.home.proposals["executed"].id


def tagged(day: date, cost: Decimal, team: str, resource: str) -> dict[str, str]:
    row = focus_row(day, cost, resource, resource)
    row["Tags"] = json.dumps({"team": team})
    return row


def finance_home(tmp_path: Path, *, after_days: int = 8, measured: bool = True) -> FinanceHome:
    """``measured``: the services' clock stands 9 days after the execution day (the after window
    is complete); otherwise at the execution, so the proposal is still measuring."""
    home = build_home(tmp_path / "home")
    executed = home.store.audit_events(proposal_id=home.proposals["executed"].id)[-1].at
    day = executed.date()
    first, last = day - timedelta(days=10), day + timedelta(days=after_days)
    rows = instance_bill(day, after_hourly=Decimal(0), after_days=after_days)
    rows += [tagged(d, ML_DAILY, "ml", "i-0ml") for d in days(first, last)]
    rows.append(tagged(first, RESEARCH_ONCE, "research", "i-0rs"))
    (tmp_path / "bills").mkdir()
    write_lake(tmp_path / "bills", rows).rename(home.path / "lake")
    now = datetime.combine(day + timedelta(days=9), datetime.min.time(), tzinfo=UTC) if measured else executed
    services = build_services(Settings(home=home.path, aws={"enabled": False}), clock=FixedClock(now))
    services.chat_user = "alice"
    return FinanceHome(home=home, services=services, executed_day=day, first_day=first, last_day=last)

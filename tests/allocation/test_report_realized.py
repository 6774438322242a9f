"""`spendpilot report --html` fills "Realized savings" from the realized-savings measurement: a real
home (state store whose audit log dates the execution) and a real lake holding the bill around it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.conftest import run_cli
from tests.savings.test_realized import instance_bill, write_lake
from tests.state.builders import Home, build_home

from spendpilot.allocation.report import build_report, realized_report_rows, render_report_html
from spendpilot.clock import FixedClock
from spendpilot.config import Settings
from spendpilot.runtime import build_services


def _home_with_bill(tmp_path: Path, after_days: int) -> tuple[Home, datetime]:
    """build_home's executed proposal (estimate $1,200.00/month) and a bill of its instance at
    $1.006/h before the execution day and $0 after it, ``after_days`` days on."""
    home = build_home(tmp_path / "home")
    executed = home.store.audit_events(proposal_id=home.proposals["executed"].id)[-1].at
    (tmp_path / "bills").mkdir()
    lake = write_lake(tmp_path / "bills", instance_bill(executed.date(), after_hourly=Decimal(0), after_days=after_days))
    lake.rename(home.path / "lake")
    return home, executed


def _realized_section(html: str) -> str:
    return html.split('id="realized-savings"', 1)[1]


def test_the_report_shows_a_measured_saving_beside_its_estimate(tmp_path: Path) -> None:
    home, executed = _home_with_bill(tmp_path, after_days=8)
    later = datetime.combine(executed.date() + timedelta(days=9), datetime.min.time(), tzinfo=UTC)
    settings = Settings(home=home.path, aws={"enabled": False})
    services = build_services(settings, clock=FixedClock(later))
    data = build_report(settings.lake_dir, settings.chargeback, [], now=later,
                        realized=realized_report_rows(services.realized_savings()))
    section = _realized_section(render_report_html(data))
    pid = home.proposals["executed"].id
    row = section.split(f"<code>{pid}</code>", 1)[1].split("</tr>", 1)[0]
    assert "<td>measured</td>" in row
    assert '<td class="num">$1,200.00</td>' in row  # the estimate
    assert '<td class="num">$734.38</td>' in row  # 7 days at $1.006/h before, $0 after: x 730 h
    assert 'id="realized-empty"' not in section


def test_report_command_lists_an_executed_proposal_still_measuring(tmp_path: Path) -> None:
    home, executed = _home_with_bill(tmp_path, after_days=0)
    out = tmp_path / "report.html"
    run_cli("report", "--html", str(out), env=home.env(), check=True)
    section = _realized_section(out.read_text(encoding="utf-8"))
    pid = home.proposals["executed"].id
    row = section.split(f"<code>{pid}</code>", 1)[1].split("</tr>", 1)[0]
    assert "<td>measuring</td>" in row and '<td class="num">$1,200.00</td>' in row
    assert f"measuring, ready on {executed.date() + timedelta(days=8)}" in row
    # nothing else: the pending, approved and rejected proposals were never executed
    assert section.count("<code>") == 1

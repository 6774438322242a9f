"""The HTML chargeback report: self-contained, escaped, and rendered by a real headless Chromium.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it); without it the rendering
tests skip with one line. The report is rendered from a lake written by the real writers
(``tests/allocation/test_chargeback.py``'s awkward lake, with a hostile tag added).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from tests.allocation.lakes import BILL_HEADER, D1, D2, bill_row, write_csv

from spendpilot.allocation.report import RealizedRow, ReportData, build_report, render_report_html
from spendpilot.allocation.settings import ChargebackSettings
from spendpilot.lake.ingest import ingest_file

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
NOW = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render_in_chromium(html_file: Path, tmp_path: Path, *, screenshot: Path, size: str = "1100,2600") -> str:
    """The DOM Chromium builds from ``html_file`` (``--dump-dom``), and a screenshot of it; fails
    when the page logged a JavaScript error (``--enable-logging=stderr`` prints console messages)."""
    binary = chromium_binary()
    assert binary is not None
    common = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
              "--enable-logging=stderr", "--v=0",
              f"--window-size={size}"]
    dom = subprocess.run([*common, f"--user-data-dir={tmp_path / 'profile-dom'}", "--dump-dom", html_file.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True)
    assert "Uncaught" not in dom.stderr, dom.stderr
    subprocess.run([*common, f"--user-data-dir={tmp_path / 'profile-shot'}", f"--screenshot={screenshot}",
                    html_file.as_uri()], capture_output=True, text=True, timeout=120, check=True)
    return dom.stdout


@pytest.fixture
def report_html(awkward_lake: Path, tmp_path: Path) -> tuple[ReportData, str]:
    hostile = [bill_row(D2, "1.00", "1.00", resource="i-0evil", tags={"team": HOSTILE, "feature": HOSTILE})]
    ingest_file(write_csv(tmp_path / "hostile.csv", BILL_HEADER, hostile), awkward_lake)
    data = build_report(awkward_lake, ChargebackSettings(), [], now=NOW, start=D1, end=D2)
    return data, render_report_html(data)


def test_the_report_is_self_contained_and_escapes_data(report_html: tuple[ReportData, str]) -> None:
    data, html = report_html
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html), "the report loads nothing from elsewhere"
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "onerror=alert(1)>" not in html
    assert html.count("<svg") >= 2 * 4  # per currency: unallocated ring, time, team and feature charts
    assert 'id="realized-savings"' in html and 'id="realized-empty"' in html
    assert "2026-03-09 to 2026-03-10" in html


def test_realized_rows_appear_when_given(report_html: tuple[ReportData, str]) -> None:
    data, _ = report_html
    data.realized = [RealizedRow(proposal_id="sp-1", title="Stop <idle> box", estimated_monthly=Decimal("100"),
                                 realized_monthly=None, status="executed"),
                     RealizedRow(proposal_id="sp-2", title="gp3", estimated_monthly=Decimal("10"),
                                 realized_monthly=Decimal("9.5"), status="executed"),
                     RealizedRow(proposal_id="sp-3", title="t", estimated_monthly=Decimal("7"), currency="EUR",
                                 status="not_in_bill", detail="not in bill: no FOCUS row names <vol-1>")]
    html = render_report_html(data)
    assert "Stop &lt;idle&gt; box" in html and "not yet measurable" in html and "$9.50" in html
    assert "<td>not in bill: no FOCUS row names &lt;vol-1&gt;</td>" in html and "€7.00" in html
    assert 'id="realized-empty"' not in html


def test_chromium_renders_the_report(report_html: tuple[ReportData, str], tmp_path: Path) -> None:
    if chromium_binary() is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)")
    data, html = report_html
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "report.png"
    dom = render_in_chromium(page, tmp_path, screenshot=shot)
    usd = next(c for c in data.by_team.currencies if c.currency == "USD")
    total = f"${usd.chargeback_effective:,.2f}"
    assert re.search(rf'id="total-USD">\s*{re.escape(total)}', dom)
    assert 'id="total-EUR"' in dom and "€83.33" in dom
    assert dom.count("<svg") >= 8 and "<rect" in dom and "<circle" in dom
    # The hostile tag stayed text: no element was made of it, and nothing ran.
    assert "<script" not in dom.lower() and "<img" not in dom.lower()
    assert "&lt;script&gt;" in dom
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

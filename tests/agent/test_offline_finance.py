"""The offline copilot's realized-savings and chargeback answers on a home with an executed
proposal and a bill around its execution (``tests/agent/finance_home.py``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.agent.finance_home import finance_home

from spendpilot.agent.offline_answer import answer_question
from spendpilot.agent.offline_question import parse_question


def test_how_much_did_we_save_gives_estimate_and_realized(tmp_path: Path) -> None:
    fh = finance_home(tmp_path)
    for text in ("how much did we save?", "realized savings"):
        answer = answer_question(parse_question(text), fh.services)
        assert fh.services.chat(text, None) == answer.text
        assert answer.answered
        assert answer.header == ("Realized savings of 1 executed proposal(s), measured in the bill: 1 measured "
                                 "(realized $734.38/month vs estimated $1,200.00/month):")
        (line,) = answer.lines
        assert line.startswith(f"- {fh.executed_id} ") and "estimated $1,200.00/month; realized $734.38/month" in line


def test_a_saving_still_measuring_says_when_it_will_be_ready(tmp_path: Path) -> None:
    fh = finance_home(tmp_path, after_days=2, measured=False)
    answer = answer_question(parse_question("how much did we save?"), fh.services)
    assert answer.answered and "0 measured:" in answer.header
    (line,) = answer.lines
    assert line.endswith(f"estimated $1,200.00/month; measuring, ready on {fh.executed_day + timedelta(days=8)}")
    assert "realized $" not in answer.text


def test_savings_of_a_period_or_a_team_are_refused_not_answered_for_everything(tmp_path: Path) -> None:
    fh = finance_home(tmp_path)
    for text, part in (("how much did we save last month?", "for last month"),
                       ("how much did the ml team save?", "team ml only")):
        answer = answer_question(parse_question(text), fh.services)
        assert not answer.answered and part in answer.header, answer.text
        assert "$" not in answer.text


def test_unallocated_spend_names_the_share_and_why_without_owners(tmp_path: Path) -> None:
    fh = finance_home(tmp_path)
    answer = answer_question(parse_question("how much spend is unallocated?"), fh.services)
    assert answer.answered and answer.header.startswith("Unallocated spend (no team), "), answer.text
    assert "+ unallocated $348.51 (59.2% unallocated)" in answer.lines[0]
    assert answer.lines[1] == "- unallocated, cloud: no team tag: $348.51"
    assert not any(ln.startswith("- team ") for ln in answer.lines)


def test_chargeback_of_this_month_and_last_month_counts_calendar_months_from_the_latest_data(tmp_path: Path) -> None:
    from spendpilot.agent.offline_answer import _month_bounds

    fh = finance_home(tmp_path)
    latest = fh.last_day
    last_start, last_end = _month_bounds(latest.replace(day=1) - timedelta(days=1))
    for text, (start, end) in (("chargeback by team this month", (latest.replace(day=1), latest)),
                               ("what does each team cost last month", (last_start, last_end))):
        answer = answer_question(parse_question(text), fh.services)
        assert answer.answered, answer.text
        assert answer.header.startswith(f"Chargeback by team, {start} to {end} ("), answer.header

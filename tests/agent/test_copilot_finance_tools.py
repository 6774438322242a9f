"""The copilot's ``chargeback`` and ``realized_savings`` tools through the LangGraph agent with a
scripted chat model, on a real lake and state store (``tests/agent/finance_home.py``)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage
from tests.agent.finance_home import ML_DAILY, RESEARCH_ONCE, finance_home
from tests.agent.scripted import ScriptedChatModel
from tests.savings.test_realized import HOURLY

from spendpilot.agent.copilot import answer_with_model
from spendpilot.agent.definitions import load_agent
from spendpilot.domain import format_money


def _call(name: str, args: dict[str, Any], cid: str = "c1") -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": cid}])


def _ask(services: Any, name: str, args: dict[str, Any]) -> str:
    model = ScriptedChatModel(replies=[_call(name, args), AIMessage(content="answered")])
    turn = answer_with_model(model, services.copilot_deps(), "question", None)
    assert name in model.bound_tools and turn.answer == "answered"
    (result,) = turn.tool_results
    return str(result.content)


def test_the_shipped_copilot_lists_both_tools() -> None:
    assert {"chargeback", "realized_savings"} <= set(load_agent("copilot").tools)


def test_chargeback_tool_gives_each_team_and_the_unallocated_share_with_the_period(tmp_path: Path) -> None:
    fh = finance_home(tmp_path)
    text = _ask(fh.services, "chargeback", {"by": "team"})
    n = (fh.last_day - fh.first_day).days + 1  # billed days, all inside the default 30-day period
    start = fh.last_day - timedelta(days=29)
    assert text.startswith(f"Chargeback by team, {start} to {fh.last_day} (30 days, UTC;")
    ml, research = ML_DAILY * n, RESEARCH_ONCE
    unallocated = HOURLY * 24 * 10 + HOURLY * 12 + Decimal("5.00") * n  # instance and volume, no team tag
    total = ml + research + unallocated
    share = unallocated / total * 100
    assert (f"USD: {format_money(total, 'USD')} in total = allocated {format_money(ml + research, 'USD')} + "
            f"unallocated {format_money(unallocated, 'USD')} ({share:.1f}% unallocated)") in text
    assert f"- team ml: {format_money(ml, 'USD')} ({ml / total * 100:.1f}%)" in text
    assert f"- team research: {format_money(research, 'USD')}" in text
    assert "- unallocated, cloud: " in text and format_money(unallocated, "USD") in text


def test_chargeback_tool_refuses_a_bad_argument_before_running(tmp_path: Path) -> None:
    fh = finance_home(tmp_path)
    text = _ask(fh.services, "chargeback", {"by": "owner"})
    assert "by" in text and "'team' or 'feature'" in text and "Chargeback by" not in text


def test_realized_savings_tool_gives_estimate_and_realized_per_executed_proposal(tmp_path: Path) -> None:
    fh = finance_home(tmp_path)
    text = _ask(fh.services, "realized_savings", {})
    assert text.splitlines()[0] == ("Realized savings of 1 executed proposal(s), measured in the bill: 1 measured "
                                    "(realized $734.38/month vs estimated $1,200.00/month):")
    line = text.splitlines()[1]
    assert line.startswith(f"- {fh.executed_id} ")
    assert "estimated $1,200.00/month; realized $734.38/month" in line
    assert "the estimate was off by +38.8%" in line


def test_realized_savings_tool_says_measuring_with_the_ready_date(tmp_path: Path) -> None:
    fh = finance_home(tmp_path, after_days=2, measured=False)
    text = _ask(fh.services, "realized_savings", {})
    assert "1 executed proposal(s), measured in the bill: 0 measured:" in text.splitlines()[0]
    ready = fh.executed_day + timedelta(days=8)
    assert f"estimated $1,200.00/month; measuring, ready on {ready}" in text
    assert "realized $" not in text

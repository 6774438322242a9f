"""spendpilot's own token bill: counted from scripted replies' usage_metadata, priced with the price book."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from langchain_core.messages import AIMessage
from tests.agent.scripted import ScriptedChatModel
from typer.testing import CliRunner

from spendpilot.agent.llm_usage import UsageTally, record_usage, usage_totals
from spendpilot.agent.narrate import narrate_proposal
from spendpilot.cli import app
from spendpilot.config import Settings
from spendpilot.runtime import build_services
from spendpilot.savings.pricebook import PriceBook
from spendpilot.state import StateStore


def _usage(inp: int, out: int, cache_read: int = 0) -> dict[str, object]:
    return {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out,
            "input_token_details": {"cache_read": cache_read}}


def _reply(content: str, inp: int, out: int, cache_read: int = 0, model: str | None = "gpt-4o-mini",
           tool: str | None = None) -> AIMessage:
    calls = [{"name": tool, "args": {}, "id": "t1"}] if tool else []
    return AIMessage(content=content, tool_calls=calls, usage_metadata=_usage(inp, out, cache_read),
                     response_metadata={"model_name": model} if model else {})


def test_a_conversation_records_its_tokens_and_their_cost(tmp_path: Path) -> None:
    model = ScriptedChatModel(replies=[
        _reply("", 1200, 40, cache_read=1000, tool="list_proposals"),
        _reply("Nothing is pending.", 1500, 25),
        _reply("Still nothing.", 900, 10),
    ])
    services = build_services(Settings(home=tmp_path, aws={"enabled": False}), model=model)
    assert services.copilot_usage() is None
    assert services.chat("anything pending?") == "Nothing is pending."
    services.chat("and now?")

    usage = services.copilot_usage()
    assert usage is not None and usage.scope_id == services.conversation_id
    assert (usage.calls, usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (3, 3600, 75, 1000)
    price = PriceBook.bundled().token_price("gpt-4o-mini")
    assert price is not None and price.cached_input_per_token is not None
    by_hand = (Decimal(3600 - 1000) * price.input_per_token + Decimal(1000) * price.cached_input_per_token
               + Decimal(75) * price.output_per_token)
    assert usage.cost == {"USD": by_hand} and usage.unpriced_calls == 0
    assert usage.line().startswith("3,675 tokens (3,600 in, 75 out) · $")


def test_a_model_the_price_book_does_not_know_is_unpriced_not_free(tmp_path: Path) -> None:
    model = ScriptedChatModel(replies=[_reply("hi", 100, 5, model=None), AIMessage(content="no usage reported")])
    services = build_services(Settings(home=tmp_path, aws={"enabled": False}), model=model)
    services.chat("one")
    services.chat("two")
    usage = services.copilot_usage()
    assert usage is not None and usage.models == ["scripted"]
    assert usage.calls == 2 and usage.unpriced_calls == 2 and usage.cost == {}
    assert usage.cost_text() == "2 call(s) unpriced"


def test_sweep_narration_tokens_are_recorded_per_sweep_and_listed_by_the_cli(tmp_path: Path) -> None:
    from tests.agent.test_copilot import _proposal

    settings = Settings(home=tmp_path, aws={"enabled": False})
    store = StateStore(settings.state_db_url)
    model = ScriptedChatModel(replies=[_reply("Ask the owner first.", 800, 30, model="claude-sonnet-4-5")] * 2)
    tally = UsageTally(default_model="scripted")
    for _ in range(2):
        narrate_proposal(model, _proposal("sp-00000001", "884.76"), tally)
    record_usage(store, "sweep", "sw-0000000001", tally.calls, PriceBook.bundled())
    record_usage(store, "conversation", "cv-1", [*tally.calls[:1]], None)

    [sweep] = usage_totals(store, scope="sweep")
    assert (sweep.scope_id, sweep.calls, sweep.input_tokens, sweep.output_tokens) == ("sw-0000000001", 2, 1600, 60)
    price = PriceBook.bundled().token_price("claude-sonnet-4-5")
    assert price is not None
    assert sweep.cost["USD"] == 1600 * price.input_per_token + 60 * price.output_per_token

    result = CliRunner().invoke(app, ["agent-usage", "--home", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["scope_id"]: r for r in json.loads(result.output)}
    assert rows["sw-0000000001"]["scope"] == "sweep" and rows["cv-1"]["unpriced_calls"] == 1
    table = CliRunner().invoke(app, ["agent-usage", "--home", str(tmp_path)])
    assert "sw-0000000001" in table.output and "All 2 conversation(s) and sweep(s): 2,490 tokens" in table.output

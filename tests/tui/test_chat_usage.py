"""The chat footer shows what the copilot's model calls cost, from the real services and ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from tests.agent.scripted import ScriptedChatModel
from tests.tui.conftest import APP_SIZE, RecordingApp, settle

from spendpilot.config import Settings
from spendpilot.runtime import build_services
from spendpilot.tui.widgets import ChatPane

pytestmark = pytest.mark.asyncio


async def test_the_chat_footer_shows_the_conversations_tokens_and_cost(tmp_path: Path) -> None:
    reply = AIMessage(content="Nothing is pending.", response_metadata={"model_name": "gpt-4o-mini"},
                      usage_metadata={"input_tokens": 2000, "output_tokens": 100, "total_tokens": 2100})
    services = build_services(Settings(home=tmp_path, aws={"enabled": False}),
                              model=ScriptedChatModel(replies=[reply, reply]))
    app = RecordingApp(services, approver="alice")
    assert services.copilot_deps().on_behalf_of == "alice"  # what propose_action records
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        chat = app.query_one(ChatPane)
        assert "tokens" not in str(chat.border_subtitle)
        for question in ("pending?", "again?"):
            await pilot.press("slash", *question, "enter")
            await settle(pilot)
        assert "spendpilot: Nothing is pending." in chat.transcript
        # 2 x (2,000 in at $0.15/M + 100 out at $0.60/M) = $0.00072, shown to 4 places.
        assert str(chat.border_subtitle).startswith("copilot: 4,200 tokens (4,000 in, 200 out) · $0.0007")

"""One model request as checks see it: the per-request table's row, without storage details.

Checks that judge *patterns* of requests (repeats, growing conversations, loops) need more than
daily totals. Prompt text is present only when the user opted in to storing it
(``[otel] store_prompt_text``); a check that needs it must say so when it is absent.
"""

from __future__ import annotations

import json

from pydantic import AwareDatetime, BaseModel


class LlmRequest(BaseModel):
    start_time: AwareDatetime
    provider: str
    model: str
    feature: str
    team: str | None = None
    customer: str | None = None
    conversation_id: str | None = None
    input_tokens: int
    """All input tokens, cached ones included (OTel's containment rule)."""
    cache_read_input_tokens: int = 0
    output_tokens: int
    max_tokens: int | None = None
    finish_reason: str | None = None
    prompt_prefix_sha256: str | None = None
    input_messages: str | None = None
    """JSON ``[{"role", "content"}]``; only when prompt text is stored."""

    def user_text(self) -> str | None:
        """What the user asked: the non-system messages' text, or None when none was stored."""
        if not self.input_messages:
            return None
        try:
            messages = json.loads(self.input_messages)
        except ValueError:
            return None
        parts = [str(m.get("content", "")) for m in messages if isinstance(m, dict) and m.get("role") != "system"]
        text = "\n".join(p for p in parts if p)
        return text or None

    def last_user_text(self) -> str | None:
        """The newest user message: the question a cache would be keyed on."""
        if not self.input_messages:
            return None
        try:
            messages = json.loads(self.input_messages)
        except ValueError:
            return None
        users = [str(m.get("content", "")) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        return users[-1] if users and users[-1] else None

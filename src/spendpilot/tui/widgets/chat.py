"""The conversation with the copilot: a transcript and one input line.

The pane only shows text and announces questions; the app decides what to ask the services
with and delivers the answer back, so no service call ever happens inside a widget.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, RichLog


class ChatPane(Vertical):
    class Asked(Message):
        """The user submitted a non-empty question."""

        def __init__(self, question: str) -> None:
            super().__init__()
            self.question = question

    def compose(self) -> ComposeResult:
        yield RichLog(id="chat-log", wrap=True, markup=False, highlight=False)
        yield Input(placeholder="Ask about spend or the selected proposal…", id="chat-input")

    def on_mount(self) -> None:
        self.add_note(
            "Ask about spend or the highlighted proposal. The copilot reads; it never approves "
            "or changes anything."
        )

    @property
    def transcript(self) -> str:
        """The conversation as plain text (what a screen reader or a test would read)."""
        return "\n".join(strip.text for strip in self.query_one(RichLog).lines)

    def focus_input(self) -> None:
        self.query_one(Input).focus()

    def set_context(self, proposal_id: str | None) -> None:
        """Say which proposal a question will be asked about, so the context is never a guess."""
        where = f"proposal {proposal_id}" if proposal_id else "spend"
        self.query_one(Input).placeholder = f"Ask about {where}… (Enter to send)"

    def add_answer(self, answer: str) -> None:
        self._write("spendpilot", "bold green", answer)

    def add_note(self, note: str) -> None:
        self._write("note", "dim", note)

    @on(Input.Submitted, "#chat-input")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        question = event.value.strip()
        if not question:
            return
        event.input.clear()
        self._write("you", "bold cyan", question)
        self.post_message(self.Asked(question))

    def _write(self, who: str, style: str, body: str) -> None:
        # Answers can quote resource names, tags or prompts: a Text keeps them inert.
        self.query_one(RichLog).write(Text.assemble((f"{who}: ", style), body), expand=True)

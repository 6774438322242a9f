"""The thin strip on top: what was spent lately, its shape, and where it went."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Sparkline, Static

from spendpilot.domain.reports import DailySpend, SpendLine
from spendpilot.tui.formatting import spend_line, spend_totals


class SpendStrip(Horizontal):
    def __init__(self, days: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.days = days

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self.days}-day spend: loading…"), id="spend-total")
        yield Sparkline([], id="spend-sparkline")
        yield Static(Text(""), id="spend-top")

    def show(self, daily: Sequence[DailySpend], top: Sequence[SpendLine]) -> None:
        self.query_one("#spend-total", Static).update(
            Text.assemble((f"{self.days}-day spend ", "dim"), (spend_totals(daily), "bold"))
        )
        # The sparkline only draws a shape; floats are fine for a picture, never for sums.
        self.query_one(Sparkline).data = [float(day.cost) for day in daily]
        top_text = Text("top ", style="dim")
        for index, line in enumerate(top):
            if index:
                top_text.append(" · ", style="dim")
            top_text.append(spend_line(line))
        self.query_one("#spend-top", Static).update(top_text)

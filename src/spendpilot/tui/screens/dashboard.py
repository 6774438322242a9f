"""The dashboard: spend over time by a chosen grouping, top movers, unit economics per feature.

Keyboard-first: ``g`` steps the grouping (service, account, region, team, feature, model), ``p``
the period (30, 7, 90 days), ``R`` reloads, ``escape`` goes back. Each change starts a worker that
runs the spend explorer's queries (``dashboard_data.load_dashboard``); the title says "loading…"
at once, so a key press paints immediately and the figures follow.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

from spendpilot.domain import format_money
from spendpilot.tui.dashboard_data import GROUPINGS, PERIODS, Dashboard, SpendCall, load_dashboard

LABEL_WIDTH = 28


def _pct(value: object) -> str:
    """The explorer's ``delta_pct`` is already a percentage; None means nothing before: new."""
    return "new" if value is None else f"{float(str(value)):+.0f}%"


def title_text(board: Dashboard) -> Text:
    text = Text.assemble(("Spend by ", "dim"), (board.group_label, "bold"), (f"  · last {board.period_days} days", "dim"))
    if board.start and board.end:
        text.append(f" ({board.start} – {board.end}, {board.source})", style="dim")
    for currency, amount, previous in board.totals:
        text.append("   ")
        text.append(format_money(amount, currency), style="bold")
        if previous:
            change = (amount - previous) / previous
            text.append(f" {float(change) * 100:+.0f}% vs previous", style="red" if change > 0 else "green")
    return text


class DashboardScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "next_grouping", "Group by"),
        Binding("p", "next_period", "Period"),
        Binding("R,ctrl+r", "reload", "Refresh", key_display="R"),
        Binding("escape,q,d", "app.pop_screen", "Back"),
    ]

    def __init__(self, spend: SpendCall) -> None:
        super().__init__()
        self._spend = spend
        self.group_index = 0
        self.period_index = 0
        self.board: Dashboard | None = None
        """What is on screen (None until the first load finishes)."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("loading…", style="dim"), id="dash-title")
        with Horizontal(id="dash-top"):
            yield PlotextPlot(id="dash-plot")
            yield DataTable[Text](id="dash-movers", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="dash-panels"):
            yield DataTable[Text](id="dash-units", cursor_type="row", zebra_stripes=True)
        yield Static(Text(""), id="dash-notes")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "dashboard"
        self.query_one("#dash-plot").border_title = "Spend per day"
        movers = self.query_one("#dash-movers", DataTable)
        movers.border_title = "Top movers (vs previous period)"
        for label in ("Group", "Now", "Before", "Change"):
            movers.add_column(label, key=label.lower())
        units = self.query_one("#dash-units", DataTable)
        units.border_title = "Unit economics per feature (LLM usage)"
        for label in ("Feature", "Cost", "Requests", "Tokens", "Per request", "Per 1k tokens"):
            units.add_column(label, key=label.lower())
        movers.focus()
        self.action_reload()

    # -- keys -------------------------------------------------------------------------------

    def action_next_grouping(self) -> None:
        self.group_index = (self.group_index + 1) % len(GROUPINGS)
        self.action_reload()

    def action_next_period(self) -> None:
        self.period_index = (self.period_index + 1) % len(PERIODS)
        self.action_reload()

    def action_reload(self) -> None:
        _, label = GROUPINGS[self.group_index]
        self.query_one("#dash-title", Static).update(
            Text(f"Spend by {label} · last {PERIODS[self.period_index]} days · loading…", style="dim")
        )
        self.run_worker(self._fetch, thread=True, exclusive=True, group="dashboard")

    # -- loading ----------------------------------------------------------------------------

    def _fetch(self) -> None:
        worker = get_current_worker()
        board = load_dashboard(self._spend, self.group_index, self.period_index)
        if not worker.is_cancelled and self.app.is_running:
            self.app.call_from_thread(self._show, board)

    def _show(self, board: Dashboard) -> None:
        self.board = board
        self.query_one("#dash-title", Static).update(title_text(board))
        self._plot(board)
        self._fill_movers(board)
        self._fill_units(board)
        notes = Text("\n".join(board.notes), style="yellow") if board.notes else Text("")
        self.query_one("#dash-notes", Static).update(notes)

    def _plot(self, board: Dashboard) -> None:
        widget = self.query_one(PlotextPlot)
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        widget.border_title = f"Spend per day by {board.group_label}" + (f" ({board.currency})" if board.currency else "")
        if board.series and board.days:
            xs = list(range(len(board.days)))
            for series in board.series:
                plt.plot(xs, series.values, label=series.label[:LABEL_WIDTH], marker="braille")
            step = max(1, len(board.days) // 6)
            ticks = xs[::step]
            plt.xticks([float(i) for i in ticks], [f"{board.days[i]:%m-%d}" for i in ticks])
        else:
            plt.title("no spend data for this period")
        widget.refresh()

    def _fill_movers(self, board: Dashboard) -> None:
        table = self.query_one("#dash-movers", DataTable)
        table.clear()
        for mover in board.movers:
            up = mover.delta > 0
            table.add_row(
                Text(mover.label, overflow="ellipsis", no_wrap=True),
                Text(format_money(mover.amount, mover.currency, whole=True), justify="right"),
                Text(format_money(mover.previous, mover.currency, whole=True), justify="right"),
                Text(
                    f"{'▲' if up else '▼'} {format_money(abs(mover.delta), mover.currency, whole=True)} {_pct(mover.delta_pct)}",
                    style="red" if up else "green", justify="right",
                ),
            )

    def _fill_units(self, board: Dashboard) -> None:
        table = self.query_one("#dash-units", DataTable)
        table.clear()
        for row in board.units:
            table.add_row(
                Text(row.feature),
                Text(format_money(row.amount, row.currency), justify="right"),
                Text("?" if row.requests is None else f"{row.requests:,}", justify="right"),
                Text("?" if row.tokens is None else f"{row.tokens:,}", justify="right"),
                Text(_unit(row.cost_per_request, row.currency), justify="right"),
                Text(_unit(row.cost_per_1k_tokens, row.currency), justify="right"),
            )


def _unit(value: object, currency: str) -> str:
    """Unit costs are often fractions of a cent: four significant decimals, unknown as '?'."""
    if value is None:
        return "unknown"
    amount = float(str(value))
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{symbol}{amount:.4f}" if amount < 1 else f"{symbol}{amount:,.2f}"

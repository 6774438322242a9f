"""The dashboard: spend over time by a chosen grouping, top movers, unit economics per feature,
and (from the outlook services) the next 30 days' forecast, budgets with burn, and anomalies.

Keyboard-first: ``g`` steps the grouping (service, account, region, team, feature, model), ``p``
the period (30, 7, 90 days), ``R`` reloads, ``escape`` goes back. Each change starts a worker that
runs the spend explorer's queries (``dashboard_data.load_spend_panels``); the title says
"loading…" at once, so a key press paints immediately and the figures follow.

At 10 M rows a scan of the lake takes seconds, so the screen scans as little as it can: the
spend questions go through one ``CachedSpend`` (one ``SpendCube`` scan for every bill grouping
and period, each answer kept), and the outlook panels, which do not depend on the grouping or
the period, are read once in their own worker. ``R`` forgets both and reads again.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

from spendpilot.domain import format_money
from spendpilot.tui.dashboard_data import (
    FORECAST_DAYS,
    GROUPINGS,
    PERIODS,
    CachedSpend,
    Dashboard,
    Outlook,
    OutlookPanels,
    SpendCall,
    load_outlook,
    load_spend_panels,
)

if TYPE_CHECKING:
    from spendpilot.lake.spend_cube import SpendCube

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
    for f in board.forecast:
        text.append(f"   next {FORECAST_DAYS} days ", style="dim")
        text.append(format_money(f.expected, f.currency, whole=True), style="bold")
        text.append(f" ({format_money(f.low, f.currency, whole=True)}–{format_money(f.high, f.currency, whole=True)})", style="dim")
    return text


class DashboardScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "next_grouping", "Group by"),
        Binding("p", "next_period", "Period"),
        Binding("R,ctrl+r", "reload", "Refresh", key_display="R"),
        Binding("escape,q,d", "app.pop_screen", "Back"),
    ]

    def __init__(self, spend: SpendCall, outlook: Outlook | None = None,
                 cube: Callable[[], SpendCube | None] | None = None) -> None:
        super().__init__()
        self._spend = spend
        self._outlook = outlook
        self._cube = cube
        self._cached = CachedSpend(spend, cube)
        self._spend_board: Dashboard | None = None
        """The spend panels last read, without the outlook."""
        self._outlook_panels: OutlookPanels | None = None
        self._outlook_due = False
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
            if self._outlook is not None:
                yield DataTable[Text](id="dash-budgets", cursor_type="row", zebra_stripes=True)
        if self._outlook is not None:
            with Horizontal(id="dash-alerts"):
                yield DataTable[Text](id="dash-anomalies", cursor_type="row", zebra_stripes=True)
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
        for label in ("Feature", "Cost", "Requests", "Tokens", "$/request", "$/1k tokens"):
            units.add_column(label, key=label.lower())
        if self._outlook is not None:
            budgets = self.query_one("#dash-budgets", DataTable)
            budgets.border_title = "Budgets this month"
            for label in ("Budget", "Spent", "Burn", "Projected", "Alert"):
                budgets.add_column(label, key=label.lower())
            anomalies = self.query_one("#dash-anomalies", DataTable)
            anomalies.border_title = "Anomalies"
            for label in ("What", "Since (UTC)", "Excess", "×", "Driver"):
                anomalies.add_column(label, key=label.lower())
        movers.focus()
        self.action_reload()

    # -- keys -------------------------------------------------------------------------------

    def action_next_grouping(self) -> None:
        self.group_index = (self.group_index + 1) % len(GROUPINGS)
        self._load_spend()

    def action_next_period(self) -> None:
        self.period_index = (self.period_index + 1) % len(PERIODS)
        self._load_spend()

    def action_reload(self) -> None:
        """Read everything again: a new spend cache (the cube is asked again: the services keep
        it while the lake is unchanged), then the outlook once the spend panels are shown."""
        self._cached = CachedSpend(self._spend, self._cube)
        self._outlook_panels = None
        self._outlook_due = self._outlook is not None
        self._load_spend()

    def _read_outlook(self) -> None:
        """Started once the spend panels are on screen, not beside them: the forecast and the
        anomaly check are scans of the lake too, and on two busy cores they took the CPU (and
        the GIL, converting their results) from a ``d`` that had its cube ready (10 M rows:
        11 s to paint with them alongside)."""
        self._outlook_due = False
        if self._outlook is not None:
            self.run_worker(partial(self._fetch_outlook, self._outlook), thread=True, exclusive=True,
                            group="dashboard-outlook")

    def _load_spend(self) -> None:
        _, label = GROUPINGS[self.group_index]
        self.query_one("#dash-title", Static).update(
            Text(f"Spend by {label} · last {PERIODS[self.period_index]} days · loading…", style="dim")
        )
        self.run_worker(partial(self._fetch, self._cached, self.group_index, self.period_index),
                        thread=True, exclusive=True, group="dashboard")

    # -- loading ----------------------------------------------------------------------------

    def _fetch(self, spend: SpendCall, group_index: int, period_index: int) -> None:
        worker = get_current_worker()
        board = load_spend_panels(spend, group_index, period_index)
        if not worker.is_cancelled and self.app.is_running:
            self.app.call_from_thread(self._show_spend, board)

    def _fetch_outlook(self, outlook: Outlook) -> None:
        worker = get_current_worker()
        panels = load_outlook(outlook)
        if not worker.is_cancelled and self.app.is_running:
            self.app.call_from_thread(self._show_outlook, panels)

    def _show_spend(self, board: Dashboard) -> None:
        self._spend_board = board
        self._show()
        if self._outlook_due:
            self.call_after_refresh(self._read_outlook)

    def _show_outlook(self, panels: OutlookPanels) -> None:
        self._outlook_panels = panels
        if self._spend_board is not None:
            self._show(spend_changed=False)

    def _show(self, *, spend_changed: bool = True) -> None:
        spend_board = self._spend_board
        assert spend_board is not None
        board = self._outlook_panels.on(spend_board) if self._outlook_panels is not None else spend_board
        self.board = board
        if spend_changed or not self._loading():
            self.query_one("#dash-title", Static).update(title_text(board))
        if spend_changed:
            self._plot(board)
            self._fill_movers(board)
            self._fill_units(board)
        if self._outlook is not None:
            self._fill_outlook(board)
        notes = Text("\n".join(board.notes), style="yellow") if board.notes else Text("")
        self.query_one("#dash-notes", Static).update(notes)

    def _loading(self) -> bool:
        """A spend load is under way (its "loading…" title must stay until it lands)."""
        return any(w.group == "dashboard" and w.is_running for w in self.workers)

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

    def _fill_outlook(self, board: Dashboard) -> None:
        budgets = self.query_one("#dash-budgets", DataTable)
        budgets.clear()
        for b in board.budgets:
            hot = b.projected_burn >= 1 or b.burn >= Decimal("0.8")
            budgets.add_row(
                Text(b.name, overflow="ellipsis", no_wrap=True),
                Text(f"{format_money(b.actual, b.currency, whole=True)}/{format_money(b.amount, b.currency, whole=True)}", justify="right"),
                Text(f"{float(b.burn):.0%}", justify="right", style="bold red" if b.burn >= 1 else ""),
                Text(f"{float(b.projected_burn):.0%}", justify="right", style="red" if b.projected_burn >= 1 else ""),
                Text(b.state, style="bold red" if hot and b.state != "ok" else "green" if b.state == "ok" else "yellow"),
            )
        if not board.budgets and "budgets" in board.outlook_read:
            budgets.add_row(Text("none: add [[budgets]] to spendpilot.toml", style="dim"), *[Text("")] * 4)
        anomalies = self.query_one("#dash-anomalies", DataTable)
        anomalies.clear()
        if not board.anomalies and "anomalies" in board.outlook_read:
            anomalies.add_row(Text("none", style="dim green"), *[Text("")] * 4)
        for a in board.anomalies:
            anomalies.add_row(
                Text(a.what, overflow="ellipsis", no_wrap=True, style="bold red" if a.ongoing else ""),
                Text(f"{a.since:%m-%d %H:%M}" + (" (now)" if a.ongoing else "")),
                Text(format_money(a.excess, a.currency), justify="right"),
                Text(f"{a.ratio:.1f}", justify="right"),
                Text(a.driver, overflow="ellipsis", no_wrap=True),
            )

    def _fill_units(self, board: Dashboard) -> None:
        table = self.query_one("#dash-units", DataTable)
        table.clear()
        for row in board.units:
            table.add_row(
                Text(row.feature),
                Text(format_money(row.amount, row.currency), justify="right"),
                Text(_count(row.requests), justify="right"),
                Text(_count(row.tokens), justify="right"),
                Text(_unit(row.cost_per_request, row.currency), justify="right"),
                Text(_unit(row.cost_per_1k_tokens, row.currency), justify="right"),
            )


def _count(value: int | None) -> str:
    """Requests and tokens in a narrow column: 28.0k, 11.2M."""
    if value is None:
        return "?"
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:.1f}{suffix}"
    return str(value)


def _unit(value: object, currency: str) -> str:
    """Unit costs are often fractions of a cent: four significant decimals, unknown as '?'."""
    if value is None:
        return "unknown"
    amount = float(str(value))
    symbol = "$" if currency == "USD" else f"{currency} "
    if amount >= 1:
        return f"{symbol}{amount:,.2f}"
    return f"{symbol}{amount:.4f}" if amount >= 0.001 or amount == 0 else f"{symbol}{amount:.6f}"

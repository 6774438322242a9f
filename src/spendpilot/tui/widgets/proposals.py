"""The proposals queue: one row per proposal, pending and most valuable first, all of them
scrollable, drawn a visible line at a time (Textual's Line API).

A ``DataTable`` renders every visible cell on the event loop: ~70 ms of loop CPU for one fresh
page of 50 rows, over the 50 ms freeze budget whatever the app does, and paging it (50 rows at a
time) still cost ~100 ms per page turn. This widget is a ``ScrollView`` whose ``render_line(y)``
returns the row's line: the worker that read the proposals sorted them and measured the column
widths (``queue_model.prepare``); a row is formatted and drawn into a few segments the first
time it is on screen and kept (``QueueRows.line``), and the loop lays the row's background
(zebra stripe or cursor) under it and crops it to the viewport, for the lines on screen only.
A refresh, a filter, a page or a jump to the end therefore costs the visible lines (~40), not
the rows held (10,000). There are no pages: the whole filtered queue scrolls.

It keeps the surface the app and tests used on the ``DataTable``: ``cursor_row``,
``move_cursor``, ``row_count``, ``get_row_at`` / ``get_row`` (cells as ``rich.text.Text``),
``proposal_ids``, the cursor keys (up/down, page up/down, home/end; ``]`` / ``[`` page too).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from spendpilot.domain import ProposalSummary
from spendpilot.tui.queue_model import QueueEntry, QueueFilter, QueueRows, apply_filter, prepare
from spendpilot.tui.queue_rows import (
    RISK_STYLES,
    STATUS_LABELS,
    STATUS_STYLES,
    TARGET_WIDTH,
    row_cells,
)

__all__ = ["RISK_STYLES", "STATUS_LABELS", "STATUS_STYLES", "ProposalQueue"]

HEADER = "proposal-queue--header"
CURSOR = "proposal-queue--cursor"
EVEN_ROW = "proposal-queue--even-row"


class ProposalQueue(ScrollView, can_focus=True):
    """Every (filtered) proposal as one line, drawn when first shown, under a fixed header row."""

    class ProposalHighlighted(Message):
        """The proposal under the cursor changed (``None`` when the queue is empty)."""

        def __init__(self, proposal: ProposalSummary | None) -> None:
            super().__init__()
            self.proposal = proposal

    COMPONENT_CLASSES: ClassVar[set[str]] = {HEADER, CURSOR, EVEN_ROW}

    # The same look as DataTable's (its DEFAULT_CSS, with our component names).
    DEFAULT_CSS = """
    ProposalQueue {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .proposal-queue--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .proposal-queue--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .proposal-queue--even-row {
            background: $surface-darken-1 40%;
        }
        & > .proposal-queue--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .proposal-queue--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .proposal-queue--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .proposal-queue--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "cursor_first", "First", show=False),
        Binding("end,ctrl+end", "cursor_last", "Last", show=False),
        Binding("right_square_bracket", "page_down", "Next page", key_display="]", show=False),
        Binding("left_square_bracket", "page_up", "Prev page", key_display="[", show=False),
    ]

    TARGET_WIDTH = TARGET_WIDTH

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: QueueRows = prepare(())
        self._shown: list[QueueEntry] = []
        self._cursor = 0
        self._filter = QueueFilter()

    # -- what is shown ----------------------------------------------------------------------

    @property
    def queue_filter(self) -> QueueFilter:
        return self._filter

    @property
    def total_count(self) -> int:
        """Proposals loaded, before filtering."""
        return len(self._rows)

    @property
    def shown_count(self) -> int:
        """Proposals the filter keeps."""
        return len(self._shown)

    @property
    def row_count(self) -> int:
        """Rows the queue scrolls through (every proposal the filter keeps)."""
        return len(self._shown)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def highlighted_proposal(self) -> ProposalSummary | None:
        if not self._shown:
            return None
        return self._shown[self._cursor].proposal

    @property
    def proposal_ids(self) -> list[str]:
        """Row order, for tests and for anyone asking "what is listed"."""
        return [e.proposal.id for e in self._shown]

    @property
    def filtered_ids(self) -> list[str]:
        """Every proposal the filter keeps, in queue order (the same rows as ``proposal_ids``)."""
        return self.proposal_ids

    @property
    def first_visible_row(self) -> int:
        return round(self.scroll_y)

    @property
    def visible_rows(self) -> int:
        """Rows on screen under the header (at least 1, also before the first layout)."""
        return max(1, self.scrollable_content_region.height - 1)

    def get_row_at(self, row: int) -> tuple[Text, ...]:
        """The row's cells as plain ``Text`` in their styles, untruncated (the line on screen
        cuts the target at ``TARGET_WIDTH``)."""
        if not 0 <= row < len(self._shown):
            raise IndexError(f"row {row} of {len(self._shown)}")
        return tuple(Text(text, style=style or "") for text, style, _ in row_cells(self._shown[row].proposal))

    def get_row(self, proposal_id: str) -> tuple[Text, ...]:
        return self.get_row_at(self.proposal_ids.index(proposal_id))

    # -- input ------------------------------------------------------------------------------

    def set_proposals(self, proposals: Iterable[ProposalSummary]) -> None:
        """Replace the proposals (sorting and measuring them here; a worker should call
        ``prepare`` and ``set_entries`` instead so the loop does no per-proposal work)."""
        self.set_entries(prepare(proposals))

    def set_entries(self, rows: QueueRows | Sequence[QueueEntry]) -> None:
        """Replace the rows, keeping the cursor on the same proposal when it is still listed.

        ``rows`` is what ``prepare`` returned; a bare list of entries is re-measured here."""
        previous = self.highlighted_proposal
        if not isinstance(rows, QueueRows):
            rows = prepare(e.proposal for e in rows)
        self._rows = rows
        self._refilter(previous.id if previous else None)

    def set_filter(self, queue_filter: QueueFilter) -> None:
        previous = self.highlighted_proposal
        self._filter = queue_filter
        self._refilter(previous.id if previous else None)

    def move_cursor(self, *, row: int | None = None, column: int | None = None, animate: bool = False,
                    scroll: bool = True) -> None:
        """``DataTable.move_cursor``'s shape; ``column`` and ``animate`` are accepted and ignored
        (the cursor is a row; moves are immediate)."""
        if row is not None:
            self._set_cursor(row, scroll=scroll)

    def action_cursor_up(self) -> None:
        self._set_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._set_cursor(self._cursor + 1)

    def action_page_down(self) -> None:
        step = self.visible_rows
        self.scroll_to(y=self.first_visible_row + step, animate=False, immediate=True)
        self._set_cursor(self._cursor + step)

    def action_page_up(self) -> None:
        step = self.visible_rows
        self.scroll_to(y=max(0, self.first_visible_row - step), animate=False, immediate=True)
        self._set_cursor(self._cursor - step)

    action_next_page = action_page_down
    action_previous_page = action_page_up

    def action_cursor_first(self) -> None:
        self._set_cursor(0)

    def action_cursor_last(self) -> None:
        self._set_cursor(len(self._shown) - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return  # the header
        row = self.first_visible_row + offset.y - 1
        if row < len(self._shown):
            self._set_cursor(row)

    # -- state changes ----------------------------------------------------------------------

    def _refilter(self, keep_id: str | None) -> None:
        self._shown = apply_filter(self._rows.entries, self._filter)
        index = next((i for i, e in enumerate(self._shown) if e.proposal.id == keep_id), 0) if keep_id else 0
        self._cursor = index
        self.virtual_size = Size(self._rows.width, len(self._shown) + 1)
        self.refresh()
        self._scroll_to_cursor()
        self._caption()
        self.post_message(self.ProposalHighlighted(self.highlighted_proposal))

    def _set_cursor(self, row: int, *, scroll: bool = True) -> None:
        if not self._shown:
            return
        row = max(0, min(row, len(self._shown) - 1))
        old, self._cursor = self._cursor, row
        if scroll:
            self._scroll_to_cursor()
        if old != row:
            self._refresh_row(old)
            self._refresh_row(row)
            self.post_message(self.ProposalHighlighted(self.highlighted_proposal))

    def _scroll_to_cursor(self) -> None:
        top, visible = self.first_visible_row, self.visible_rows
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + visible:
            self.scroll_to(y=self._cursor - visible + 1, animate=False, immediate=True)

    def _refresh_row(self, row: int) -> None:
        y = row - self.first_visible_row + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._caption()

    def on_resize(self) -> None:
        self._scroll_to_cursor()
        self._caption()

    def _caption(self) -> None:
        """The rows on screen and how many there are: a filtered queue never looks complete."""
        shown, total = len(self._shown), len(self._rows)
        if not shown:
            where = "none match" if total else "empty"
        else:
            top = min(self.first_visible_row, shown - 1)
            end = min(top + self.visible_rows, shown)
            where = f"{top + 1}–{end} of {shown}"
            if shown != total:
                where += f" (of {total})"
        described = self._filter.describe()
        subtitle = f"{where} · {described}" if described else where
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle

    # -- drawing (the Line API) -------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the widget: the header, or a row (drawn once) with its background laid
        under it, cropped to the viewport. Nothing here is per proposal held, only per line."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style(HEADER)
            header = Strip(self._rows.header, self._rows.width)
            return header.apply_style(style).crop_extend(scroll_x, scroll_x + width, style)
        row = scroll_y + y - 1
        if row >= len(self._shown):
            return Strip.blank(width, base)
        line = Strip(self._rows.line(self._shown[row]), self._rows.width)
        if row == self._cursor:
            cursor = self.get_component_rich_style(CURSOR)
            style = base + cursor
            # The cursor's colour wins over the cell's (DataTable's "css" foreground priority).
            line = Strip(Segment.apply_style(line.apply_style(style), post_style=Style(color=cursor.color)))
        elif row % 2 == 0:
            style = base + self.get_component_rich_style(EVEN_ROW)
            line = line.apply_style(style)
        else:
            style = base
            line = line.apply_style(style)
        return line.crop_extend(scroll_x, scroll_x + width, style)

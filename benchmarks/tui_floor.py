"""Textual's own floor for the queue: what an app costs to start and paint, and to paint a page
of rows, against the same for ``ProposalQueue``.

The queue's target is no event-loop freeze over 50 ms. Part of every freeze is Textual's own
work (composing, laying out, rendering cells), which no change in spendpilot can remove. This
measures it on apps that hold nothing of ours, next to the queue, in the same process:

* *start + first paint*: ``App.run_test`` entered (compose, CSS, first full paint), loop-thread
  CPU and wall time, for a bare app (Header, Static, Footer) and an empty 7-column ``DataTable``;
* *one page*: the largest loop-thread CPU between two ticks of a 5 ms timer after filling
  a plain ``DataTable`` with 50 rows of 7 ``Text`` cells at once, and after
  ``ProposalQueue.set_entries`` with 10,000 entries (prepared off the loop, as the app's worker
  does), its next page (``]``), a jump to the last row (``end``) and one row down (no detail
  pane in this app: the queue's own cost of an arrow key).

Loop CPU (``time.thread_time`` of the loop thread) is the work itself; wall time on a shared
machine adds the wait for a CPU. Minimum over ``RUNS`` runs (default 3).

Usage: python benchmarks/tui_floor.py [RUNS]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header, Static

from spendpilot.domain import ProposalStatus, ProposalSummary, Risk
from spendpilot.tui.queue_model import QueueRows, prepare
from spendpilot.tui.widgets import ProposalQueue

SIZE = (140, 42)
TICK = 0.005
COLUMNS = ("ID", "Action", "Target", "Exp $/mo", "Low–High", "Risk", "Status")


def _entries(count: int) -> QueueRows:
    return prepare(
        ProposalSummary(
            id=f"sp-{i:08x}", rule="idle_gpu_instance", action="stop_instance",
            target_label=f"ec2_instance:gpu-box-{i}", target_id=f"i-{i:017x}", currency="USD",
            expected=Decimal(50 + (i * 37) % 4000), low=Decimal(40), high=Decimal(60), risk=Risk.LOW,
            status=ProposalStatus.PENDING, location="account 123456789012 us-east-1",
        )
        for i in range(count)
    )


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("hello")
        yield Footer()


class PlainTable(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable[Text](cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in COLUMNS:
            table.add_column(label)


class Queue(App[None]):
    def compose(self) -> ComposeResult:
        yield ProposalQueue(id="queue")


async def _start(app_class: type[App[None]]) -> tuple[float, float]:
    app = app_class()
    cpu, wall = time.thread_time(), time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        await pilot.pause(0.1)
    return cpu, wall


async def _page(app_class: type[App[None]], fill: Callable[[App[None]], Any],
                setup: Callable[[App[None]], Any] | None = None) -> tuple[float, float]:
    app = app_class()
    ticks: list[tuple[float, float]] = []
    last = [0.0, 0.0]

    def tick() -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if last[0]:
            ticks.append((now - last[0] - TICK, cpu - last[1]))
        last[0], last[1] = now, cpu

    async with app.run_test(size=SIZE) as pilot:
        if setup is not None:
            setup(app)
        app.set_interval(TICK, tick)
        await pilot.pause(0.3)
        seen = len(ticks)
        fill(app)
        await pilot.pause(0.5)
    after = ticks[seen:]
    return max(c for _, c in after), max(w for w, _ in after)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    entries = _entries(10_000)

    def plain(app: App[None]) -> None:
        table = app.query_one(DataTable)
        for e in entries[:50]:
            p = e.proposal
            table.add_row(Text(p.id), Text(p.action), Text(p.target_label), Text(str(p.expected)),
                          Text(f"{p.low}–{p.high}"), Text(p.risk.value), Text(p.status.value))

    def queue(app: App[None]) -> None:
        app.query_one(ProposalQueue).set_entries(entries)

    def next_page(app: App[None]) -> None:
        app.query_one(ProposalQueue).action_next_page()

    def last_row(app: App[None]) -> None:
        app.query_one(ProposalQueue).action_cursor_last()

    def row_down(app: App[None]) -> None:
        app.query_one(ProposalQueue).action_cursor_down()

    async def measure() -> None:
        starts: tuple[tuple[str, type[App[None]]], ...] = (
            ("bare app (Header, Static, Footer)", Bare), ("empty 7-column DataTable", PlainTable))
        for name, app_class in starts:
            results = [await _start(app_class) for _ in range(runs)]
            print(f"start + first paint, {name:<44} loop CPU {min(c for c, _ in results) * 1000:5.0f} ms, "
                  f"wall {min(w for _, w in results) * 1000:5.0f} ms")
        cases: tuple[tuple[str, type[App[None]], Callable[[App[None]], Any], Any], ...] = (
            ("plain DataTable, 50 rows x 7 cells at once", PlainTable, plain, None),
            ("ProposalQueue.set_entries(10,000)", Queue, queue, None),
            ("ProposalQueue next page (]), 10,000 entries", Queue, next_page, queue),
            ("ProposalQueue last row (end), 10,000 entries", Queue, last_row, queue),
            ("ProposalQueue one row down, 10,000 entries", Queue, row_down, queue),
        )
        for name, app_class, fill, setup in cases:
            results = [await _page(app_class, fill, setup) for _ in range(runs)]
            print(f"paint, {name:<58} largest loop CPU between ticks {min(c for c, _ in results) * 1000:5.0f} ms, "
                  f"stall {min(w for _, w in results) * 1000:5.0f} ms wall")

    asyncio.run(measure())


if __name__ == "__main__":
    main()

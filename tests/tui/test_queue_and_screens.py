"""Queue filter, search, hide-done and scrolling; resume; the audit screen; the chat's size; the
dashboard on a real spend lake. Driven through the Pilot against ``FakeServices``."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input
from textual_plotext import PlotextPlot

from spendpilot.domain import ProposalStatus
from spendpilot.domain.reports import ExecutionOutcome
from spendpilot.state.audit_chain import ChainReport
from spendpilot.tui.queue_model import AWAITING_RESUME
from spendpilot.tui.screens import AuditScreen, DashboardScreen
from spendpilot.tui.widgets import ChatPane, ProposalDetail, ProposalQueue

from .conftest import APP_SIZE, RecordingApp, settle
from .fakes import FakeServices, audit_events, dashboard_budgets, make_proposal

pytestmark = pytest.mark.asyncio


def _cells(table: DataTable[object] | ProposalQueue, row: int) -> list[str]:
    return [str(getattr(cell, "plain", cell)) for cell in table.get_row_at(row)]


# -- filter, search, hide done ----------------------------------------------------------------


async def test_find_filters_as_you_type_and_escape_clears(app: RecordingApp) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        queue = app.query_one(ProposalQueue)
        await pilot.press("f")
        search = app.query_one("#queue-search", Input)
        assert search.display and search.has_focus
        await pilot.press(*"not markup")  # matches the target name of p-mid only
        assert queue.filtered_ids == ["p-mid"]
        assert "1–1 of 1 (of 4)" in str(queue.border_subtitle)
        assert "search='not markup'" in str(queue.border_subtitle)
        await pilot.press("enter")
        assert queue.has_focus
        await settle(pilot)
        assert app.query_one(ProposalDetail).plain.startswith("p-mid")
        await pilot.press("f", "escape")  # first escape clears the search
        assert queue.filtered_ids == ["p-big", "p-mid", "p-small", "p-done"]
        await pilot.press("escape")  # the second hides the empty box
        assert not search.display and queue.has_focus


async def test_status_filter_steps_through_statuses_and_hide_done_hides_finished(app: RecordingApp) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        queue = app.query_one(ProposalQueue)
        await pilot.press("h")
        assert queue.filtered_ids == ["p-big", "p-mid", "p-small"]
        assert "done hidden" in str(queue.border_subtitle)
        await pilot.press("h", "t")
        assert queue.filtered_ids == ["p-big", "p-mid", "p-small"]
        assert "status=pending" in str(queue.border_subtitle)
        await pilot.press("t")  # approved: none
        assert queue.filtered_ids == []
        assert queue.highlighted_proposal is None
        assert "none match" in str(queue.border_subtitle)
        await settle(pilot)
        assert app.query_one(ProposalDetail).plain.startswith("No proposal selected")
        await pilot.press("t", "t", "t")  # failed, drifted, executed
        assert queue.filtered_ids == ["p-done"]


async def test_a_filter_keeps_the_cursor_on_the_same_proposal(app: RecordingApp) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")  # p-small
        await pilot.press("h")
        highlighted = app.query_one(ProposalQueue).highlighted_proposal
        assert highlighted is not None and highlighted.id == "p-small"


async def test_a_long_queue_scrolls_through_every_row_with_the_cursor_keys() -> None:
    services = FakeServices([make_proposal(f"p-{i:03d}", str(1000 + i)) for i in range(250)])
    app = RecordingApp(services, approver="alice")

    def nth(index: int) -> str:  # biggest saving first: p-249, p-248, …
        return f"p-{249 - index:03d}"

    def highlighted_id() -> str | None:
        highlighted = queue.highlighted_proposal
        return highlighted.id if highlighted else None

    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        queue = app.query_one(ProposalQueue)
        visible = queue.visible_rows
        assert 5 < visible < 250
        assert queue.row_count == 250 and queue.total_count == 250
        assert queue.proposal_ids[0] == nth(0) and highlighted_id() == nth(0)
        assert f"1–{visible} of 250" in str(queue.border_subtitle)
        for _ in range(visible):  # the arrow walks off the last visible row: the queue scrolls
            await pilot.press("down")
        assert highlighted_id() == nth(visible) and queue.first_visible_row == 1
        assert f"2–{visible + 1} of 250" in str(queue.border_subtitle)
        await pilot.press("pagedown")
        assert highlighted_id() == nth(2 * visible)
        await pilot.press("right_square_bracket")  # ] pages too
        assert highlighted_id() == nth(3 * visible)
        await pilot.press("end")
        assert highlighted_id() == nth(249) and queue.first_visible_row == 250 - visible
        assert f"{251 - visible}–250 of 250" in str(queue.border_subtitle)
        await pilot.press("down")  # stops at the last row
        assert highlighted_id() == nth(249)
        await pilot.press("up", "left_square_bracket")
        assert highlighted_id() == nth(248 - visible)
        await pilot.press("home")
        assert highlighted_id() == nth(0) and queue.first_visible_row == 0
        await settle(pilot)
        assert app.query_one(ProposalDetail).plain.startswith(nth(0))  # the detail follows the cursor
        await pilot.press("f", *"p-007", "enter")  # a search reaches any row
        assert queue.filtered_ids == ["p-007"] and highlighted_id() == "p-007"


async def test_a_click_on_a_row_highlights_it_and_a_click_on_the_header_does_not(app: RecordingApp) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        queue = app.query_one(ProposalQueue)
        # The queue has a border: its content starts one cell in; line 0 is the header.
        await pilot.click(ProposalQueue, offset=(4, 1 + 1 + 2))
        highlighted = queue.highlighted_proposal
        assert highlighted is not None and highlighted.id == "p-small"
        await pilot.click(ProposalQueue, offset=(4, 1))
        highlighted = queue.highlighted_proposal
        assert highlighted is not None and highlighted.id == "p-small"
        await settle(pilot)
        assert app.query_one(ProposalDetail).plain.startswith("p-small")


async def test_a_queue_narrower_than_its_columns_scrolls_sideways_header_and_rows_together(
    app: RecordingApp,
) -> None:
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(pilot)
        queue = app.query_one(ProposalQueue)
        width = queue.scrollable_content_region.width
        assert queue.virtual_size.width > width  # the columns do not fit: the queue scrolls
        assert queue.render_line(1).text.split()[0] == "p-big"
        for _ in range(10):
            await pilot.press("right")
        assert queue.scroll_x > 0
        header, first = queue.render_line(0).text, queue.render_line(1).text
        assert len(header) == len(first) == width  # cropped to the viewport
        assert not header.startswith(" ID") and not first.startswith(" p-big")
        full = queue.render_line(1).text
        await pilot.press("home")  # the cursor keys move the cursor, not the view sideways
        assert queue.render_line(1).text == full


async def test_the_queue_draws_only_the_visible_rows_from_its_pre_drawn_lines() -> None:
    """``render_line`` is the Line API: the header, then the row at the scroll offset, with the
    target cut to its column; lines past the last row are blank."""
    services = FakeServices([make_proposal(f"p-{i:03d}", str(1000 + i), name=f"a-very-long-instance-name-{i}")
                             for i in range(250)])
    app = RecordingApp(services, approver="alice")
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        queue = app.query_one(ProposalQueue)
        header = queue.render_line(0).text
        assert header.split() == ["ID", "Action", "Target", "Exp", "$/mo", "Low–High", "Risk", "Status"]
        assert queue.render_line(1).text.split()[0] == "p-249"
        assert "…" in queue.render_line(1).text  # long target cut with an ellipsis
        assert queue.get_row_at(0)[2].plain.endswith("a-very-long-instance-name-249")  # in full here
        await pilot.press("end")
        last_line = queue.visible_rows
        assert queue.render_line(last_line).text.split()[0] == "p-000"
        assert queue.render_line(0).text == header  # the header stays put
        await pilot.press("f", *"p-00", "enter")  # ten rows: the rest of the viewport is blank
        assert [queue.render_line(y).text.split()[0] for y in range(1, 11)] == [f"p-{i:03d}" for i in range(9, -1, -1)]
        assert queue.render_line(11).text.strip() == ""


# -- a failed execution, and resume -----------------------------------------------------------


async def test_an_approval_whose_execution_failed_shows_it_awaits_resume_and_e_resumes(
    app: RecordingApp, services: FakeServices
) -> None:
    services.approve_outcome = ProposalStatus.APPROVED  # the executor could not reach AWS
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a", "y")
        await settle(pilot)
        queue = app.query_one(ProposalQueue)
        row = queue.proposal_ids.index("p-big")
        assert _cells(queue, row)[6] == "approved→resume"
        queue.move_cursor(row=row, animate=False)
        await settle(pilot)
        assert f"status {AWAITING_RESUME} (press e)" in app.query_one(ProposalDetail).plain
        assert any(AWAITING_RESUME in n for n in app.notices_of("warning"))

        services.resume_outcomes = [
            ExecutionOutcome(proposal_id="p-big", status=ProposalStatus.EXECUTED, applied=True,
                             verified=True, message="p-big: stopped i-p-big; verified"),
        ]
        await pilot.press("e")
        await settle(pilot)
        assert len(services.calls_to("resume_pending")) == 1
        assert "p-big: executed: p-big: stopped i-p-big; verified" in app.notices_of("information")
        assert _cells(queue, queue.proposal_ids.index("p-big"))[6] == "executed"


async def test_an_approval_that_raised_still_reloads_the_queue(
    app: RecordingApp, services: FakeServices
) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        loads = len(services.calls_to("proposal_summaries"))
        from spendpilot.errors import AdapterError

        services.failures["approve"] = AdapterError("AWS unreachable")
        await pilot.press("a", "y")
        await settle(pilot)
        assert app.notices_of("error") == ["Approving p-big failed: AWS unreachable"]
        assert len(services.calls_to("proposal_summaries")) == loads + 1


async def test_resume_with_nothing_to_do_says_so(app: RecordingApp, services: FakeServices) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert "Nothing to resume." in [m for _, _, m in app.notices]


# -- audit screen -----------------------------------------------------------------------------


async def test_audit_screen_lists_events_newest_first_with_the_chain_verified(
    app: RecordingApp, services: FakeServices
) -> None:
    services.audit = audit_events()
    services.chain = ChainReport(intact=True, events=3, anchor="head anchor matches event 3", anchored=True)
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        table = screen.query_one("#audit-table", DataTable)
        assert [_cells(table, r)[3] for r in range(table.row_count)] == ["executed", "approved", "proposed"]
        verdict = str(screen.query_one("#audit-verify").render())
        assert "✔ audit chain intact: 3 events; head anchor matches event 3" in verdict
        assert "decisions: 1 recorded, each matches its audit event" in verdict
        await pilot.press("escape")
        assert not isinstance(app.screen, AuditScreen)


async def test_audit_screen_says_where_the_chain_breaks(app: RecordingApp, services: FakeServices) -> None:
    services.audit = audit_events()
    services.chain = ChainReport(intact=False, events=3, first_bad_seq=2, problem="event 2's hash does not match its content",
                                 anchor="head anchor matches event 3", anchored=True)
    services.decision_problems = ["p-big approved by alice: no audit event"]
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        verdict = str(app.screen.query_one("#audit-verify").render())
        assert "✘ audit chain BROKEN at event 2: event 2's hash does not match its content" in verdict
        assert "1 not backed by the audit log" in verdict and "p-big approved by alice" in verdict
        services.chain = ChainReport(intact=True, events=3, anchor="ok", anchored=True)
        services.decision_problems = []
        await pilot.press("v")
        await settle(pilot)
        assert "✔ audit chain intact" in str(app.screen.query_one("#audit-verify").render())
        assert len(services.calls_to("verify_audit")) == 2


# -- chat size --------------------------------------------------------------------------------


async def test_chat_grows_shrinks_and_zooms_to_full_height(app: RecordingApp) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        chat = app.query_one(ChatPane)
        start = chat.size.height
        await pilot.press("plus")
        await pilot.pause()
        assert chat.size.height > start
        await pilot.press("minus", "minus")
        await pilot.pause()
        assert chat.size.height < start
        await pilot.press("z")
        await pilot.pause()
        assert not app.query_one("#main").display
        assert chat.size.height > APP_SIZE[1] // 2
        assert isinstance(app.focused, Input)  # zoomed in to talk
        await pilot.press("escape", "z")
        await pilot.pause()
        assert app.query_one("#main").display and chat.size.height < start


# -- dashboard --------------------------------------------------------------------------------


async def test_dashboard_plots_spend_by_service_with_movers_and_unit_costs(spend_lake: Path) -> None:
    services = FakeServices([make_proposal("p-big", "2400")], lake_dir=spend_lake)
    services.budget_settings = dashboard_budgets()
    app = RecordingApp(services, approver="alice")
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        board = screen.board
        assert board is not None and board.group_label == "service"
        assert [s.label for s in board.series] == ["Amazon EC2", "Amazon SageMaker", "Amazon Bedrock", "Amazon S3"]
        assert len(board.days) == 30 and board.series[2].values[-1] == 55.0 and board.series[3].values[-1] == 400.0
        title = str(screen.query_one("#dash-title").render())
        assert "$8,175.00 +18% vs previous" in title and "2024-08-31 – 2024-09-29" in title
        assert "next 30 days $9,283 ($7,302–$10,350)" in title
        movers = screen.query_one("#dash-movers", DataTable)
        assert _cells(movers, 0) == ["Amazon Bedrock", "$1,650", "$300", "▲ $1,350 +450%"]
        assert _cells(movers, 1)[0] == "Amazon EC2" and _cells(movers, 1)[3] == "▼ $600 -17%"
        units = screen.query_one("#dash-units", DataTable)
        assert _cells(units, 0) == ["support-bot", "$56.00", "28.0k", "11.2M", "$0.0020", "$0.0050"]
        assert screen.query_one(PlotextPlot).size.height > 5
        budgets = screen.query_one("#dash-budgets", DataTable)
        assert [_cells(budgets, r) for r in range(budgets.row_count)] == [
            ["ml team", "$2,900/$3,000", "97%", "100%", "80% crossed 09-24"],
            ["llm apps", "$1,595/$1,000", "160%", "166%", "100% crossed 09-19"],
            ["search", "$2,320/$5,000", "46%", "48%", "ok"],
        ]
        anomalies = screen.query_one("#dash-anomalies", DataTable)
        assert _cells(anomalies, 0) == ["service Amazon S3", "09-29 00:00 (now)", "$375.00", "16.0", "resource i-00239"]


async def test_dashboard_g_groups_by_account_names_and_p_changes_the_period(spend_lake: Path) -> None:
    services = FakeServices([], lake_dir=spend_lake)
    app = RecordingApp(services, approver="alice")
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        screen.action_next_grouping()  # what g does; the title says so before any query returns
        assert "Spend by account · last 30 days · loading…" in str(screen.query_one("#dash-title").render())
        await settle(pilot)
        assert screen.board is not None
        assert screen.board.group_label == "account"
        assert [s.label for s in screen.board.series] == ["research [111111111111]", "production [222222222222]"]
        await pilot.press("p")
        await settle(pilot)
        assert screen.board.period_days == 7 and len(screen.board.days) == 7
        queries = [c["query"] for c in services.calls_to("spend")]
        assert queries[-1].last_days == 7
        await pilot.press("escape")
        assert not isinstance(app.screen, DashboardScreen)


async def test_queue_keys_and_commands_do_nothing_on_the_dashboard(spend_lake: Path) -> None:
    services = FakeServices([make_proposal("p-big", "2400")], lake_dir=spend_lake)
    app = RecordingApp(services, approver="alice")
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("a", "r", "s", "e")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert not any(services.calls_to(m) for m in ("approve", "reject", "sweep", "resume_pending"))
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert "Approve proposal" not in titles and "Sweep now" not in titles


async def test_dashboard_without_data_says_why(app: RecordingApp) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        notes = str(app.screen.query_one("#dash-notes").render())
        assert "spend by service: the lake is empty: run `spendpilot ingest` first" in notes
        assert "unit economics: the lake is empty" in notes
        assert "budgets: the lake is empty" in notes and "anomalies: the lake is empty" in notes
        assert app.screen.query_one("#dash-movers", DataTable).row_count == 0
        assert app.screen.query_one("#dash-budgets", DataTable).row_count == 0  # unknown, not "none"


async def test_dashboard_says_none_when_no_budget_is_set_and_nothing_is_anomalous(spend_lake: Path) -> None:
    app = RecordingApp(FakeServices([], lake_dir=spend_lake), approver="alice")
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        budgets = app.screen.query_one("#dash-budgets", DataTable)
        assert _cells(budgets, 0)[0] == "none: add [[budgets]] to spendpilot.toml"


async def test_dashboard_scans_the_bill_once_and_keeps_the_outlook_across_g_and_p(spend_lake: Path) -> None:
    """At 10 M rows every scan of the lake is seconds: g and p must answer from what was read."""
    services = FakeServices([], lake_dir=spend_lake)
    services.budget_settings = dashboard_budgets()
    app = RecordingApp(services, approver="alice")
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        assert len(services.calls_to("spend_cube")) == 1  # read at start, before `d`
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        for key in ("g", "g", "g", "p", "p"):
            await pilot.press(key)
            await settle(pilot)
        assert screen.board is not None
        assert (screen.board.group_label, screen.board.period_days) == ("team", 90)
        assert [s.label for s in screen.board.series][:2] == ["ml", "search"]
        assert screen.board.budgets and screen.board.anomalies  # kept from the first read
        assert len(services.calls_to("spend_cube")) == 2  # the start's read, then `d` got it
        cubes = services.spend_cubes
        assert cubes is not None and cubes.scans + cubes.loads == 1  # one read of lake (or its stored cube)
        assert all(c["query"].resolved_source.value == "llm_usage" for c in services.calls_to("spend"))
        assert [len(services.calls_to(m)) for m in ("budgets", "forecast", "anomalies")] == [1, 1, 1]
        await pilot.press("R")
        await settle(pilot)
        assert len(services.calls_to("spend_cube")) == 3
        assert cubes.scans + cubes.loads == 1  # R asks again; the lake's files are unchanged
        assert [len(services.calls_to(m)) for m in ("budgets", "forecast", "anomalies")] == [2, 2, 2]
        assert screen.board.budgets and (screen.board.group_label, screen.board.period_days) == ("team", 90)

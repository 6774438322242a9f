"""The TUI driven through the Pilot against in-memory services."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from spendpilot.errors import InvalidTransition, SweepInProgress
from spendpilot.tui.screens import ConfirmApproveScreen, RejectReasonScreen
from spendpilot.tui.widgets import ChatPane, ProposalDetail, ProposalQueue

from .conftest import APP_SIZE, RecordingApp, settle
from .fakes import FakeServices, make_proposal

pytestmark = pytest.mark.asyncio


async def test_queue_shows_pending_first_sorted_by_expected_saving(app: RecordingApp) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        queue = app.query_one(ProposalQueue)
        assert queue.proposal_ids == ["p-big", "p-mid", "p-small", "p-done"]
        first_row = [cell.plain for cell in queue.get_row_at(0)]
        assert first_row[:4] == [
            "p-big",
            "switch_to_spot",
            "ec2_instance:gpu-box-p-big",
            "$2,400",
        ]
        assert first_row[4:] == ["$1,920–$2,640", "medium", "pending"]
        # A target name that looks like markup is shown verbatim.
        assert queue.get_row_at(1)[2].plain == "ec2_instance:[red]not markup[/red]"


async def test_spend_strip_shows_total_and_top_three(app: RecordingApp) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        total = str(app.query_one("#spend-total").render())
        top = str(app.query_one("#spend-top").render())
        assert "$18,400.00" in total
        assert "Amazon EC2 $12,000.50" in top and "Amazon S3" in top
        assert "Amazon EKS" not in top


async def test_highlighting_a_proposal_shows_its_evidence_and_formula(
    app: RecordingApp, services: FakeServices
) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)  # the full proposal is read in a worker
        detail = app.query_one(ProposalDetail).plain
        mid = services.proposals["p-mid"]
        assert "p-mid" in detail
        assert "GPU utilisation p95: 0.4%  — CloudWatch DCGM" in detail
        assert "on-demand price: $3.06/h  — price book" in detail
        assert mid.estimate.formula in detail
        assert "low $640.00   expected $800.00   high $880.00" in detail
        assert "ec2:StopInstances" in detail and "Start the instance again" in detail
        assert mid.plan_hash in detail


@pytest.mark.parametrize("confirm", ["y", "click"])
async def test_approve_then_confirm_calls_approve_once_with_the_hash_shown(
    app: RecordingApp, services: FakeServices, confirm: str
) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        screen = app.screen
        assert isinstance(screen, ConfirmApproveScreen)
        shown = str(screen.query_one("#confirm-facts").render())
        plan_hash = services.proposals["p-big"].plan_hash
        assert plan_hash[:12] in shown and plan_hash not in shown
        if confirm == "y":
            await pilot.press("y")
        else:
            await pilot.click("#approve")
        await settle(pilot)
        assert services.calls_to("approve") == [
            {"proposal_id": "p-big", "by": "alice", "plan_hash": plan_hash}
        ]
        assert not isinstance(app.screen, ConfirmApproveScreen)
        assert any("Stopped i-p-big; verified." in n for n in app.notices_of("information"))
        queue = app.query_one(ProposalQueue)
        assert queue.get_row(queue.proposal_ids[queue.proposal_ids.index("p-big")])[6].plain == (
            "executed"
        )


@pytest.mark.parametrize("cancel", ["n", "escape", "enter"])
async def test_approve_then_cancel_calls_nothing(
    app: RecordingApp, services: FakeServices, cancel: str
) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmApproveScreen)
        await pilot.press(cancel)  # enter lands on the focused Cancel button
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmApproveScreen)
        assert services.calls_to("approve") == []


async def test_only_pending_proposals_can_be_approved(
    app: RecordingApp, services: FakeServices
) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down")
        highlighted = app.query_one(ProposalQueue).highlighted_proposal
        assert highlighted is not None and highlighted.id == "p-done"
        await pilot.press("a")
        assert not isinstance(app.screen, ConfirmApproveScreen)
        await pilot.press("r")
        assert not isinstance(app.screen, RejectReasonScreen)
        assert services.calls_to("approve") == services.calls_to("reject") == []
        assert any("p-done is executed" in n for n in app.notices_of("warning"))


async def test_reject_with_a_reason_rejects_with_that_reason(
    app: RecordingApp, services: FakeServices
) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        assert isinstance(app.screen, RejectReasonScreen)
        await pilot.press(*"runs nightly", "enter")
        await settle(pilot)
        assert services.calls_to("reject") == [
            {"proposal_id": "p-big", "by": "alice", "reason": "runs nightly"}
        ]
        assert not isinstance(app.screen, RejectReasonScreen)
        # Decided proposals sink below the pending ones.
        assert app.query_one(ProposalQueue).proposal_ids == ["p-mid", "p-small", "p-done", "p-big"]


async def test_reject_with_an_empty_reason_is_refused(
    app: RecordingApp, services: FakeServices
) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await pilot.press("space", "space", "enter")
        screen = app.screen
        assert isinstance(screen, RejectReasonScreen)
        assert "reason is required" in str(screen.query_one("#reason-error").render())
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, RejectReasonScreen)
        assert services.calls_to("reject") == []


async def test_chat_shows_the_answer_as_plain_text(
    app: RecordingApp, services: FakeServices
) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"why?", "enter")
        await settle(pilot)
        assert services.calls_to("chat") == [{"message": "why?", "selected_proposal_id": "p-big"}]
        transcript = app.query_one(ChatPane).transcript
        assert "you: why?" in transcript
        assert "spendpilot: The [bold]biggest[/bold] saving is p-big." in transcript
        # Typing letters bound to actions goes to the input, not to the app.
        await pilot.press("a")
        assert not isinstance(app.screen, ConfirmApproveScreen)


async def test_a_service_error_is_notified_and_the_app_keeps_running(
    app: RecordingApp, services: FakeServices
) -> None:
    services.failures["sweep"] = SweepInProgress("another sweep is running; try again soon")
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert app.notices_of("error") == ["Sweep failed: another sweep is running; try again soon"]
        assert app.is_running
        await pilot.press("s")
        await settle(pilot)
        assert len(services.calls_to("sweep")) == 2
        assert any(
            n.startswith("Sweep finished: Sweep sw-1") for n in app.notices_of("information")
        )


async def test_a_failed_approval_is_notified_and_can_be_retried(
    app: RecordingApp, services: FakeServices
) -> None:
    services.failures["approve"] = InvalidTransition("proposal p-big is already rejected")
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a", "y")
        await settle(pilot)
        assert app.notices_of("error") == ["Approving p-big failed: proposal p-big is already rejected"]
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmApproveScreen)


async def test_every_action_is_in_the_command_palette(app: RecordingApp) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Approve proposal", "Reject proposal", "Sweep now", "Refresh", "Chat"} <= titles


async def test_the_command_palette_runs_an_action(
    app: RecordingApp, services: FakeServices
) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"sweep now")
        await pilot.pause(0.3)  # the palette searches asynchronously
        await pilot.press("enter")
        await settle(pilot)
        assert len(services.calls_to("sweep")) == 1


@pytest.mark.parametrize("key", ["R", "ctrl+r"])
async def test_refresh_picks_up_new_proposals_and_keeps_the_cursor(
    app: RecordingApp, services: FakeServices, key: str
) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down")
        services.proposals["p-huge"] = make_proposal("p-huge", "9000")
        await pilot.press(key)
        await settle(pilot)
        queue = app.query_one(ProposalQueue)
        assert queue.proposal_ids[0] == "p-huge"
        highlighted = queue.highlighted_proposal
        assert highlighted is not None and highlighted.id == "p-mid"
        assert app.query_one(ProposalDetail).plain.startswith("p-mid")


async def test_q_quits(app: RecordingApp) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_u_rolls_back_an_executed_proposal_with_the_rollback_plan_hash_shown(
    app: RecordingApp, services: FakeServices
) -> None:
    async with app.run_test(size=APP_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("u")  # p-big is pending: nothing to undo
        assert not isinstance(app.screen, ConfirmApproveScreen)
        assert services.calls_to("rollback") == []
        queue = app.query_one(ProposalQueue)
        queue.move_cursor(row=queue.proposal_ids.index("p-done"), animate=False)
        await settle(pilot)
        await pilot.press("u")
        screen = app.screen
        assert isinstance(screen, ConfirmApproveScreen)
        rollback_hash = services.proposals["p-done"].plan.rollback.plan_hash()
        assert rollback_hash[:12] in str(screen.query_one("#confirm-facts").render())
        await pilot.press("y")
        await settle(pilot)
        assert services.calls_to("rollback") == [{"proposal_id": "p-done", "by": "alice", "plan_hash": rollback_hash}]
        assert services.proposals["p-done"].status.value == "rolled_back"

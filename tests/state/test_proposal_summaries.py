"""Queue lines read with the database's JSON functions match the full proposals, and
`spendpilot proposals` pages them (--limit/--offset), prints plain lines and keeps --json whole."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from tests.config.helpers import invoke
from tests.tui.fakes import make_proposal

from spendpilot.config import load_settings
from spendpilot.domain import ProposalStatus, ProposalSummary
from spendpilot.domain.summary import summary_order
from spendpilot.state import StateStore


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    store = StateStore(load_settings(None, home=home).state_db_url)
    for proposal in (
        make_proposal("sp-00000001", "120.5"),
        make_proposal("sp-00000002", "2400", status=ProposalStatus.APPROVED),
        make_proposal("sp-00000003", "800", name="[red]not markup[/red]"),
        make_proposal("sp-00000004", "5000", status=ProposalStatus.EXECUTED),
    ):
        store.upsert_proposal(proposal)
    # A target without a name is labelled by its id, as ResourceRef.label() does.
    nameless = make_proposal("sp-00000005", "10")
    store.upsert_proposal(nameless.model_copy(update={"target": nameless.target.model_copy(update={"name": None})}))
    return home


def test_summaries_equal_the_full_proposals_summarised(home: Path) -> None:
    store = StateStore(load_settings(None, home=home).state_db_url)
    summaries = store.list_summaries()
    assert summaries == [ProposalSummary.of(p) for p in store.list_proposals()]
    by_id = {s.id: s for s in summaries}
    assert by_id["sp-00000001"].expected == Decimal("120.5") and by_id["sp-00000001"].low == Decimal("96.40")
    assert by_id["sp-00000005"].target_label == "ec2_instance:i-sp-00000005"
    assert [s.id for s in store.list_summaries([ProposalStatus.APPROVED])] == ["sp-00000002"]


def test_summary_order_is_pending_first_then_biggest_saving(home: Path) -> None:
    store = StateStore(load_settings(None, home=home).state_db_url)
    assert [s.id for s in summary_order(store.list_summaries())] == [
        "sp-00000003", "sp-00000001", "sp-00000005", "sp-00000004", "sp-00000002",
    ]


def test_proposals_limit_and_offset_page_the_queue(home: Path) -> None:
    result = invoke("proposals", "--home", str(home), "--limit", "2", "--offset", "1", "--plain")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "ACTION", "TARGET", "EXP/MO", "LOW–HIGH", "RISK", "STATUS"]
    assert [line.split()[0] for line in lines[1:3]] == ["sp-00000001", "sp-00000005"]
    assert "2–3 of 5; page with --limit N --offset M." in result.output
    assert "Approved but not finished: sp-00000002 — run `spendpilot resume`." in result.output


def test_proposals_plain_lines_keep_names_verbatim(home: Path) -> None:
    result = invoke("proposals", "--home", str(home), "--plain")
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[1]
    assert first.split()[:3] == ["sp-00000003", "stop_instance", "ec2_instance:[red]not"]
    assert "$800" in first and "$640–$880" in first


def test_proposals_json_is_complete_and_respects_limit(home: Path) -> None:
    everything = json.loads(invoke("proposals", "--home", str(home), "--json").output)
    assert [p["id"] for p in everything][:2] == ["sp-00000003", "sp-00000001"] and len(everything) == 5
    assert everything[0]["evidence"]
    page = json.loads(invoke("proposals", "--home", str(home), "--json", "--limit", "1", "--offset", "1").output)
    assert page == everything[1:2]

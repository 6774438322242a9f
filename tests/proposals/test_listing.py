"""The standard-library listing (``proposals.listing``) says exactly what the state store and
pydantic say: the same queue lines, the same ``--json`` objects in the same order, also for a
body an older version wrote, and the same bytes as ``json.dumps(..., indent=2)``."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from tests.config.helpers import invoke
from tests.tui.fakes import make_proposal

from spendpilot.config import load_settings
from spendpilot.domain import Evidence, Proposal, ProposalStatus
from spendpilot.domain.summary import summary_order
from spendpilot.proposals.listing import (
    public_dict_of_stored,
    read_public,
    read_summaries,
    sqlite_state_file,
    write_json_array,
)
from spendpilot.runtime import LocalServices
from spendpilot.state import StateStore


def _varied() -> list[Proposal]:
    """Statuses, rounding (half up at the third decimal), a nameless target, no account, a
    non-ASCII name, a note, a rollback, microseconds in the creation time, evidence."""
    plain = make_proposal("sp-00000001", "120.555")
    nameless = make_proposal("sp-00000005", "10")
    accountless = make_proposal("sp-00000006", "75.125", name="modèle-é ü 日本")
    return [
        plain.model_copy(update={
            "evidence": [Evidence(label="GPU p95", value="0.4%", source="CloudWatch")],
            "created_at": datetime(2026, 11, 1, 8, 30, 1, 123456, tzinfo=UTC),
        }),
        make_proposal("sp-00000002", "2400", status=ProposalStatus.APPROVED).model_copy(update={"note": "held"}),
        make_proposal("sp-00000003", "800", name="[red]not markup[/red]"),
        make_proposal("sp-00000004", "5000", status=ProposalStatus.EXECUTED),
        nameless.model_copy(update={"target": nameless.target.model_copy(update={"name": None})}),
        accountless.model_copy(update={
            "target": accountless.target.model_copy(update={"account": None}), "rollback_of": "sp-00000004",
        }),
        make_proposal("sp-00000007", "800"),  # same saving as sp-00000003: the id breaks the tie
    ]


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    store = StateStore(load_settings(None, home=tmp_path / "home").state_db_url)
    for p in _varied():
        store.upsert_proposal(p)
    return store


def _file(store: StateStore) -> Path:
    path = sqlite_state_file(str(store.engine.url))
    assert path is not None
    return path


def _expected_public(store: StateStore, statuses: list[ProposalStatus] | None = None) -> list[dict[str, object]]:
    by_id = {p.id: p for p in store.list_proposals(statuses)}
    return [by_id[s.id].public_dict() for s in summary_order(store.list_summaries(statuses))]


def test_summaries_read_with_sqlite3_equal_the_stores(store: StateStore) -> None:
    assert read_summaries(_file(store)) == store.list_summaries()
    statuses = [ProposalStatus.APPROVED, ProposalStatus.EXECUTED]
    assert read_summaries(_file(store), statuses) == store.list_summaries(statuses)
    assert [s.id for s in read_summaries(_file(store), statuses)] == ["sp-00000002", "sp-00000004"]


def test_public_dicts_equal_pydantics_in_queue_order(store: StateStore) -> None:
    public = read_public(_file(store))
    assert public == _expected_public(store)
    assert [p["id"] for p in public][:3] == ["sp-00000003", "sp-00000007", "sp-00000001"]
    first = next(p for p in public if p["id"] == "sp-00000001")
    assert first["estimated_monthly_savings"]["expected"] == "120.56"
    assert first["created_at"] == "2026-11-01T08:30:01.123456+00:00"
    pending = [ProposalStatus.PENDING]
    assert read_public(_file(store), pending) == _expected_public(store, pending)


def test_a_body_an_older_version_wrote_is_shaped_by_pydantic(store: StateStore) -> None:
    """A stored target without ``name`` (as before the field existed): pydantic fills the
    default, so the listing must not pass the short dict through."""
    with sqlite3.connect(_file(store)) as conn:
        conn.execute(
            "UPDATE proposals SET body = json_remove(body, '$.target.name') WHERE id = 'sp-00000003'"
        )
    body = json.loads(sqlite3.connect(_file(store)).execute(
        "SELECT body FROM proposals WHERE id = 'sp-00000003'"
    ).fetchone()[0])
    assert "name" not in body["target"]
    shaped = public_dict_of_stored(body, Proposal.model_validate(body).plan_hash)
    assert shaped["target"]["name"] is None
    assert shaped == Proposal.model_validate(body).public_dict()
    assert read_public(_file(store)) == _expected_public(store)


def test_json_array_is_json_dumps_indent_2(store: StateStore) -> None:
    public = read_public(_file(store))
    ascii_only = [p for p in public if p["id"] != "sp-00000006"]
    out = io.BytesIO()
    write_json_array(ascii_only, out)
    assert out.getvalue().decode() == json.dumps(ascii_only, indent=2) + "\n"
    out = io.BytesIO()
    write_json_array(public, out)
    assert json.loads(out.getvalue()) == public and "modèle-é ü 日本".encode() in out.getvalue()
    empty = io.BytesIO()
    write_json_array([], empty)
    assert empty.getvalue().decode() == json.dumps([], indent=2) + "\n"


def test_services_read_without_sqlalchemy_and_through_the_store_alike(store: StateStore, tmp_path: Path) -> None:
    """The SQLite file is read directly; any other URL (here SQLite through an explicit driver,
    which the listing leaves to SQLAlchemy) goes through the store. Both say the same."""
    direct = LocalServices(load_settings(None, home=tmp_path / "home"))
    through_store = LocalServices(load_settings(
        None, home=tmp_path / "home", database_url=f"sqlite+pysqlite:///{_file(store)}",
    ))
    assert direct.proposal_summaries() == through_store.proposal_summaries() == store.list_summaries()
    assert direct.public_proposals() == through_store.public_proposals() == _expected_public(store)
    assert direct._store is None  # the listing never opened the store


def test_cli_json_is_the_public_dicts_with_paging(store: StateStore) -> None:
    home = _file(store).parent
    everything = json.loads(invoke("proposals", "--home", str(home), "--json").output)
    assert everything == _expected_public(store)
    page = json.loads(invoke("proposals", "--home", str(home), "--json", "--limit", "2", "--offset", "3").output)
    assert page == everything[3:5]
    approved = json.loads(invoke("proposals", "--home", str(home), "--json", "-s", "approved").output)
    assert [p["id"] for p in approved] == ["sp-00000002"]
    assert Decimal(everything[0]["estimated_monthly_savings"]["expected"]) == Decimal("800.00")


def test_cli_json_on_a_fresh_home_is_an_empty_list(tmp_path: Path) -> None:
    result = invoke("proposals", "--home", str(tmp_path / "new"), "--json")
    assert result.exit_code == 0, result.output
    assert result.output == "[]\n"
    assert (tmp_path / "new" / "state.sqlite").is_file()  # the store was opened (and created) as before


def test_a_state_file_without_tables_is_left_to_the_store(tmp_path: Path) -> None:
    """An empty SQLite file (no store has opened it): the listing says so and the store
    creates the tables, as it did before the listing read files itself."""
    home = tmp_path / "home"
    home.mkdir()
    sqlite3.connect(home / "state.sqlite").close()
    services = LocalServices(load_settings(None, home=home))
    assert services.proposal_summaries() == [] and services.public_proposals() == []
    tables = sqlite3.connect(home / "state.sqlite").execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert ("proposals",) in tables

"""Listing the queue straight from a SQLite state file, with the standard library.

``spendpilot proposals`` at 10,000 pending proposals must answer in under a second, and most of
that second used to go on importing SQLAlchemy (the state store's engine) and validating every
stored ``Proposal`` with pydantic. A listing only reads, so for the default SQLite state it opens
the file with ``sqlite3`` and:

- reads queue lines (``ProposalSummary``) with SQLite's ``json_extract``: no body is parsed in
  Python (``StateStore.list_summaries`` reads the same ``SUMMARY_PATHS`` through SQLAlchemy, for
  Postgres and for everything that already holds a store);
- builds the ``--json`` shape (``Proposal.public_dict``) from the stored JSON as parsed by orjson,
  checking that each body has exactly the fields today's models write; a body that does not (an
  older version's, say) goes through pydantic like before, so the output is the same either way.

Writes never come here: they stay in ``StateStore``, with its audit chain and locking.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from spendpilot.domain.money_text import CENT
from spendpilot.domain.status import ProposalStatus, Risk
from spendpilot.domain.summary import ProposalSummary

if TYPE_CHECKING:
    from spendpilot.state import StateStore

SUMMARY_PATHS: tuple[tuple[str, ...], ...] = (
    ("rule",), ("action",), ("target", "kind"), ("target", "name"), ("target", "id"),
    ("estimate", "expected", "amount"), ("estimate", "expected", "currency"),
    ("estimate", "low", "amount"), ("estimate", "high", "amount"), ("risk",),
    ("target", "account"), ("target", "region"),
)
"""Where ``ProposalSummary``'s fields live in a stored ``Proposal`` body; a summary row is
``(id, status, *these)`` (see ``summary_from_row``)."""

_SQLITE_PREFIX = "sqlite:///"


def sqlite_state_file(url: str) -> Path | None:
    """The state database file behind ``url`` when it is SQLite and already exists, else None
    (then the caller opens the store, which creates a missing database)."""
    if not url.startswith(_SQLITE_PREFIX) or "?" in url:  # URL options: let SQLAlchemy honour them
        return None
    path = Path(url.removeprefix(_SQLITE_PREFIX))
    return path if path.is_file() else None


_STATUS = {s.value: s for s in ProposalStatus}
_RISK = {r.value: r for r in Risk}


def summary_from_row(r: Sequence[Any]) -> ProposalSummary:
    """A queue line from ``(id, status, *SUMMARY_PATHS)`` as the database returns them."""
    return ProposalSummary(
        id=r[0], status=_STATUS.get(r[1]) or ProposalStatus(r[1]), rule=r[2], action=r[3],
        target_label=f"{r[4]}:{r[5] or r[6]}", target_id=r[6], currency=r[8],
        expected=Decimal(r[7]), low=Decimal(r[9]), high=Decimal(r[10]), risk=_RISK.get(r[11]) or Risk(r[11]),
        location=" ".join(x for x in (f"account {r[12]}" if r[12] else None, r[13]) if x),
    )


class NoProposalsTable(Exception):
    """The SQLite file exists but holds no proposals table (no store has opened it yet)."""


def _select(path: Path, sql: str, params: list[str]) -> list[Any]:
    conn = _connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            raise NoProposalsTable(str(path)) from exc
        raise
    finally:
        conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10.0)  # as the store's busy_timeout: a writer may hold the lock
    conn.isolation_level = None  # autocommit: one SELECT, no transaction left open
    return conn


def _status_filter(statuses: Iterable[ProposalStatus] | None) -> tuple[str, list[str]]:
    values = [s.value for s in statuses or ()]
    if not values:
        return "", []
    return f" WHERE status IN ({', '.join('?' * len(values))})", values


def read_summaries(path: Path, statuses: list[ProposalStatus] | None = None) -> list[ProposalSummary]:
    """Every proposal's queue line in creation order, as ``StateStore.list_summaries``."""
    fields = ", ".join(
        "json_extract(body, '$." + ".".join(f'"{p}"' for p in path_) + "')" for path_ in SUMMARY_PATHS
    )
    where, params = _status_filter(statuses)
    rows = _select(path, f"SELECT id, status, {fields} FROM proposals{where} ORDER BY created_at", params)
    return [summary_from_row(r) for r in rows]


@cache
def _model_fields() -> tuple[frozenset[str], frozenset[str]]:
    """The fields of today's ``ResourceRef`` and ``Evidence`` (only ``--json`` needs the models;
    queue lines are read without importing pydantic)."""
    from spendpilot.domain import Evidence, ResourceRef

    return frozenset(ResourceRef.model_fields), frozenset(Evidence.model_fields)


def _rounded(amount: str) -> str:
    return str(Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP))  # as Money.rounded()


def public_dict_of_stored(body: dict[str, Any], plan_hash: str) -> dict[str, Any]:
    """``Proposal.public_dict()`` of a stored body without validating it.

    ``plan_hash`` is the proposals table's column, the one approvals are checked against. A body
    whose target or evidence does not have exactly the fields of today's models (written by an
    older version, or hand-edited) is validated and shaped by pydantic instead, so missing
    defaults are filled the same way they always were.
    """
    try:
        estimate, plan, target = body["estimate"], body["plan"], body["target"]
        evidence = body["evidence"] + estimate["inputs"]
        target_fields, evidence_fields = _model_fields()
        if target.keys() != target_fields or any(e.keys() != evidence_fields for e in evidence):
            raise KeyError("target or evidence")
        return {
            "id": body["id"],
            "rule": body["rule"],
            "action": body["action"],
            "target": target,
            "summary": body["summary"],
            "estimated_monthly_savings": {
                "low": _rounded(estimate["low"]["amount"]),
                "expected": _rounded(estimate["expected"]["amount"]),
                "high": _rounded(estimate["high"]["amount"]),
            },
            "currency": estimate["expected"]["currency"],
            "formula": estimate["formula"],
            "risk": body["risk"],
            "status": body["status"],
            "plan_hash": plan_hash,
            "evidence": evidence,
            "plan": {
                "description": plan["description"],
                "change": plan["change"],
                "expected_pre_state": plan["expected_pre_state"],
                "rollback": plan["rollback_description"],
                "permissions": plan["permissions"],
            },
            "note": body["note"],
            "rollback_of": body["rollback_of"],
            "created_at": datetime.fromisoformat(body["created_at"]).isoformat(),
        }
    except (KeyError, TypeError, AttributeError, ValueError, ArithmeticError):
        from spendpilot.domain import Proposal

        return Proposal.model_validate(body).public_dict()


def _queue_key(body: dict[str, Any], status: str, proposal_id: str) -> tuple[bool, Decimal, str]:
    """``summary_order``'s key (pending first, biggest expected saving, then id) from a body."""
    return status != ProposalStatus.PENDING.value, -Decimal(body["estimate"]["expected"]["amount"]), proposal_id


def read_public(path: Path, statuses: list[ProposalStatus] | None = None) -> list[dict[str, Any]]:
    """Every proposal as ``proposals --json`` shows it, in queue order (``summary_order``)."""
    where, params = _status_filter(statuses)
    rows = _select(path, f"SELECT id, status, plan_hash, body FROM proposals{where}", params)
    keyed = []
    for proposal_id, status, plan_hash, body in rows:
        raw = orjson.loads(body)
        keyed.append((_queue_key(raw, status, proposal_id), public_dict_of_stored(raw, plan_hash)))
    keyed.sort(key=lambda kv: kv[0])
    return [d for _, d in keyed]


def summaries_at(
    state_db_url: str, statuses: list[ProposalStatus] | None, open_store: Callable[[], StateStore]
) -> list[ProposalSummary]:
    """Queue lines from an existing SQLite state file with sqlite3, else from the store
    (Postgres, a missing file, a file no store has opened yet: the store creates the tables)."""
    state_file = sqlite_state_file(state_db_url)
    if state_file is not None:
        try:
            return read_summaries(state_file, statuses)
        except NoProposalsTable:
            pass
    return open_store().list_summaries(statuses)


def public_at(
    state_db_url: str, statuses: list[ProposalStatus] | None, open_store: Callable[[], StateStore]
) -> list[dict[str, Any]]:
    """``proposals --json``'s items in queue order, from the SQLite file or the store (as
    ``summaries_at``)."""
    state_file = sqlite_state_file(state_db_url)
    if state_file is not None:
        try:
            return read_public(state_file, statuses)
        except NoProposalsTable:
            pass
    from spendpilot.domain.summary import summary_order

    store = open_store()
    by_id = {p.id: p for p in store.list_proposals(statuses)}
    return [by_id[s.id].public_dict() for s in summary_order(store.list_summaries(statuses)) if s.id in by_id]


class StateQueue:
    """Reads the queue at a state database URL, opening the store only if sqlite3 cannot
    (``spendpilot proposals`` when no settings model is needed: ``state_location``)."""

    def __init__(self, state_db_url: str) -> None:
        self.state_db_url = state_db_url

    def _store(self) -> StateStore:
        from spendpilot.state import StateStore

        return StateStore(self.state_db_url)

    def proposal_summaries(self, statuses: list[ProposalStatus] | None = None) -> list[ProposalSummary]:
        return summaries_at(self.state_db_url, statuses, self._store)

    def public_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[dict[str, Any]]:
        return public_at(self.state_db_url, statuses, self._store)


def write_json_array(items: Iterable[dict[str, Any]], out: IO[bytes]) -> None:
    """``json.dumps(list(items), indent=2)`` plus a newline, written one item at a time (no
    14 MB string for 10,000 proposals). orjson writes non-ASCII text as UTF-8 where ``json``
    escaped it: the same JSON values."""
    first = True
    for item in items:
        out.write(b"[\n  " if first else b",\n  ")
        out.write(orjson.dumps(item, option=orjson.OPT_INDENT_2).replace(b"\n", b"\n  "))
        first = False
    out.write(b"[]\n" if first else b"\n]\n")


"""The audit log's hash chain, the head anchor that pins its end, and the verdict on both.

**Chain.** Each event's hash covers its sequence number, the previous event's hash and its own
fields, encoded as one JSON array (``event_hash``). A JSON array has no separator a field can
contain, so a ``|`` or a quote in a decider's name cannot move a field boundary (the first
format joined the fields with ``|`` and could be shifted that way).

**Head anchor.** A chain proves that no event was edited, reordered or removed *between* two
others; it cannot notice that the last events, or all of them, were deleted. The head anchor is
an append-only file next to the database (``audit.head``) that deleting rows from the database
does not touch. For each event it receives two lines:

1. ``intent`` (sequence number and hash), written and fsynced *before* the database commit,
   while the writer holds the database's write lock, so intents appear in sequence order;
2. ``committed``, written after the commit returned.

A crash (or a rolled-back transaction) between 1 and the commit leaves an intent the database
does not have; a crash between the commit and 2 leaves a database event whose intent is
unconfirmed. Both are recognised as crashes: an unconfirmed intent may be absent from the
database or present with exactly the intended hash. A *confirmed* event missing from the
database, or a database event with no intent at all, is tampering. So deleting the last row,
the last five, or every row is reported ("12 events expected from the head anchor, 7 found"),
and so is an event appended with a correctly recomputed hash but outside spendpilot.

What this cannot stop: someone who can rewrite both the database and ``audit.head`` (the same
user, the same folder) can forge a consistent history. Anchoring outside the machine (a
write-once bucket, a signed timestamp) is the answer to that and is not built here.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

GENESIS = "0" * 64
CHAIN_FORMAT = "spendpilot-audit/2"
HEAD_FILE = "audit.head"
_HEAD_HEADER = {"format": "spendpilot-audit-head/1"}


def canonical_at(at: datetime) -> str:
    """The event time as hashed: UTC, ISO 8601 (SQLite hands naive datetimes back)."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def event_hash(
    seq: int, prev_hash: str, at: datetime, actor: str, kind: str, proposal_id: str | None, payload: str
) -> str:
    """SHA-256 of the event's fields as a JSON array: unambiguous whatever the fields contain."""
    fields = [CHAIN_FORMAT, seq, prev_hash, canonical_at(at), actor, kind, proposal_id, payload]
    canonical = json.dumps(fields, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def legacy_event_hash(prev_hash: str, at: datetime, actor: str, kind: str, pid: str | None, payload: str) -> str:
    """The first chain format (fields joined with ``|``), only to recognise an old log."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    raw = "|".join([prev_hash, aware.isoformat(), actor, kind, pid or "", payload])
    return hashlib.sha256(raw.encode()).hexdigest()


# --- the head anchor file ------------------------------------------------------------------------


class HeadFileError(Exception):
    """The head anchor file exists but cannot be read as one (corrupted or replaced)."""


@dataclass
class HeadAnchors:
    """What ``audit.head`` says: per sequence number, the hash it must have."""

    exists: bool
    confirmed: dict[int, str] = field(default_factory=dict)
    intended: dict[int, str] = field(default_factory=dict)
    """Latest intent per sequence number (a rolled-back attempt is superseded by the retry)."""
    conflicts: list[tuple[int, str]] = field(default_factory=list)
    """(sequence number, message) for each number confirmed with two different hashes."""

    @property
    def head(self) -> int:
        """The highest confirmed sequence number (0: none)."""
        return max(self.confirmed, default=0)

    def expected_hash(self, seq: int) -> str | None:
        return self.confirmed.get(seq) or self.intended.get(seq)


class HeadAnchor:
    """Appends to and reads ``audit.head``. One short line per write, appended with O_APPEND."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _append(self, record: Mapping[str, Any], *, durable: bool) -> None:
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            data = b""
            if new:
                data += json.dumps(_HEAD_HEADER, separators=(",", ":")).encode() + b"\n"
            data += json.dumps(dict(record), separators=(",", ":")).encode() + b"\n"
            os.write(fd, data)
            if durable or new:
                os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            _fsync_dir(self.path.parent)

    def intend(self, seq: int, digest: str) -> None:
        """Before the commit: durable, so a committed event always has its intent on disk."""
        self._append({"seq": seq, "hash": digest, "state": "intent"}, durable=True)

    def confirm(self, anchors: Iterable[tuple[int, str]]) -> None:
        """After the commit. Not fsynced: the next intent's fsync makes it durable, and losing it
        only turns "committed" back into "intent", which verification accepts."""
        for seq, digest in anchors:
            self._append({"seq": seq, "hash": digest, "state": "committed"}, durable=False)

    def read(self) -> HeadAnchors:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return HeadAnchors(exists=False)
        except OSError as exc:
            raise HeadFileError(f"{self.path} cannot be read ({exc.strerror or exc})") from exc
        # Text after the last newline is a write a crash cut short, and is ignored: a torn intent's
        # transaction never committed (intents are fsynced first), and a torn confirmation leaves
        # its intent, which verification accepts.
        lines = raw.split(b"\n")[:-1]
        anchors = HeadAnchors(exists=True)
        for number, line in enumerate(lines, start=1):
            if number == 1:
                if _parse(line) != _HEAD_HEADER:
                    raise HeadFileError(f"{self.path} line 1 is not a spendpilot head anchor header")
                continue
            record = _parse(line)
            if not _valid_record(record):
                raise HeadFileError(f"{self.path} line {number} is not a head anchor record: {line[:80]!r}")
            seq, digest, state = int(record["seq"]), str(record["hash"]), record["state"]
            if state == "intent":
                anchors.intended[seq] = digest
            elif seq in anchors.confirmed and anchors.confirmed[seq] != digest:
                anchors.conflicts.append((
                    seq,
                    f"head anchor conflict: {self.path.name} confirms two different events as number {seq} "
                    f"({anchors.confirmed[seq][:12]} and {digest[:12]}): the log was cut back and rewritten",
                ))
            else:
                anchors.confirmed[seq] = digest
        return anchors


def _parse(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _valid_record(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and isinstance(record.get("seq"), int) and record["seq"] > 0
        and isinstance(record.get("hash"), str) and len(record["hash"]) == 64
        and record.get("state") in ("intent", "committed")
    )


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- the verdict ---------------------------------------------------------------------------------


class ChainReport(BaseModel):
    """What ``audit --verify`` found: intact or not, and where and how it breaks."""

    intact: bool
    events: int
    """Events in the database."""
    first_bad_seq: int | None = None
    """The first event that cannot be trusted; None when the fault is the anchor file itself."""
    problem: str | None = None
    """One line: the first thing wrong, naming the event's sequence number."""
    anchor: str
    """What the head anchor says, one line."""
    anchored: bool
    """False when the store has no head anchor (an in-memory or non-SQLite database)."""

    def describe(self) -> str:
        if self.intact:
            return f"audit chain intact: {self.events} events; {self.anchor}"
        if self.first_bad_seq is None:
            return f"audit chain BROKEN: {self.problem}"
        return f"audit chain BROKEN at event {self.first_bad_seq}: {self.problem}"


@dataclass(frozen=True)
class StoredEvent:
    """One audit row as stored (payload as the JSON text that was hashed)."""

    seq: int
    at: datetime
    actor: str
    kind: str
    proposal_id: str | None
    payload: str
    prev_hash: str
    hash: str


def _is_legacy(row: StoredEvent) -> bool:
    return row.hash != event_hash(
        row.seq, row.prev_hash, row.at, row.actor, row.kind, row.proposal_id, row.payload
    ) and row.hash == legacy_event_hash(row.prev_hash, row.at, row.actor, row.kind, row.proposal_id, row.payload)


def _events(first: int, last: int) -> str:
    return f"event {first} was" if first == last else f"events {first}..{last} were"


def _broken(events: int, seq: int | None, problem: str, anchor: str, anchored: bool) -> ChainReport:
    return ChainReport(intact=False, events=events, first_bad_seq=seq, problem=problem, anchor=anchor, anchored=anchored)


def verify_chain(rows: Sequence[StoredEvent], head: HeadAnchor | None, *, whole_log: bool = True) -> ChainReport:
    """Check every event's hash and link, the sequence numbering, and the head anchor.

    Returns at the first problem, naming its sequence number: a reader needs to know where
    the log stops being trustworthy, and everything after that point is suspect anyway.
    ``whole_log=False`` checks a prefix of the log (its end is not compared with the anchor).
    """
    n = len(rows)
    anchored = head is not None
    if rows and _is_legacy(rows[0]):  # said first: an old log has no head anchor either
        return _broken(
            n, rows[0].seq,
            "this log was written in the old chain format (fields joined with '|', which a name "
            "containing '|' can forge); this version cannot vouch for it: keep the file as a record "
            "and start a new home",
            "old format, not anchored", anchored,
        )
    anchors: HeadAnchors | None = None
    anchor_text = "no head anchor (a database that is not a local SQLite file)"
    if head is not None:
        try:
            anchors = head.read()
        except HeadFileError as exc:
            return _broken(n, None, f"head anchor corrupt: {exc}", "head anchor corrupt", anchored)
        if not anchors.exists and n:
            return _broken(
                n, None,
                f"head anchor missing: {head.path} does not exist, but the log has {n} events "
                "(it was deleted, or this database was copied here without it)",
                "head anchor missing", anchored,
            )
        if anchors.exists and n and not anchors.confirmed and not anchors.intended:
            return _broken(
                n, None,
                f"head anchor empty: {head.path} anchors no event, but the log has {n} events "
                "(the anchor was truncated or replaced)",
                "head anchor empty", anchored,
            )
        if anchors.conflicts:
            seq, message = min(anchors.conflicts)
            return _broken(n, seq, message, "head anchor conflict", anchored)
        anchor_text = (
            f"head anchored at event {anchors.head} ({head.path})" if anchors.exists
            else f"no events yet (the head anchor {head.path} is created with the first)"
        )

    prev = GENESIS
    for index, row in enumerate(rows):
        expected_seq = index + 1
        if row.seq != expected_seq:
            missing = f"event {expected_seq}" if row.seq == expected_seq + 1 else f"events {expected_seq}..{row.seq - 1}"
            return _broken(n, expected_seq, f"gap in seq: {missing} missing (the next stored event is {row.seq})",
                           anchor_text, anchored)
        recomputed = event_hash(row.seq, row.prev_hash, row.at, row.actor, row.kind, row.proposal_id, row.payload)
        if row.hash != recomputed:
            return _broken(n, row.seq,
                           f"hash mismatch: event {row.seq}'s stored hash does not match its contents "
                           f"(its time, actor, kind, proposal, payload or prev_hash was edited)",
                           anchor_text, anchored)
        if row.prev_hash != prev:
            return _broken(n, row.seq,
                           f"prev_hash mismatch: event {row.seq} does not follow event {row.seq - 1} "
                           "(an event before it was removed, replaced or reordered)",
                           anchor_text, anchored)
        if anchors is not None:
            expected = anchors.expected_hash(row.seq)
            if expected is None:
                return _broken(n, row.seq,
                               f"event {row.seq} is not in the head anchor: it was added outside spendpilot "
                               f"({anchors.head} events anchored, {n} found)",
                               anchor_text, anchored)
            if expected != row.hash:
                return _broken(n, row.seq,
                               f"head anchor mismatch: event {row.seq} is not the event the head anchor recorded "
                               "as that number (the log was rewritten from here on)",
                               anchor_text, anchored)
        prev = row.hash

    if whole_log and anchors is not None and anchors.head > n:
        return _broken(n, n + 1,
                       f"head anchor mismatch: {anchors.head} events expected from the head anchor, {n} found "
                       f"({_events(n + 1, anchors.head)} deleted from the end)" if n else
                       f"head anchor mismatch: {anchors.head} events expected from the head anchor, 0 found "
                       "(every event was deleted)",
                       anchor_text, anchored)
    return ChainReport(intact=True, events=n, anchor=anchor_text, anchored=anchored)

"""Failpoints: named places where a test can make the process die, to prove crash safety.

``SPENDPILOT_FAILPOINTS=after_approval_recorded,after_apply`` makes the process exit
abruptly (``os._exit``, no cleanup, like a kill -9) when it reaches those places.
``name@N`` dies at the N-th time the process reaches ``name`` (1 is the first), so a failpoint
inside a loop can be hit at each iteration. Unset in normal use; nothing else reads it, and an
unset variable costs one environment lookup per failpoint.

The failpoints, in the order a change passes them:

Lake (``lake/_storage.py``; ingest of FOCUS and of LLM usage alike):

- ``lake_stage_write``: a batch of rows is about to be written to the run's staging folder;
- ``lake_before_journal``: the commit is planned, under the lake lock, nothing written yet;
- ``lake_journal_written``: the journal's temporary file is written, not yet renamed into place;
- ``lake_after_journal``: the journal is in place (the commit point), nothing applied yet;
- ``lake_apply_step``: one journal step (place or remove a file) is about to run;
- ``lake_after_apply``: every step is applied, the journal not yet deleted.

State database (``state/store.py``), in every write that appends to the audit log:

- ``audit_before_commit``: the head anchor records the intent, the transaction is uncommitted;
- ``audit_after_commit``: the transaction committed, the head anchor not yet confirmed.

Sweep (``agent/sweep.py``):

- ``sweep_before_persist``: proposals are built, none stored yet;
- ``sweep_proposal_stored``: one more proposal is stored (``@N``: after the N-th);
- ``sweep_before_record``: every proposal is stored, the sweep itself not yet recorded.

Decisions (``approval/service.py``):

- ``after_approval_recorded``: the approval is recorded, its execution not started;
- ``after_rejection_recorded``: the rejection is recorded, its thread not yet closed;
- ``rollback_proposal_stored``: a rollback proposal exists, not yet approved;
- ``before_finish_rollback``: the rollback is executed, the original not yet marked rolled back;
- ``resume_next``: ``resume`` is about to deliver the next approved proposal.

Execution (``execution/executor.py``):

- ``before_apply``: the ledger row is claimed, the change not applied;
- ``after_apply``: the change is applied in the cloud, not yet recorded;
- ``after_applied_recorded``: the ledger says applied, not yet verified.
"""

from __future__ import annotations

import os
import sys

CRASH_EXIT_CODE = 86
ENV = "SPENDPILOT_FAILPOINTS"

_hits: dict[str, int] = {}


def _armed_at(armed: str, name: str) -> set[int | None]:
    """The hit numbers ``name`` is armed at (None: every hit)."""
    found: set[int | None] = set()
    for part in armed.split(","):
        point, _, nth = part.strip().partition("@")
        if point == name:
            found.add(int(nth) if nth.strip().isdigit() else None)
    return found


def failpoint(name: str) -> None:
    armed = os.environ.get(ENV)
    if not armed:
        return
    at = _armed_at(armed, name)
    if not at:
        return
    hit = _hits[name] = _hits.get(name, 0) + 1
    if None in at or hit in at:
        sys.stderr.write(f"spendpilot: failpoint {name!r} hit{f' (#{hit})' if hit > 1 else ''}; exiting abruptly\n")
        sys.stderr.flush()
        os._exit(CRASH_EXIT_CODE)

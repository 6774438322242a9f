"""Every lock spendpilot takes, in one place, and why each exists.

- ``sweep_lock``: one sweep at a time per home (a file lock that names its holder, refuses at
  once rather than waiting, and is re-entrant for the thread holding it);
- ``lake_lock`` (``spendpilot.lake._storage``): one lake commit at a time, waiting; an advisory
  lock on the lake folder itself;
- the execution lease (``spendpilot.execution.lease``): a database row per change being
  applied, with an owner and an expiry, because the state database may be shared by hosts
  that cannot see each other's file locks.

File locks use ``fcntl.flock``: the OS releases them when the holder dies.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from spendpilot.errors import SweepInProgress

_held: dict[Path, tuple[int, int]] = {}
"""Locks this process holds: path -> (owning thread id, depth). Makes the lock re-entrant for
the thread that holds it, so a locked scheduled sweep may call a service that locks too."""
_held_guard = threading.Lock()


def _read_holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096).decode("utf-8", "replace").strip()
    try:
        info = json.loads(raw)
        return f"pid {info['pid']} on {info['host']}, started {info['started_at']}"
    except (ValueError, KeyError, TypeError):
        return "an unknown process"


@contextmanager
def sweep_lock(lock_path: Path) -> Iterator[None]:
    """Hold the one-sweep-at-a-time lock for the duration of the block.

    Raises ``SweepInProgress`` at once (never waits) if another process, or another thread of
    this one, holds it; the message names the holder from the pid and start time written into
    the lock file. Re-entering from the thread that already holds it is allowed. The file is
    never deleted: removing it would let two processes lock two different files.
    """
    key = Path(lock_path).resolve()
    me = threading.get_ident()
    with _held_guard:
        owner = _held.get(key)
        if owner is not None and owner[0] == me:
            _held[key] = (me, owner[1] + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                thread, depth = _held[key]
                _held[key] = (thread, depth - 1)
        return

    key.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepInProgress(
                f"A sweep is already running ({_read_holder(fd)}; lock file {key}). "
                "Wait for it to finish; the lock is released automatically if it dies."
            ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        with _held_guard:
            _held[key] = (me, 1)
        try:
            yield
        finally:
            with _held_guard:
                del _held[key]
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock

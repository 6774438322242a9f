"""Who holds an execution, and when another process may take it over.

A ledger row left at "started" or "applied" means some process was applying the change. It may
still be doing so (an approval running while someone types ``spendpilot resume``), or it may
have died. Taking it over in the first case would apply the change twice, so a row carries its
owner (host, pid, a per-process token) and a lease. Another process takes over only when the
lease has run out or, on the same host, when the owner's pid is no longer alive; the takeover
itself is a conditional update, so of two processes racing for a dead owner's row one wins.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

LEASE = timedelta(minutes=15)  # far longer than any single apply call; a live owner finishes well within it
_TOKEN = uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    token: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        if not text:
            return None
        host, _, rest = text.rpartition(":")
        host, _, pid = host.rpartition(":")
        try:
            return cls(host=host, pid=int(pid), token=rest)
        except ValueError:
            return None

    def is_dead(self) -> bool:
        """True only when this host can see the owner is gone; another host's owner is unknown."""
        if self.host != socket.gethostname():
            return False
        if self.pid == os.getpid():
            return self.token != _TOKEN  # same pid, other token: a previous process, pid reused
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, owned by another user
            return False
        return False


def current_owner() -> str:
    return str(Owner(host=socket.gethostname(), pid=os.getpid(), token=_TOKEN))


def is_stale(owner: str | None, lease_until: datetime | None, now: datetime) -> bool:
    """Whether a ledger row's holder has certainly stopped working on it."""
    if lease_until is None or lease_until <= now:
        return True
    parsed = Owner.parse(owner)
    return parsed is None or parsed.is_dead()

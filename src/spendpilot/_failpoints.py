"""Failpoints: named places where a test can make the process die, to prove crash safety.

``SPENDPILOT_FAILPOINTS=after_approval_recorded,after_apply`` makes the process exit
abruptly (``os._exit``, no cleanup, like a kill -9) when it reaches those places. Unset in
normal use; nothing else reads it.
"""

from __future__ import annotations

import os
import sys

CRASH_EXIT_CODE = 86


def failpoint(name: str) -> None:
    armed = os.environ.get("SPENDPILOT_FAILPOINTS", "")
    if armed and name in {p.strip() for p in armed.split(",")}:
        sys.stderr.write(f"spendpilot: failpoint {name!r} hit; exiting abruptly\n")
        sys.stderr.flush()
        os._exit(CRASH_EXIT_CODE)

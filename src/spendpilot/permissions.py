"""The least-privilege AWS IAM policy spendpilot needs, built from what the plug-ins declare.

One read-only statement for sweeps (the permissions the AWS source declares) and one statement
per action (what it needs beyond reading), so an action can be taken off the table by dropping
its statement, and an identity that should only sweep gets the first statement alone.
"""

from __future__ import annotations

from typing import Any

from spendpilot.actions.base import all_actions
from spendpilot.adapters.base import SOURCES


def statement_id(kind: str) -> str:
    return "SpendpilotAction" + "".join(part.title() for part in kind.split("_"))


def iam_policy() -> dict[str, Any]:
    read = sorted(SOURCES.get("aws").permissions)
    statements: list[dict[str, Any]] = [
        {"Sid": "SpendpilotSweepReadOnly", "Effect": "Allow", "Action": read, "Resource": "*"}
    ]
    for kind, action in all_actions().items():
        if action.statements:
            statements += [
                {"Sid": f"{statement_id(kind)}{n}", "Effect": "Allow", **statement}
                for n, statement in enumerate(action.statements, start=1)
            ]
            continue
        writes = sorted(p for p in set(action.permissions) - set(read) if ":" in p)
        if writes:
            scope: list[str] | str = list(action.resources) or "*"
            statements.append({"Sid": statement_id(kind), "Effect": "Allow", "Action": writes, "Resource": scope})
    return {"Version": "2012-10-17", "Statement": statements}

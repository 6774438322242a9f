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


AWS_BUDGETS_READ = "SpendpilotAwsBudgetsRead"


def aws_budgets_statement(*, account_id_set: bool) -> dict[str, Any]:
    """What ``[aws_budgets] enabled = true`` calls: DescribeBudgets, whose IAM action is
    ``budgets:ViewBudget``, and GetCallerIdentity unless ``account_id`` names the account."""
    actions = ["budgets:ViewBudget"] + ([] if account_id_set else ["sts:GetCallerIdentity"])
    return {"Sid": AWS_BUDGETS_READ, "Effect": "Allow", "Action": actions, "Resource": "*"}


def iam_policy(settings: Any = None) -> dict[str, Any]:
    """The policy; with ``settings`` (a loaded ``Settings``), also what the configuration reads
    beyond sources and actions (AWS Budgets)."""
    read = sorted(SOURCES.get("aws").permissions)
    statements: list[dict[str, Any]] = [
        {"Sid": "SpendpilotSweepReadOnly", "Effect": "Allow", "Action": read, "Resource": "*"}
    ]
    if settings is not None and settings.aws_budgets.enabled:
        statements.append(aws_budgets_statement(account_id_set=bool(settings.aws_budgets.account_id)))
    if settings is not None and settings.prices.ec2_live:  # live on-demand prices in estimates
        statements.append({"Sid": "SpendpilotPriceListRead", "Effect": "Allow",
                           "Action": ["pricing:GetProducts"], "Resource": "*"})
    for kind, action in all_actions().items():
        if action.statements:
            statements += [
                {"Sid": f"{statement_id(kind)}{n}", "Effect": "Allow", **statement}
                for n, statement in enumerate(action.statements, start=1)
            ]
            continue
        # k8s:... become RBAC rules; file:... (a LiteLLM config) is a file-system permission, not IAM.
        writes = sorted(p for p in set(action.permissions) - set(read)
                        if ":" in p and not p.startswith(("k8s:", "file:")))
        if writes:
            scope: list[str] | str = list(action.resources) or "*"
            statements.append({"Sid": statement_id(kind), "Effect": "Allow", "Action": writes, "Resource": scope})
    return {"Version": "2012-10-17", "Statement": statements}


def _rules(permissions: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    """``k8s:<group>/<resource>:<verb>`` strings as RBAC rules, one per (group, resource)."""
    verbs: dict[tuple[str, str], set[str]] = {}
    for p in permissions:
        if not p.startswith("k8s:"):
            continue
        _, what, verb = p.split(":", 2)
        group, resource = what.split("/", 1)
        verbs.setdefault(("" if group == "core" else group, resource), set()).add(verb)
    return [
        {"apiGroups": [group], "resources": [resource], "verbs": sorted(v)}
        for (group, resource), v in sorted(verbs.items())
    ]


def kubernetes_rbac() -> list[dict[str, Any]]:
    """ClusterRoles for a Kubernetes cluster: one to sweep (what the kubernetes source reads) and
    one per action (what it changes), so a change can be taken off the table by not binding its
    role, and an identity that only sweeps gets the first alone. Bind them with a
    ClusterRoleBinding (or a RoleBinding per namespace to confine an action to namespaces)."""
    roles: list[dict[str, Any]] = []
    if "kubernetes" in SOURCES:
        roles.append({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "spendpilot-sweep", "labels": {"app.kubernetes.io/name": "spendpilot"}},
            "rules": _rules(SOURCES.get("kubernetes").permissions),
        })  # fmt: skip
    for kind, action in all_actions().items():
        rules = _rules(action.permissions)
        if rules:
            roles.append({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": f"spendpilot-{kind.replace('_', '-')}", "labels": {"app.kubernetes.io/name": "spendpilot"}},
                "rules": rules,
            })  # fmt: skip
    return roles

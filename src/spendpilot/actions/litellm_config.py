"""Change a LiteLLM proxy's config.yaml: the diff is the plan, the file's hash the drift check.

A check whose lever a LiteLLM proxy can pull (a rate or budget limit, a cache, ``max_tokens``,
routing) puts a ``LiteLLMConfigChange`` in its facts when the sweep read a config
(``[[sources]] kind = "litellm_config"``); without one its action falls back to advisory (a
runbook a human follows). Actions built on ``LiteLLMConfigAction`` then:

- **plan** (pure): the edits applied to the text the sweep read, shown as a unified diff in the
  plan's description and change, so the approver sees exactly the lines that will change;
- **drift check**: the pre-state is the file's SHA-256 at the sweep; any other edit since then
  (by a human, or another approved proposal to the same file) stops the execution;
- **apply**: atomic replace, the previous text kept beside the file
  (``config.yaml.spendpilot-<sha8>.bak``), see ``adapters.litellm.source_litellm_config``;
- **verify**: re-reads the file and compares its hash with the planned text's;
- **rollback**: a plan of the same kind that writes the previous text back, expecting the
  changed file first.

LiteLLM reads its config at start-up: the change takes effect when the proxy restarts (the
runbook says so); spendpilot does not restart it.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, TypeVar

from pydantic import BaseModel

from spendpilot.actions.advisory import ADVISORY
from spendpilot.actions.base import Action, ActionContext
from spendpilot.adapters.litellm.source_litellm_config import (
    KIND,
    ConfigEdit,
    LiteLLMConfigFile,
    edited_text,
    sha256_text,
    unified_diff,
)
from spendpilot.domain import ActionPlan, Facts, Finding, Resource, ResourceRef, Risk, Snapshot

F = TypeVar("F", bound=Facts)


class LiteLLMConfigChange(BaseModel):
    """Edits to one LiteLLM config, against the exact text (and hash) the sweep read."""

    path: str
    sha256: str
    text: str
    edits: list[ConfigEdit]


def litellm_config(snapshot: Snapshot) -> Resource | None:
    """The LiteLLM config the sweep read, if one is configured (the first, when several are)."""
    return next((r for r in snapshot.resources if r.ref.kind == KIND), None)


def config_change(snapshot: Snapshot, edits: list[ConfigEdit]) -> LiteLLMConfigChange | None:
    config = litellm_config(snapshot)
    if config is None:
        return None
    a = config.attributes
    return LiteLLMConfigChange(path=str(a["path"]), sha256=str(a["sha256"]), text=str(a["text"]), edits=edits)


class LiteLLMConfigAction(Action[F]):
    """Base of actions that change a LiteLLM config when the facts carry a change, else advise."""

    permissions = ("file:write <LiteLLM config.yaml>",)

    @abstractmethod
    def change(self, finding: Finding[F]) -> LiteLLMConfigChange | None: ...

    @abstractmethod
    def runbook(self, finding: Finding[F]) -> list[str]: ...

    @abstractmethod
    def describe(self, finding: Finding[F]) -> str: ...

    def risk(self, finding: Finding[F]) -> Risk:
        return Risk.MEDIUM if self.change(finding) is not None else Risk.LOW

    def _target(self, finding: Finding[F], path: str) -> ResourceRef:
        # The proposal stays about the feature (its identity and the name people see); the
        # account field names the config file, which is what the target provider resolves.
        ref = finding.resource.ref
        return ResourceRef(provider="litellm", kind=ref.kind, id=ref.id, name=ref.name, account=path)

    def build_plan(self, finding: Finding[F]) -> ActionPlan:
        change = self.change(finding)
        if change is None:
            return ActionPlan(
                action=self.kind, target=finding.resource.ref,
                change={ADVISORY: True, "runbook": self.runbook(finding)}, expected_pre_state={},
                rollback=None,
                rollback_description="Advisory: spendpilot changes nothing, so there is nothing to undo.",
                description=f"[advisory] {self.describe(finding)}", permissions=[],
            )
        after = edited_text(change.text, change.edits, where=change.path)
        after_sha = sha256_text(after)
        name = change.path.rsplit("/", 1)[-1]
        target = self._target(finding, change.path)
        diff = unified_diff(change.text, after, name)
        restart = "LiteLLM reads its config at start-up: restart the proxy for the change to take effect."
        rollback = ActionPlan(
            action=self.kind, target=target,
            change={"file": change.path, "text": change.text, "sha256_after": change.sha256,
                    "diff": unified_diff(after, change.text, name)},
            expected_pre_state={"sha256": after_sha},
            rollback_description="Apply the change again.",
            description=f"Restore {change.path} as it was before: {self.describe(finding)} undone. {restart}",
            permissions=list(self.permissions),
        )
        return ActionPlan(
            action=self.kind, target=target,
            change={"file": change.path, "text": after, "sha256_after": after_sha, "diff": diff,
                    "runbook": self.runbook(finding)},
            expected_pre_state={"sha256": change.sha256},
            rollback=rollback,
            rollback_description=f"Write back the previous {name} (kept as {name}.spendpilot-{change.sha256[:8]}.bak).",
            description=f"{self.describe(finding)}. Change to {change.path}:\n{diff}{restart}",
            permissions=list(self.permissions),
        )

    def _file(self, ctx: ActionContext, target: ResourceRef) -> LiteLLMConfigFile:
        found = ctx.target(target)
        if not isinstance(found, LiteLLMConfigFile):
            raise TypeError(f"the target of {target.label()} is not a LiteLLM config file")
        return found

    def read_state(self, ctx: ActionContext, target: ResourceRef) -> dict[str, Any] | None:
        if target.provider != "litellm":
            return {}  # advisory: nothing to read
        text = self._file(ctx, target).read_text()
        return None if text is None else {"sha256": sha256_text(text)}

    def apply(self, ctx: ActionContext, plan: ActionPlan) -> dict[str, Any]:
        if plan.change.get(ADVISORY):
            return {ADVISORY: True, "handed_over": True, "steps": len(plan.change.get("runbook", []))}
        new = self._file(ctx, plan.target).replace(plan.change["text"], expected_sha256=plan.expected_pre_state["sha256"])
        return {"sha256": new}

    def is_applied(self, state: dict[str, Any] | None, plan: ActionPlan) -> bool:
        if plan.change.get(ADVISORY):
            return True
        return state is not None and state.get("sha256") == plan.change["sha256_after"]

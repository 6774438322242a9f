"""The check registry: a check is one function registered with its settings and facts models.

Each check's thresholds are a pydantic model with defaults and descriptions, so config
(``[checks.<rule>]``) and ``spendpilot checks`` can show and override them. Each check's
findings carry a typed facts model, which its action kind's estimator and action must accept
(``spendpilot.plugins.validate_plugins`` checks that at start-up).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from spendpilot._config_file import one_line
from spendpilot.domain import Facts, Finding, Snapshot
from spendpilot.errors import ConfigError
from spendpilot.registry import Registry
from spendpilot.savings.pricebook import PriceBook

log = logging.getLogger(__name__)
S = TypeVar("S", bound=BaseModel)
CheckFunc = Callable[[Snapshot, Any, PriceBook], list[Finding[Any]]]


@dataclass(frozen=True)
class CheckSpec(Generic[S]):
    rule: str
    action_kind: str
    description: str
    settings_model: type[S]
    facts_model: type[Facts]
    func: CheckFunc

    def settings(self, overrides: dict[str, Any] | None = None) -> S:
        unknown = sorted(set(overrides or {}) - set(self.settings_model.model_fields))
        if unknown:  # a misspelt threshold would otherwise be ignored and the default used silently
            known = ", ".join(sorted(self.settings_model.model_fields))
            raise ConfigError(f"[checks.{self.rule}] in spendpilot.toml: unknown setting(s) {', '.join(unknown)}; known: {known}")
        try:
            return self.settings_model(**(overrides or {}))
        except ValidationError as exc:
            raise ConfigError(f"[checks.{self.rule}] in spendpilot.toml: {one_line(exc)}") from exc

    def run(self, snapshot: Snapshot, settings: S, prices: PriceBook) -> list[Finding[Any]]:
        """The check's findings, stamped with its rule and action kind, facts type-checked."""
        out: list[Finding[Any]] = []
        for f in self.func(snapshot, settings, prices):
            if not isinstance(f.facts, self.facts_model):
                raise TypeError(
                    f"check {self.rule} returned {type(f.facts).__name__} facts; it declares {self.facts_model.__name__}"
                )
            out.append(f.model_copy(update={"rule": self.rule, "action_kind": self.action_kind}))
        return out


CHECKS: Registry[CheckSpec[Any]] = Registry("checks", ("spendpilot.checks",))


def register_check(
    rule: str, *, action_kind: str, settings: type[BaseModel], facts: type[Facts], description: str
) -> Callable[[CheckFunc], CheckFunc]:
    def decorate(func: CheckFunc) -> CheckFunc:
        CHECKS.add(rule, CheckSpec(rule, action_kind, description, settings, facts, func), origin=func.__module__)
        return func

    return decorate


def all_checks() -> dict[str, CheckSpec[Any]]:
    return CHECKS.items()


def check_overrides(overrides: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """Validate every ``[checks.RULE]`` section now (names and values): rule -> settings."""
    overrides = overrides or {}
    checks = all_checks()
    unknown = set(overrides) - set(checks)
    if unknown:
        raise ConfigError(
            f"[checks] names unknown rule(s): {', '.join(sorted(unknown))}; known: {', '.join(checks)}"
        )
    return {rule: spec.settings(overrides.get(rule)) for rule, spec in checks.items()}


def run_checks(
    snapshot: Snapshot, prices: PriceBook, overrides: dict[str, dict[str, Any]] | None = None,
    problems: list[str] | None = None,
) -> list[Finding[Any]]:
    """Every enabled check's findings. A check that raises is reported in ``problems`` (when
    given) and skipped, so one faulty check never takes the whole sweep down."""
    findings: list[Finding[Any]] = []
    for rule, settings in check_overrides(overrides).items():
        if getattr(settings, "enabled", True) is False:
            continue
        try:
            findings.extend(all_checks()[rule].run(snapshot, settings, prices))
        except Exception as exc:
            if problems is None:
                raise
            log.exception("check %s failed", rule)
            problems.append(f"check {rule} failed and was skipped ({type(exc).__name__}: {exc})")
    return findings

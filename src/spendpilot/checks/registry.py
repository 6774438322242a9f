"""The check registry: a check is one function registered with its settings model.

Each check's thresholds are a pydantic model with defaults and descriptions, so config
(``[checks.<rule>]``) and ``spendpilot checks`` can show and override them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from spendpilot._config_file import one_line
from spendpilot.domain import Finding, Snapshot
from spendpilot.errors import ConfigError
from spendpilot.savings.pricebook import PriceBook

S = TypeVar("S", bound=BaseModel)
CheckFunc = Callable[[Snapshot, Any, PriceBook], list[Finding]]


@dataclass(frozen=True)
class CheckSpec(Generic[S]):
    rule: str
    action_kind: str
    description: str
    settings_model: type[S]
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


_REGISTRY: dict[str, CheckSpec[Any]] = {}


def register_check(
    rule: str, *, action_kind: str, settings: type[BaseModel], description: str
) -> Callable[[CheckFunc], CheckFunc]:
    def decorate(func: CheckFunc) -> CheckFunc:
        if rule in _REGISTRY:
            raise ValueError(f"check {rule!r} registered twice")
        _REGISTRY[rule] = CheckSpec(rule, action_kind, description, settings, func)
        return func

    return decorate


def _discover() -> None:
    """Import every module in this package once, so a new check is just a new file."""
    import spendpilot.checks as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in ("registry",) and not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")


def all_checks() -> dict[str, CheckSpec[Any]]:
    _discover()
    return dict(sorted(_REGISTRY.items()))


def run_checks(
    snapshot: Snapshot, prices: PriceBook, overrides: dict[str, dict[str, Any]] | None = None
) -> list[Finding]:
    overrides = overrides or {}
    unknown = set(overrides) - set(all_checks())
    if unknown:
        raise ConfigError(f"[checks] names unknown rule(s): {', '.join(sorted(unknown))}")
    findings: list[Finding] = []
    for rule, spec in all_checks().items():
        settings = spec.settings(overrides.get(rule))
        if getattr(settings, "enabled", True) is False:
            continue
        findings.extend(spec.func(snapshot, settings, prices))
    return findings

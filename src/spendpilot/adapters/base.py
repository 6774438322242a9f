"""The adapter seams: sources (read side) and targets (write side).

A *source* is one configured thing spendpilot reads (an AWS account in one region, the local
FOCUS lake, the LLM usage files, a Kubernetes cluster). Its kind is registered once (a settings
model and a factory) in a module named ``source_*.py`` under ``spendpilot/adapters/`` or through
the ``spendpilot.sources`` entry-point group; ``spendpilot.toml`` lists instances under
``[[sources]]``. Sweeps read every source in parallel (bounded); one that fails becomes a named
``Gap`` in the report while the rest go on.

A *target* is what an action writes through. A source that can also change what it reads (the
AWS source can stop the instances it lists) answers ``target_for(ref)``; actions ask the
``Targets`` collection for the target of the resource they change, never build a client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from spendpilot.domain import ResourceRef, SourceResult
from spendpilot.errors import AdapterError
from spendpilot.registry import Registry


class SourceSettings(BaseModel):
    """Fields every source instance has; a kind's settings model extends this."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="Which registered source kind this is (`spendpilot sources` lists them).")
    name: str | None = Field(None, description="Shown in reports and gaps; default: the kind.")
    enabled: bool = Field(True, description="Skip this source without deleting its settings.")


@dataclass(frozen=True)
class SourceContext:
    """What a source may use while reading: the sweep's clock reading and reference prices."""

    now: datetime
    prices: Any  # savings.pricebook.PriceBook (typed loosely: adapters do not import savings)


@runtime_checkable
class Source(Protocol):
    name: str

    def read(self, ctx: SourceContext) -> SourceResult:
        """Read everything this source knows. Raise (any exception) when it cannot be read:
        the sweep turns that into a named gap."""
        ...


@runtime_checkable
class TargetProvider(Protocol):
    def target_for(self, ref: ResourceRef) -> object | None:
        """The client that can change ``ref``, or None when this source does not cover it."""
        ...


S = TypeVar("S", bound=SourceSettings)


@dataclass(frozen=True)
class SourceKind(Generic[S]):
    kind: str
    description: str
    settings_model: type[S]
    factory: Callable[[S, Path], Sequence[Source]]
    """(settings, spendpilot's home folder) -> sources. One settings block may expand to several sources (an account's regions): each one can
    fail on its own."""
    permissions: tuple[str, ...] = ()
    """What reading needs, in the provider's own terms (IAM actions for AWS)."""


SOURCES: Registry[SourceKind[Any]] = Registry("sources", ("spendpilot.adapters",), module_prefix="source_")


SourceFactory = Callable[[S, Path], Sequence[Source]]


def register_source(
    kind: str, *, settings: type[S], description: str, permissions: tuple[str, ...] = ()
) -> Callable[[SourceFactory[S]], SourceFactory[S]]:
    def decorate(factory: SourceFactory[S]) -> SourceFactory[S]:
        SOURCES.add(kind, SourceKind(kind, description, settings, factory, permissions), origin=factory.__module__)
        return factory

    return decorate


class SingleTarget:
    """One client for every resource of one provider: for scripts and tests that already hold
    a client (a boto3 session with a particular role, say)."""

    def __init__(self, provider: str, client: object) -> None:
        self.provider = provider
        self.client = client

    def target_for(self, ref: ResourceRef) -> object | None:
        return self.client if ref.provider == self.provider else None


class Targets:
    """The write side of every configured source; actions ask it for the client of a resource."""

    def __init__(self, providers: Sequence[object]) -> None:
        self._providers = [p for p in providers if isinstance(p, TargetProvider)]

    def get(self, ref: ResourceRef) -> Any:
        for provider in self._providers:
            target = provider.target_for(ref)
            if target is not None:
                return target
        where = " ".join(x for x in (ref.account, ref.region) if x)
        raise AdapterError(
            f"no configured source can change {ref.provider} {ref.label()}"
            + (f" ({where})" if where else "")
            + "; add a [[sources]] entry that covers it to spendpilot.toml"
        )


def build_sources(configs: Sequence[dict[str, Any]], home: Path) -> list[Source]:
    """Validate every ``[[sources]]`` entry against its kind's settings model and build them.

    A config mistake (unknown kind, misspelt key, wrong type) is refused here, with the entry's
    position, before anything is read.
    """
    from pydantic import ValidationError

    from spendpilot.errors import ConfigError

    built: list[Source] = []
    for n, raw in enumerate(configs, start=1):
        kind_name = raw.get("kind")
        if not kind_name:
            raise ConfigError(f"[[sources]] entry {n} has no `kind`; known kinds: {', '.join(SOURCES.items())}")
        if kind_name not in SOURCES:
            raise ConfigError(
                f"[[sources]] entry {n}: unknown kind {kind_name!r}; known kinds: {', '.join(SOURCES.items())}"
            )
        kind = SOURCES.get(kind_name)
        try:
            settings = kind.settings_model.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or kind_name}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"[[sources]] entry {n} ({kind_name}): {problems}") from exc
        if settings.enabled:
            built.extend(kind.factory(settings, home))
    names = [s.name for s in built]
    duplicates = sorted({x for x in names if names.count(x) > 1})
    if duplicates:
        raise ConfigError(f"[[sources]]: several sources are named {', '.join(duplicates)}; give each a `name`")
    return built

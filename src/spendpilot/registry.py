"""One plug-in registry type for checks, estimators, actions and sources.

Modelled on Cloud Custodian's ``PluginRegistry``: a plug-in registers under a name, the
registry stamps that name onto it and refuses a second plug-in of the same name, and the
registry finds plug-ins in two places:

- every public module of its home package (``spendpilot.checks``, ...), so a new built-in is
  one new file; importing a module that registers nothing is harmless, so helper modules need
  no exclusion list;
- the entry-point group ``spendpilot.<kind>``, so a team can ship private checks, actions or
  sources as its own package without editing this one.

Discovery happens once, on first use, so commands that never sweep never import a plug-in.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from spendpilot.errors import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> plug-in, for one kind of plug-in (``kind`` is "checks", "actions", ...)."""

    def __init__(
        self, kind: str, packages: tuple[str, ...], *, module_prefix: str = "",
        stamp: Callable[[T, str], None] | None = None,
    ) -> None:
        self.kind = kind
        self._module_prefix = module_prefix
        self.group = f"spendpilot.{kind}"
        self._packages = packages
        self._stamp = stamp
        self._items: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._discovered = False

    def add(self, name: str, item: T, origin: str = "") -> T:
        """Register ``item`` as ``name``; a second plug-in with the same name is refused."""
        if name in self._items:
            raise ConfigError(
                f"two {self.kind} are registered as {name!r} "
                f"({self._origins[name] or 'built in'} and {origin or 'built in'}); rename one"
            )
        if self._stamp is not None:
            self._stamp(item, name)
        self._items[name] = item
        self._origins[name] = origin
        return item

    def discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True  # set first: plug-in modules import this registry back
        for package_name in self._packages:
            package = importlib.import_module(package_name)
            if self._module_prefix:  # plug-ins are ``<prefix>*.py`` anywhere under the package
                for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
                    if info.name.rsplit(".", 1)[-1].startswith(self._module_prefix):
                        importlib.import_module(info.name)
                continue
            for info in pkgutil.iter_modules(package.__path__):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{package_name}.{info.name}")
        for ep in entry_points(group=self.group):
            try:
                ep.load()  # the module registers itself on import, like a built-in one
            except Exception as exc:
                raise ConfigError(
                    f"the {self.group} entry point {ep.name!r} ({ep.value}) failed to load: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            log.debug("loaded %s plug-in %s from %s", self.kind, ep.name, ep.value)

    def get(self, name: str) -> T:
        self.discover()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"no {self.kind[:-1]} named {name!r} is registered (known: {known})") from None

    def items(self) -> dict[str, T]:
        self.discover()
        return dict(sorted(self._items.items()))

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.items())

"""Where the local stores live (``home``) and where the state database is: one definition.

``config.Settings`` derives its paths from these functions, and so does ``spendpilot proposals``
when it can find them without the settings models: building them (pydantic, pydantic-settings,
every section's model, the TOML checks) was a quarter of what listing 10,000 proposals cost.

``plain_state_location`` answers only when nothing but ``--home``, ``SPENDPILOT_HOME`` and
``SPENDPILOT_DATABASE_URL`` can decide it: no config file (``--config``, ``SPENDPILOT_CONFIG``,
``./spendpilot.toml``) and no other ``SPENDPILOT_*`` variable that could be a setting. Then
``Settings`` would read exactly those three, with the same precedence (argument, environment,
default) and no validation that could fail (any string is a path or a URL). Otherwise it says
None and the caller loads the full settings, which check everything as before (a misspelt key in
the file, a bad value in the environment): the same answer and the same errors, only slower.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from spendpilot.errors import ConfigError

DEFAULT_HOME = Path(".spendpilot")
STATE_FILE = "state.sqlite"
DEFAULT_CONFIG_FILE = "spendpilot.toml"
CONFIG_ENV = "SPENDPILOT_CONFIG"
ENV_PREFIX = "SPENDPILOT_"

NOT_SETTINGS = frozenset({"CONFIG", "USER", "TRUST_LOCAL_CONFIG", "FAILPOINTS"})
"""``SPENDPILOT_*`` variables that name no setting (``Settings`` ignores them); any other one may,
and sends ``plain_state_location`` to the full settings."""

_LOCATION_SETTINGS = ("HOME", "DATABASE_URL")


def state_db_url(home: Path, database_url: str | None) -> str:
    """The state database: ``database_url`` if set, else SQLite under ``home``."""
    return database_url or f"sqlite:///{(home / STATE_FILE).resolve()}"


@dataclass(frozen=True)
class StateLocation:
    home: Path
    database_url: str | None = None

    @property
    def state_db_url(self) -> str:
        return state_db_url(self.home, self.database_url)


def plain_state_location(home: Path | None, environ: Mapping[str, str] | None = None) -> StateLocation | None:
    """``home`` and ``database_url`` as ``load_settings(None, home=home)`` would give them, or None
    when only the full settings can say (see the module doc). Validates nothing about the folder:
    the caller checks it (``check_home``) as ``load_settings`` does."""
    environ = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for name, value in environ.items():
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        setting = upper[len(ENV_PREFIX):]
        if setting in NOT_SETTINGS:
            continue
        if setting not in _LOCATION_SETTINGS or setting in found:  # another setting, or two spellings
            return None
        found[setting] = value
    named = environ.get(CONFIG_ENV, "").strip()
    if named == os.devnull:
        pass  # "read no file" (the test suite's setting): no file, and ./spendpilot.toml is not looked for
    elif named or _exists(Path(DEFAULT_CONFIG_FILE)):
        return None  # a config file: its keys, trust and types are checked by the full settings
    if home is None:
        home = Path(found["HOME"]) if "HOME" in found else DEFAULT_HOME
    return StateLocation(home, found.get("DATABASE_URL"))


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return True  # the full settings say what is wrong with it


def check_home(home: Path) -> None:
    """Refuse a home that is a file, lies below a file, or cannot be written (by permissions;
    nothing is created here, so a refused command leaves no folder behind)."""
    fix = f"set home (--home, SPENDPILOT_HOME or home = in {DEFAULT_CONFIG_FILE}) to a folder you can write"
    if _visible(home) and not home.is_dir():
        raise ConfigError(f"home {home} is a file, not a folder — {fix}")
    existing = next((p for p in (home.absolute(), *home.absolute().parents) if _visible(p)), None)
    if existing is not None and not existing.is_dir():
        raise ConfigError(f"home {home} is not a writable folder ({existing} is a file) — {fix}")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"home {home} is not a writable folder ({existing} is read-only to you) — {fix}")


def ensure_home(home: Path) -> Path:
    """Create home if needed and prove it writable, so a bad home is one line, not a traceback."""
    check_home(home)
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as exc:
        raise ConfigError(
            f"home {home} is not a writable folder ({exc.strerror or exc}) — set home "
            f"(--home, SPENDPILOT_HOME or home = in {DEFAULT_CONFIG_FILE}) to a folder you can write"
        ) from exc
    return home


def _visible(path: Path) -> bool:
    """Whether ``path`` exists as far as this user can see (a folder it may not enter hides it)."""
    try:
        return path.exists()
    except OSError:
        return False

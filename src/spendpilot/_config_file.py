"""Reading ``spendpilot.toml``: which file, whether it is trusted, and one-line errors about it.

``spendpilot.config`` declares the settings; this module decides which TOML file feeds them and
refuses, in one line naming the file, the line and the key, everything that would otherwise be
ignored or crash later: malformed TOML, a misspelt key (``[aws] regoin``, which used to sweep
the default region without a word), a wrongly typed value, a missing file the user named.

Which files are trusted (the README says the same under "Which files are trusted"):

- a file the user named, with ``--config`` or ``SPENDPILOT_CONFIG``, and environment variables
  are trusted: they say whatever the user wants;
- ``./spendpilot.toml`` picked up implicitly from the working directory is not, because it
  arrives with whatever repository the user cloned. It may set thresholds, the region, the
  schedule; it may not load code (``[llm] model = "python:…"``) or change where requests and
  credentials go (``aws.endpoint_url``, any ``*_url`` or ``*endpoint*`` key, at any depth,
  ``[[sources]]`` entries included) or which secret is sent (a ``*key_env`` key names the
  environment variable whose value goes out as an API key). Such a file is refused, loudly,
  unless the user opts in by naming it (``--config ./spendpilot.toml``) or with ``SPENDPILOT_TRUST_LOCAL_CONFIG=1``.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from spendpilot.errors import ConfigError
from spendpilot.state_location import CONFIG_ENV as CONFIG_ENV  # defined with the home: one place
from spendpilot.state_location import DEFAULT_CONFIG_FILE as DEFAULT_CONFIG_FILE
from spendpilot.state_location import ENV_PREFIX as ENV_PREFIX

TRUST_LOCAL_ENV = "SPENDPILOT_TRUST_LOCAL_CONFIG"
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ConfigFile:
    """The TOML file settings are read from, and why it may say what it says."""

    path: Path
    named_by: str | None
    """``SPENDPILOT_CONFIG`` (which ``--config`` sets) or None: found in the working directory."""

    @property
    def shown(self) -> str:
        """The path as the user would type it (``./spendpilot.toml`` for the implicit file)."""
        return str(self.path) if self.named_by or self.path.is_absolute() else f"./{self.path}"

    @property
    def trusted(self) -> bool:
        return self.named_by is not None or os.environ.get(TRUST_LOCAL_ENV, "").strip().lower() in _TRUE


def locate_config_file() -> ConfigFile | None:
    """The file named by ``SPENDPILOT_CONFIG`` (which must exist), else ``./spendpilot.toml`` if any."""
    try:
        return _locate()
    except OSError as exc:  # e.g. a folder on the way this user may not enter
        raise ConfigError(f"cannot look for the config file: {exc.strerror or exc} ({exc.filename})") from exc


def _locate() -> ConfigFile | None:
    named = os.environ.get(CONFIG_ENV, "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.exists():
            raise ConfigError(f"{CONFIG_ENV}={named}: no such file — fix the path or unset {CONFIG_ENV}")
        if path.is_dir():  # not is_file(): SPENDPILOT_CONFIG=/dev/null means "read no file"
            raise ConfigError(f"{CONFIG_ENV}={named} is a folder, not a TOML file — name the file itself")
        return ConfigFile(path, CONFIG_ENV)
    path = Path(DEFAULT_CONFIG_FILE)
    if not path.exists():
        return None  # the default file is optional: every default works offline
    if path.is_dir():
        raise ConfigError(f"./{DEFAULT_CONFIG_FILE} is a folder, not a TOML file")
    return ConfigFile(path, None)


def read_config_file(config: ConfigFile, settings_model: type[BaseModel]) -> dict[str, Any]:
    """The file's settings, checked for syntax, trust, unknown keys and types (in that order)."""
    text = _read_text(config.path)
    shown = config.shown
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_error(shown, text, exc)) from exc
    if not config.trusted:
        refuse_untrusted(config, data, text)
    for where, key, known in unknown_keys(data, settings_model):
        raise ConfigError(_unknown_key_message(shown, text, where, key, known))
    _validate_types(shown, text, data, settings_model)
    return data


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); a spendpilot.toml is a TOML text file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from exc


_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


def _toml_error(path: str, text: str, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    match = _TOML_POSITION.search(message)
    if match is None:
        return f"{path}: not valid TOML: {message}"
    what = message[: match.start()]
    if match.group(1):
        return f"{path}:{match.group(1)}:{match.group(2)}: not valid TOML: {what}"
    return f"{path}:{max(1, text.count(chr(10)) + (not text.endswith(chr(10))))}: not valid TOML: {what} (at the end of the file)"


# --- trust -------------------------------------------------------------------------------------

_ENDPOINT_KEY = re.compile(r"(^|_)(url|uri|endpoint|host)s?$|endpoint", re.IGNORECASE)
_SECRET_NAME_KEY = re.compile(r"(key|password|secret|token|url)_env$", re.IGNORECASE)
"""A setting naming the environment variable whose secret (or secret URL) is sent somewhere."""


def _walk(data: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield (*path, key), value
            yield from _walk(value, (*path, key))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from _walk(item, (*path, i))


def refuse_untrusted(config: ConfigFile, data: Mapping[str, Any], text: str) -> None:
    """Raise if an implicitly found file would load code or redirect requests (see module doc)."""
    how = (
        f"if you trust this file, name it (--config {config.shown} or {CONFIG_ENV}={config.shown}) "
        f"or set {TRUST_LOCAL_ENV}=1"
    )
    origin = f"{config.shown} (found in the working directory, not named by you)"
    for path, value in _walk(data):
        key = path[-1]
        setting = _dotted(path)
        line = _line_of(text, path)
        at = f"{config.shown}:{line}" if line else config.shown
        if path == ("llm", "model") and isinstance(value, str) and value.strip().lower().startswith("python:"):
            raise ConfigError(
                f"refusing {origin}: {at} sets {setting} = {value.strip()!r}, which imports and runs "
                f"Python code; {how}"
            )
        if isinstance(key, str) and _ENDPOINT_KEY.search(key) and not isinstance(value, Mapping | list):
            raise ConfigError(
                f"refusing {origin}: {at} sets {setting} = {value!r}, which would send requests "
                f"(and credentials) to another endpoint; {how}"
            )
        if isinstance(key, str) and _SECRET_NAME_KEY.search(key) and isinstance(value, str):
            raise ConfigError(
                f"refusing {origin}: {at} sets {setting} = {value!r}, which chooses the environment "
                f"variable whose secret is sent as an API key; {how}"
            )


# --- unknown keys ------------------------------------------------------------------------------


def _models_in(annotation: Any) -> tuple[list[type[BaseModel]], bool]:
    """The pydantic models a field holds directly, and whether it holds a list of them."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation], False
    if origin in (typing.Union, types.UnionType):
        models: list[type[BaseModel]] = []
        is_list = False
        for arg in typing.get_args(annotation):
            found, listed = _models_in(arg)
            models += found
            is_list = is_list or listed
        return models, is_list
    if origin is list:
        args = typing.get_args(annotation)
        found, _ = _models_in(args[0]) if args else ([], False)
        return found, bool(found)
    return [], False


def unknown_keys(
    data: Mapping[str, Any], model: type[BaseModel], where: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str, list[str]]]:
    """(section path, key, known keys) for each key no settings model declares.

    Free-form tables (``[checks.<rule>]``, ``[[sources]]`` entries) are not walked: their own
    registries validate them, with their own messages.
    """
    known = list(model.model_fields)
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            yield where, key, known
            continue
        models, is_list = _models_in(field.annotation)
        if not models:
            continue
        items = list(enumerate(value)) if is_list and isinstance(value, list) else [(None, value)]
        for index, item in items:
            if not isinstance(item, Mapping):
                continue  # a wrong type: reported by validation, with the expected type
            path = (*where, key) if index is None else (*where, key, index)
            if len(models) == 1:
                yield from unknown_keys(item, models[0], path)
            else:
                union = {name for m in models for name in m.model_fields}
                for sub in item:
                    if sub not in union:
                        yield path, sub, sorted(union)


def closest(word: str, candidates: list[str]) -> str | None:
    found = difflib.get_close_matches(word.lower(), [c.lower() for c in candidates], n=1, cutoff=0.6)
    return next((c for c in candidates if c.lower() == found[0]), None) if found else None


def _section(where: tuple[str | int, ...]) -> str:
    if not where:
        return "at the top level"
    return f"in [{_dotted(where)}]"


def _unknown_key_message(path: str, text: str, where: tuple[str | int, ...], key: str, known: list[str]) -> str:
    line = _line_of(text, (*where, key))
    at = f"{path}:{line}" if line else str(path)
    guess = closest(key, known)
    hint = f"did you mean {guess}?" if guess else f"known keys: {', '.join(known)}"
    return f"{at}: unknown key {key!r} {_section(where)} — {hint} (a misspelt setting would be ignored)"


def check_environment(settings_model: type[BaseModel], environ: Mapping[str, str] | None = None) -> None:
    """Refuse ``SPENDPILOT_<SECTION>__<KEY>`` variables naming no setting (e.g. ``…AWS__REGOIN``).

    Only nested names are checked: top-level ``SPENDPILOT_*`` variables also serve other
    purposes (``SPENDPILOT_CONFIG``, ``SPENDPILOT_USER``, failpoints).
    """
    environ = os.environ if environ is None else environ
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts = name[len(ENV_PREFIX):].lower().split("__")
        model: type[BaseModel] | None = settings_model
        for depth, part in enumerate(parts):
            assert model is not None
            field = model.model_fields.get(part)
            if field is None:
                guess = closest(part, list(model.model_fields))
                suggestion = (
                    f"did you mean {ENV_PREFIX}{'__'.join([*parts[:depth], guess]).upper()}?" if guess
                    else f"known keys here: {', '.join(model.model_fields)}"
                )
                raise ConfigError(f"environment variable {name}: {part!r} names no setting — {suggestion}")
            models, is_list = _models_in(field.annotation)
            if len(models) != 1 or is_list:
                break  # a free-form table or a value: pydantic validates the rest
            model = models[0]


# --- types -------------------------------------------------------------------------------------


def _validate_types(path: str, text: str, data: Mapping[str, Any], settings_model: type[BaseModel]) -> None:
    """Validate each top-level setting the file gives, so a bad value is reported with its line."""
    for key, value in data.items():
        field = settings_model.model_fields[key]
        annotation = typing.Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
        try:
            TypeAdapter(annotation).validate_python(value)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, prefix=(key,), path=path, text=text)) from exc


def describe_validation_error(
    exc: ValidationError,
    *,
    prefix: tuple[str | int, ...] = (),
    path: str | None = None,
    text: str = "",
    environ: Mapping[str, str] | None = None,
) -> str:
    """One line for a pydantic error: where the value came from, the key, what is wrong."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = (*prefix, *first["loc"])
    setting = _dotted(loc)
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    given = _given(first)
    what = first["msg"].removeprefix("Value error, ")
    if path is not None:
        line = _line_of(text, loc)
        at = f"{path}:{line}" if line else str(path)
        return f"{at}: {setting}{given}: {what}{more}"
    environ = os.environ if environ is None else environ
    env_name = ENV_PREFIX + "__".join(str(p) for p in loc).upper()
    for candidate in (env_name, ENV_PREFIX + str(loc[0]).upper()):
        value = next((v for k, v in environ.items() if k.upper() == candidate), None)
        if value is not None:
            return f"environment variable {candidate}={value!r}: {setting}: {what}{more}"
    return f"setting {setting}{given}: {what}{more}"


def one_line(exc: ValidationError) -> str:
    """``key = value: what is wrong`` for the first problem pydantic found (its own text spans lines)."""
    errors = exc.errors(include_url=False)
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    first = errors[0]
    return f"{_dotted(tuple(first['loc'])) or 'value'}{_given(first)}: {first['msg'].removeprefix('Value error, ')}{more}"


def _given(error: Any) -> str:
    if error["type"] == "missing":
        return ""
    value = error.get("input")
    if isinstance(value, Mapping | list):
        return ""
    shown = repr(value)
    return f" = {shown[:60] + '…' if len(shown) > 60 else shown}"


def origin_of(loc: tuple[str | int, ...], environ: Mapping[str, str] | None = None) -> str:
    """``"<where>: "`` for a setting: the environment variable or the file line that set it, or ""."""
    environ = os.environ if environ is None else environ
    env_name = ENV_PREFIX + "__".join(str(p) for p in loc).upper()
    if any(k.upper() == env_name for k in environ):
        return f"environment variable {env_name}: "
    try:
        config = locate_config_file()
        if config is None:
            return ""
        text = _read_text(config.path)
    except ConfigError:
        return ""
    line = _find_line(text, loc)
    return f"{config.shown}:{line}: " if line else ""


# --- positions ---------------------------------------------------------------------------------


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _key_parts(raw: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in raw.split("."))


_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([^\[\]]+?)\s*\]\]\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def _line_of(text: str, path: tuple[str | int, ...]) -> int | None:
    """The line where ``path`` (section parts, then key) is set, best effort; else its parent's."""
    wanted = tuple(path)
    while wanted:
        line = _find_line(text, wanted)
        if line is not None:
            return line
        wanted = wanted[:-1]
    return None


def _find_line(text: str, wanted: tuple[str | int, ...]) -> int | None:
    table: tuple[str | int, ...] = ()
    arrays: dict[tuple[str, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if match := _ARRAY_TABLE.match(line):
            name = _key_parts(match.group(1))
            arrays[name] = arrays.get(name, -1) + 1
            table = (*name, arrays[name])
        elif match := _TABLE.match(line):
            table = _key_parts(match.group(1))
        elif match := _ASSIGN.match(line):
            if (*table, *_key_parts(match.group(1))) == wanted:
                return number
            continue
        else:
            continue
        if table == wanted:
            return number
    return None

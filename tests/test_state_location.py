"""``spendpilot proposals`` finds the state database without the settings models only where the
full settings would give the same answer, and honours --home, SPENDPILOT_HOME, --config and
./spendpilot.toml exactly as before (``state_location``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.config.helpers import one_error_line, spendpilot
from tests.tui.fakes import make_proposal

from spendpilot.config import Settings, load_settings
from spendpilot.state import StateStore
from spendpilot.state_location import _LOCATION_SETTINGS, NOT_SETTINGS, plain_state_location

_OURS = [k for k in os.environ if k.upper().startswith("SPENDPILOT_")]
"""The suite's own SPENDPILOT_* variables (SPENDPILOT_CONFIG=/dev/null): dropped for the CLI."""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No SPENDPILOT_* variable, and a working directory without spendpilot.toml."""
    for name in _OURS:
        monkeypatch.delenv(name)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.mark.parametrize(
    ("env", "home"),
    [
        ({}, None),
        ({"SPENDPILOT_HOME": "/tmp/sp-a"}, None),
        ({"spendpilot_home": "rel/sp-b"}, None),  # pydantic-settings matches names in any case
        ({"SPENDPILOT_HOME": ""}, None),
        ({"SPENDPILOT_HOME": "/tmp/sp-a"}, Path("/tmp/sp-override")),  # the argument wins
        ({"SPENDPILOT_DATABASE_URL": "postgresql://db/x"}, None),
        ({"SPENDPILOT_DATABASE_URL": ""}, Path("x")),
        ({"SPENDPILOT_CONFIG": os.devnull, "SPENDPILOT_HOME": "/tmp/sp-c", "SPENDPILOT_USER": "ann"}, None),
    ],
)
def test_the_plain_location_is_the_settings_location(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], home: Path | None
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    location = plain_state_location(home)
    settings = load_settings(None, **({"home": home} if home is not None else {}))
    assert location is not None
    assert (location.home, location.database_url) == (settings.home, settings.database_url)
    assert location.state_db_url == settings.state_db_url


@pytest.mark.parametrize(
    "env",
    [
        {"SPENDPILOT_CONFIG": "some.toml"},
        {"SPENDPILOT_AWS__REGOIN": "eu-west-1"},  # refused by the full settings: they must see it
        {"SPENDPILOT_SOURCE_CONCURRENCY": "many"},
        {"SPENDPILOT_HOME": "/tmp/a", "spendpilot_home": "/tmp/b"},
    ],
)
def test_anything_else_goes_to_the_full_settings(clean_env: Path, env: dict[str, str]) -> None:
    assert plain_state_location(None, env) is None


def test_a_spendpilot_toml_in_the_working_directory_goes_to_the_full_settings(clean_env: Path) -> None:
    assert plain_state_location(None, {}) is not None
    (clean_env / "spendpilot.toml").write_text('home = "elsewhere"\n')
    assert plain_state_location(None, {}) is None


def test_the_ignored_variables_name_no_setting() -> None:
    """A new setting called e.g. `user` would otherwise be skipped by the plain location."""
    fields = set(Settings.model_fields)
    assert {n.lower() for n in NOT_SETTINGS} & fields == set()
    assert {n.lower() for n in _LOCATION_SETTINGS} <= fields


# --- the command, in a fresh process as a user runs it -----------------------------------------


def _home_with(path: Path, *ids: str) -> Path:
    store = StateStore(f"sqlite:///{(path / 'state.sqlite').resolve()}")
    for i, proposal_id in enumerate(ids):
        store.upsert_proposal(make_proposal(proposal_id, str(100 * (i + 1))))
    store.engine.dispose()
    return path


@pytest.fixture
def homes(tmp_path: Path) -> tuple[Path, Path]:
    return _home_with(tmp_path / "a", "sp-0000000a"), _home_with(tmp_path / "b", "sp-0000000b")


def _ids(stdout: str) -> list[str]:
    return sorted(w for w in stdout.split() if w.startswith("sp-"))


def test_proposals_honours_spendpilot_home_and_home(tmp_path: Path, homes: tuple[Path, Path]) -> None:
    a, b = homes
    by_env = spendpilot("proposals", cwd=tmp_path, env={"SPENDPILOT_HOME": str(a)}, drop=_OURS)
    assert by_env.returncode == 0, by_env.stderr
    assert _ids(by_env.stdout) == ["sp-0000000a"]
    by_arg = spendpilot("proposals", "--home", str(b), cwd=tmp_path, env={"SPENDPILOT_HOME": str(a)}, drop=_OURS)
    assert _ids(by_arg.stdout) == ["sp-0000000b"]


def test_proposals_honours_config_files_and_prints_the_same(tmp_path: Path, homes: tuple[Path, Path]) -> None:
    a, b = homes
    (tmp_path / "named.toml").write_text(f'home = "{b}"\n')
    named = spendpilot("proposals", "--config", str(tmp_path / "named.toml"), cwd=tmp_path, drop=_OURS)
    by_variable = spendpilot("proposals", cwd=tmp_path, env={"SPENDPILOT_CONFIG": str(tmp_path / "named.toml")}, drop=_OURS)
    (tmp_path / "spendpilot.toml").write_text(f'home = "{a}"\n')
    local = spendpilot("proposals", cwd=tmp_path, env={"SPENDPILOT_HOME": str(b)}, drop=_OURS)  # env beats the file
    from_file = spendpilot("proposals", cwd=tmp_path, drop=_OURS)
    plain = spendpilot("proposals", cwd=tmp_path / "a", env={"SPENDPILOT_HOME": str(a)}, drop=_OURS)
    assert _ids(named.stdout) == _ids(by_variable.stdout) == _ids(local.stdout) == ["sp-0000000b"]
    assert _ids(from_file.stdout) == ["sp-0000000a"]
    assert plain.stdout == from_file.stdout  # without settings models and with them: the same bytes


def test_proposals_still_refuses_what_the_settings_refuse(tmp_path: Path, homes: tuple[Path, Path]) -> None:
    a, _ = homes
    (tmp_path / "bad.toml").write_text('[aws]\nregoin = "eu-west-1"\n')
    misspelt = spendpilot("proposals", "--config", str(tmp_path / "bad.toml"), cwd=tmp_path, drop=_OURS)
    assert misspelt.returncode == 2 and "did you mean region?" in one_error_line(misspelt.stderr)
    bad_env = spendpilot("proposals", cwd=tmp_path, env={"SPENDPILOT_HOME": str(a), "SPENDPILOT_AWS__REGOIN": "x"}, drop=_OURS)
    assert bad_env.returncode == 2 and "SPENDPILOT_AWS__REGOIN" in one_error_line(bad_env.stderr)
    (tmp_path / "a-file").write_text("")
    on_a_file = spendpilot("proposals", cwd=tmp_path, env={"SPENDPILOT_HOME": str(tmp_path / "a-file")}, drop=_OURS)
    assert on_a_file.returncode == 2 and "is a file, not a folder" in one_error_line(on_a_file.stderr)


def test_proposals_in_a_new_home_creates_it_as_before(tmp_path: Path) -> None:
    new = tmp_path / "new" / "home"
    listed = spendpilot("proposals", cwd=tmp_path, env={"SPENDPILOT_HOME": str(new)}, drop=_OURS)
    assert listed.returncode == 0, listed.stderr
    assert "No proposals" in listed.stdout and (new / "state.sqlite").is_file()


def test_proposals_honours_spendpilot_database_url(tmp_path: Path, homes: tuple[Path, Path]) -> None:
    a, b = homes
    url = f"sqlite:///{(b / 'state.sqlite').resolve()}"
    listed = spendpilot("proposals", "--home", str(a), cwd=tmp_path, env={"SPENDPILOT_DATABASE_URL": url}, drop=_OURS)
    assert _ids(listed.stdout) == ["sp-0000000b"]

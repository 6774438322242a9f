"""Issue 6, item 14: config mistakes are refused in one line (exit 2), never ignored, never a traceback.

Before: ``[aws] regoin`` was ignored and the default region swept; a missing SPENDPILOT_CONFIG
file was ignored while a missing --config was an error; malformed TOML, a wrongly typed value
or a home that is a file printed tracebacks.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.config.helpers import invoke, one_error_line, spendpilot

from spendpilot.config import Settings, load_settings
from spendpilot.errors import ConfigError, ExitCode


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh working directory; SPENDPILOT_CONFIG restored after (``--config`` sets it)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPENDPILOT_CONFIG", os.devnull)


def _toml(tmp_path: Path, text: str, name: str = "spendpilot.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_misspelt_key_is_refused_with_the_closest_known_key(tmp_path: Path) -> None:
    config = _toml(tmp_path, '[aws]\nregoin = "eu-west-1"\n')
    result = invoke("proposals", "--config", str(config), "--home", str(tmp_path / "home"))
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    line = one_error_line(result.stderr)
    assert line == (
        f"error: {config}:2: unknown key 'regoin' in [aws] — did you mean region? "
        "(a misspelt setting would be ignored)"
    )
    assert not (tmp_path / "home").exists()


def test_the_implicit_file_is_checked_too_and_may_be_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPENDPILOT_CONFIG")
    home = str(tmp_path / "home")
    assert invoke("proposals", "--home", home).exit_code == 0  # no ./spendpilot.toml: defaults
    _toml(tmp_path, "[schedule]\nsweep_corn = '0 * * * *'\n")
    result = invoke("proposals", "--home", home)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "./spendpilot.toml:2: unknown key 'sweep_corn' in [schedule] — did you mean sweep_cron?" in one_error_line(result.stderr)


def test_a_missing_spendpilot_config_file_is_an_error_like_a_missing_config_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPENDPILOT_CONFIG", str(tmp_path / "nope.toml"))
    result = invoke("proposals", "--home", str(tmp_path / "home"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert one_error_line(result.stderr) == (
        f"error: SPENDPILOT_CONFIG={tmp_path / 'nope.toml'}: no such file — fix the path or unset SPENDPILOT_CONFIG"
    )
    result = invoke("proposals", "--config", str(tmp_path / "nope.toml"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert one_error_line(result.stderr) == f"error: --config {tmp_path / 'nope.toml'} does not exist"
    with pytest.raises(ConfigError, match="no such file"):
        Settings()


def test_malformed_toml_names_the_file_line_and_column(tmp_path: Path) -> None:
    config = _toml(tmp_path, '[aws]\nregion = "eu-west-1"\nmetric_lookback_days = = 3\n')
    result = invoke("sweep", "--config", str(config), "--home", str(tmp_path / "home"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert one_error_line(result.stderr) == f"error: {config}:3:24: not valid TOML: Invalid value"


def test_a_wrongly_typed_setting_names_the_line_the_key_and_the_value(tmp_path: Path) -> None:
    config = _toml(tmp_path, '# costs\n[aws]\nregion = "eu-west-1"\nmetric_lookback_days = "x"\n')
    result = invoke("sweep", "--config", str(config), "--home", str(tmp_path / "home"))
    assert result.exit_code == ExitCode.BAD_INPUT
    line = one_error_line(result.stderr)
    assert line.startswith(f"error: {config}:4: aws.metric_lookback_days = 'x': Input should be a valid integer")


def test_a_home_that_is_a_file_is_one_line_in_a_real_process(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("not a folder")
    result = spendpilot("proposals", "--home", str(tmp_path / "home"), cwd=tmp_path, env={"SPENDPILOT_CONFIG": os.devnull})
    assert result.returncode == ExitCode.BAD_INPUT
    assert one_error_line(result.stderr).startswith(f"error: home {tmp_path / 'home'} is a file, not a folder")
    assert (tmp_path / "home").read_text() == "not a folder"


def test_environment_mistakes_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDPILOT_AWS__REGOIN", "eu-west-1")
    with pytest.raises(ConfigError, match=r"SPENDPILOT_AWS__REGOIN: 'regoin' names no setting — did you mean SPENDPILOT_AWS__REGION\?"):
        load_settings()
    monkeypatch.delenv("SPENDPILOT_AWS__REGOIN")
    monkeypatch.setenv("SPENDPILOT_AWS__METRIC_LOOKBACK_DAYS", "x")
    with pytest.raises(ConfigError, match=r"^environment variable SPENDPILOT_AWS__METRIC_LOOKBACK_DAYS='x': aws.metric_lookback_days"):
        load_settings()


def test_good_files_still_load(tmp_path: Path) -> None:
    config = _toml(
        tmp_path,
        'home = "h"\n[aws]\nregion = "eu-west-1"\nmetric_lookback_days = 30\n[llm]\nmodel = "none"\n'
        '[schedule]\nsweep_cron = "*/15 * * * *"\n[checks.idle_gpu_instance]\ngpu_p95_max_percent = 3.0\n',
    )
    settings = load_settings(config)
    assert (settings.home, settings.aws.region, settings.aws.metric_lookback_days) == (Path("h"), "eu-west-1", 30)
    assert settings.schedule.sweep_cron == "*/15 * * * *"
    assert settings.checks == {"idle_gpu_instance": {"gpu_p95_max_percent": 3.0}}

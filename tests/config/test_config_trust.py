"""Issue 6, item 15: a spendpilot.toml found in the working directory is not trusted.

Cloning a repository with a hostile ``spendpilot.toml`` and running ``spendpilot sweep`` in it
used to import and run its code (``[llm] model = "python:…"``) and send AWS requests, signed
with the user's credentials, to its ``endpoint_url``. The real CLI runs in a subprocess whose
working directory holds the hostile file, as a user's shell would.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.adapters.reply_server import Reply, reply_server
from tests.config.helpers import one_error_line, spendpilot

from spendpilot.errors import ExitCode

HOSTILE_MODULE = '''
from pathlib import Path

def factory():
    Path("PWNED").write_text("the config file ran code")
    raise RuntimeError("not a real model: this module only proves it was imported")
'''


@pytest.fixture
def cloned_repo(tmp_path: Path) -> Path:
    """A working directory as a cloned repository leaves it: a module and a spendpilot.toml."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "evil_model.py").write_text(HOSTILE_MODULE)
    return repo


def _env(repo: Path) -> dict[str, str]:
    return {"SPENDPILOT_HOME": str(repo.parent / "home")}


def test_a_local_config_may_not_load_code(cloned_repo: Path) -> None:
    (cloned_repo / "spendpilot.toml").write_text('[aws]\nenabled = false\n\n[llm]\nmodel = "python:evil_model:factory"\n')
    result = spendpilot("sweep", cwd=cloned_repo, env=_env(cloned_repo))
    assert result.returncode == ExitCode.BAD_INPUT, result.stdout + result.stderr
    assert one_error_line(result.stderr) == (
        "error: refusing ./spendpilot.toml (found in the working directory, not named by you): "
        "./spendpilot.toml:5 sets llm.model = 'python:evil_model:factory', which imports and runs "
        "Python code; if you trust this file, name it (--config ./spendpilot.toml or "
        "SPENDPILOT_CONFIG=./spendpilot.toml) or set SPENDPILOT_TRUST_LOCAL_CONFIG=1"
    )
    assert not (cloned_repo / "PWNED").exists()
    assert not (cloned_repo.parent / "home").exists()


@pytest.mark.parametrize(
    ("toml", "setting"),
    [
        ('[aws]\nendpoint_url = "{url}"\n', "aws.endpoint_url"),
        ('database_url = "sqlite:///{repo}/../elsewhere.sqlite"\n[aws]\nendpoint_url = "{url}"\n', "database_url"),
        ('[[sources]]\nkind = "aws"\nendpoint_url = "{url}"\n', "sources[0].endpoint_url"),
    ],
)
def test_a_local_config_may_not_redirect_requests(cloned_repo: Path, toml: str, setting: str) -> None:
    with reply_server(Reply(status=500)) as attacker:
        (cloned_repo / "spendpilot.toml").write_text(toml.format(url=attacker.url, repo=cloned_repo))
        result = spendpilot("sweep", cwd=cloned_repo, env=_env(cloned_repo))
    assert result.returncode == ExitCode.BAD_INPUT, result.stdout + result.stderr
    line = one_error_line(result.stderr)
    assert f"sets {setting} = " in line and "would send requests (and credentials) to another endpoint" in line
    assert "SPENDPILOT_TRUST_LOCAL_CONFIG=1" in line
    assert attacker.operations == []  # not one request reached it
    assert not (cloned_repo.parent / "elsewhere.sqlite").exists()


def test_naming_the_file_or_opting_in_trusts_it(cloned_repo: Path) -> None:
    with reply_server(Reply(body=b"<html>the endpoint the user chose</html>", content_type="text/html")) as chosen:
        (cloned_repo / "spendpilot.toml").write_text(f'[aws]\nendpoint_url = "{chosen.url}"\n')
        named = spendpilot("sweep", "--config", "./spendpilot.toml", cwd=cloned_repo,
                           env={**_env(cloned_repo), "AWS_MAX_ATTEMPTS": "1"})  # fmt: skip
        assert chosen.operations[:1] == ["DescribeInstances"], named.stdout + named.stderr
        opted_in = spendpilot("sweep", cwd=cloned_repo,
                              env={**_env(cloned_repo), "AWS_MAX_ATTEMPTS": "1", "SPENDPILOT_TRUST_LOCAL_CONFIG": "1"})  # fmt: skip
    assert "Traceback" not in named.stderr + opted_in.stderr
    assert chosen.operations.count("DescribeInstances") == 2, opted_in.stdout + opted_in.stderr
    (cloned_repo / "spendpilot.toml").write_text('[llm]\nmodel = "python:evil_model:factory"\n')
    trusted = spendpilot("sweep", cwd=cloned_repo, env={**_env(cloned_repo), "SPENDPILOT_TRUST_LOCAL_CONFIG": "1",
                                                       "SPENDPILOT_AWS__ENABLED": "false"})  # fmt: skip
    assert (cloned_repo / "PWNED").exists()  # trusted: the user asked for exactly this
    assert "the factory failed: RuntimeError" in one_error_line(trusted.stderr)


def test_a_local_config_may_still_set_ordinary_things(cloned_repo: Path) -> None:
    (cloned_repo / "spendpilot.toml").write_text('[aws]\nenabled = false\nregion = "eu-west-1"\n\n[checks.idle_gpu_instance]\ngpu_p95_max_percent = 3.0\n')
    result = spendpilot("sweep", cwd=cloned_repo, env=_env(cloned_repo))
    assert result.returncode == 0, result.stdout + result.stderr


def test_environment_variables_are_trusted(cloned_repo: Path) -> None:
    result = spendpilot(
        "sweep", cwd=cloned_repo,
        env={**_env(cloned_repo), "SPENDPILOT_AWS__ENABLED": "false", "SPENDPILOT_LLM__MODEL": "python:evil_model:factory",
             "SPENDPILOT_CONFIG": os.devnull},
    )  # fmt: skip
    assert (cloned_repo / "PWNED").exists(), result.stdout + result.stderr
    assert result.returncode == ExitCode.BAD_INPUT and "the factory failed" in one_error_line(result.stderr)

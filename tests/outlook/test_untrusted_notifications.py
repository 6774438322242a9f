"""A spendpilot.toml found in the working directory (not named by the user) may not choose where
alerts go, nor which environment variable is sent as a password or used as a webhook URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.config.helpers import one_error_line, spendpilot

from spendpilot.errors import ExitCode


@pytest.mark.parametrize(("toml", "setting"), [
    ('[notifications]\nwebhook_url = "http://127.0.0.1:9/steal"\n', "notifications.webhook_url"),
    ('[notifications]\nwebhook_url_env = "AWS_SECRET_ACCESS_KEY"\n', "notifications.webhook_url_env"),
    ('[notifications]\nsmtp_password_env = "OPENAI_ADMIN_KEY"\n', "notifications.smtp_password_env"),
    ('[notifications]\nsmtp_host = "127.0.0.1"\n', "notifications.smtp_host"),
    ('[aws_budgets]\nendpoint_url = "http://127.0.0.1:9"\n', "aws_budgets.endpoint_url"),
])
def test_a_local_config_may_not_direct_alerts_or_secrets(tmp_path: Path, toml: str, setting: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "spendpilot.toml").write_text(toml)
    result = spendpilot("budgets", cwd=repo, env={"SPENDPILOT_HOME": str(tmp_path / "home")})
    assert result.returncode == ExitCode.BAD_INPUT, result.stdout + result.stderr
    line = one_error_line(result.stderr)
    assert f"sets {setting} = " in line and "SPENDPILOT_TRUST_LOCAL_CONFIG=1" in line

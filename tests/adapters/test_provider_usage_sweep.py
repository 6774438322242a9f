"""End to end: ``spendpilot sweep`` with an ``openai`` source finds a frontier model answering
short requests from the OpenAI usage API alone (no usage export, no spans), and proposes the
route change; a refused key in the same sweep is a gap, not a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.adapters.llm_usage_server import OPENAI, OPENAI_DATA, load, usage_api_server
from tests.adapters.ml_replies import NO_ML
from tests.adapters.reply_server import Reply, reply_server
from tests.adapters.test_aws_unreadable import NO_GROUPS, NO_INSTANCES, SSM_JSON
from tests.config.helpers import one_error_line, spendpilot
from tests.conftest import run_cli

KEY = "sk-admin-e2e-91b2"  # test-only value
ROUTE = {"Parameters": [{"Name": "/spendpilot/features/ticket-classifier/model", "Type": "String",
                         "Value": "gpt-4.1", "Version": 3}]}


def _day_pages(days: int) -> list[dict]:
    """One page per day up to today: 5,000 requests a day of ~600 tokens in and ~80 out on
    gpt-4.1 in the classifier's project, as the usage API reports them."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    pages = []
    for n in range(days):
        start = int((today - timedelta(days=n)).timestamp())
        row = load(OPENAI_DATA / "completions_result_example.json") | {
            "model": "gpt-4.1-2025-04-14" if n == 0 else "gpt-4.1", "project_id": "proj_tickets",
            "num_model_requests": 5000, "input_tokens": 3_000_000, "input_cached_tokens": 1_000_000,
            "input_cache_write_tokens": 0, "output_tokens": 400_000, "user_id": None, "api_key_id": None}
        pages.append({"object": "page", "data": [{"object": "bucket", "start_time": start,
                                                  "end_time": start + 86400, "results": [row]}]})
    return pages[::-1]


def test_a_sweep_finds_route_to_model_waste_from_the_openai_usage_api_alone(tmp_path: Path) -> None:
    aws_replies = {
        "DescribeInstances": NO_INSTANCES, "DescribeAutoScalingGroups": NO_GROUPS,
        "GetParametersByPath": Reply(body=json.dumps(ROUTE).encode(), content_type=SSM_JSON),
        "ListEndpoints": Reply(body=b'{"Endpoints": []}', content_type=SSM_JSON),
        "DescribeVolumes": Reply(body=b'<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                                      b"<requestId>r</requestId><volumeSet/></DescribeVolumesResponse>"),
        **NO_ML,
    }
    with usage_api_server(OPENAI, KEY, prefix="/v1") as openai, reply_server(**aws_replies) as aws:
        openai.pages = {"/v1/organization/usage/completions": _day_pages(3),
                        "/v1/organization/usage/embeddings": [{"object": "page", "data": []}],
                        "/v1/organization/costs": [{"object": "page", "data": []}]}
        config = tmp_path / "spendpilot.toml"
        config.write_text(
            f'[[sources]]\nkind = "aws"\nendpoint_url = "{aws.url}"\nmax_attempts = 1\ngpu_namespaces = []\n\n'
            f'[[sources]]\nkind = "openai"\nname = "openai prod"\nbase_url = "{openai.url}"\n'
            'feature_by_project = { proj_tickets = "ticket-classifier" }\n\n'
            f'[[sources]]\nkind = "anthropic"\nbase_url = "{openai.url}"\n',
            encoding="utf-8",
        )
        env = {"OPENAI_ADMIN_KEY": KEY, "ANTHROPIC_ADMIN_KEY": "sk-ant-admin-not-this-one",
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        proc = run_cli("sweep", "--json", "--config", str(config), "--home", str(tmp_path / "home"), env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    [proposal] = out["proposals"]
    assert (proposal["rule"], proposal["action"], proposal["target"]["id"]) == (
        "frontier_model_simple_tasks", "route_to_model", "ticket-classifier")
    evidence = {e["label"]: e["value"] for e in proposal["evidence"]}
    # 3 days on gpt-4.1: today's row names the dated snapshot that served it, the same model the
    # route names by its alias, so it counts too (15,000 requests), and the evidence says so.
    assert evidence["Requests"] == "15,000 in 3 days"
    assert evidence["Average tokens per request"] == "600 in / 80 out"
    assert evidence["Current route"] == "gpt-4.1 (tier: frontier); usage reports it as gpt-4.1-2025-04-14"
    # The Anthropic source in the same sweep could not be read (the server is not Anthropic's): a gap.
    [gap] = out["report"]["gaps"]
    assert gap["source"] == "anthropic usage" and "sk-ant-admin-not-this-one" not in proc.stdout + proc.stderr


def test_a_found_config_may_not_choose_which_secret_is_sent_as_the_admin_key(tmp_path: Path) -> None:
    """An implicitly found ./spendpilot.toml could otherwise send, say, the AWS secret key to a
    provider as its admin key; like an endpoint, that needs a config the user named."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "spendpilot.toml").write_text('[[sources]]\nkind = "openai"\nadmin_key_env = "AWS_SECRET_ACCESS_KEY"\n')
    result = spendpilot("sweep", cwd=repo, env={"SPENDPILOT_HOME": str(tmp_path / "home")})
    assert result.returncode == 2, result.stdout + result.stderr
    assert one_error_line(result.stderr) == (
        "error: refusing ./spendpilot.toml (found in the working directory, not named by you): "
        "./spendpilot.toml:3 sets sources[0].admin_key_env = 'AWS_SECRET_ACCESS_KEY', which chooses the "
        "environment variable whose secret is sent as an API key; if you trust this file, name it "
        "(--config ./spendpilot.toml or SPENDPILOT_CONFIG=./spendpilot.toml) or set SPENDPILOT_TRUST_LOCAL_CONFIG=1"
    )

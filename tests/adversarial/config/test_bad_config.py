"""Standing adversarial suite: bad config files, environments and CLI arguments.

Every case asserts the invariants a user relies on: one clear line saying what is wrong and
where (``error: …``, last line of stderr), the documented exit code, no traceback, and nothing
written where it should not be (no home created for a config that was refused, no proposal
state or audit event changed by a refused command, no sweep recorded by a refused sweep).

Most cases run the CLI in this process (``CliRunner`` on ``spendpilot.cli.app``: the same
commands, option parsing and error printing as the installed command); the hostile-local-config
cases need a working directory and discovery of ``./spendpilot.toml``, so they run the real
command in a subprocess.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from tests.config.helpers import invoke, one_error_line, spendpilot

from spendpilot.config import Settings
from spendpilot.domain import (
    ActionPlan,
    Estimate,
    Evidence,
    Money,
    Proposal,
    ProposalStatus,
    ResourceRef,
    Risk,
)
from spendpilot.errors import ExitCode
from spendpilot.state import StateStore

DATA = Path(__file__).resolve().parents[2] / "data" / "focus"
BAD, MISSING, CONFLICT = ExitCode.BAD_INPUT, ExitCode.NOT_FOUND, ExitCode.CONFLICT


@dataclass(frozen=True)
class Case:
    """One bad input. ``toml`` is written to ``spendpilot.toml`` and passed with --config;
    ``{tmp}`` in any string is the test's folder; ``says`` must appear in the error line."""

    id: str
    args: tuple[str, ...]
    says: str
    exit: ExitCode = BAD
    toml: str | bytes | None = None
    env: dict[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()


def _cfg(id: str, toml: str | bytes, says: str, command: str = "proposals") -> Case:  # noqa: A002
    return Case(id, (command, "--config", "{tmp}/spendpilot.toml"), says, toml=toml)


CONFIG_CASES = [
    # misspelt keys, one per section, in every TOML spelling of a key
    _cfg("top-level-typo", 'hom = ".x"\n', "spendpilot.toml:1: unknown key 'hom' at the top level — did you mean home?"),
    _cfg("aws-typo", '[aws]\nregoin = "eu-west-1"\n', "spendpilot.toml:2: unknown key 'regoin' in [aws] — did you mean region?"),
    _cfg("aws-endpoint-typo", '[aws]\nendpoint = "http://127.0.0.1:9"\n', "unknown key 'endpoint' in [aws] — did you mean endpoint_url?"),
    _cfg("llm-typo", '[llm]\nmodle = "openai:gpt-4.1-mini"\n', "spendpilot.toml:2: unknown key 'modle' in [llm] — did you mean model?"),
    _cfg("llm-temperature-typo", "[llm]\ntemprature = 0.2\n", "unknown key 'temprature' in [llm] — did you mean temperature?"),
    _cfg("schedule-typo", '[schedule]\nsweep_corn = "0 * * * *"\n', "unknown key 'sweep_corn' in [schedule] — did you mean sweep_cron?"),
    _cfg("section-typo", '[awss]\nregion = "eu-west-1"\n', "spendpilot.toml:1: unknown key 'awss' at the top level — did you mean aws?"),
    _cfg("dotted-key-typo", 'aws.regoin = "eu-west-1"\n', "spendpilot.toml:1: unknown key 'regoin' in [aws] — did you mean region?"),
    _cfg("inline-table-typo", 'aws = { regoin = "eu-west-1" }\n', "spendpilot.toml:1: unknown key 'regoin' in [aws]"),
    _cfg("check-threshold-typo", "[checks.idle_gpu_instance]\ngpu_p95_max = 3\n", "unknown setting(s) gpu_p95_max", command="sweep"),
    _cfg("unknown-check", "[checks.idle_gpu]\ngpu_p95_max_percent = 3\n", "unknown rule(s): idle_gpu", command="sweep"),
    # wrong types and values
    _cfg("lookback-not-a-number", '[aws]\nmetric_lookback_days = "x"\n', "spendpilot.toml:2: aws.metric_lookback_days = 'x': Input should be a valid integer"),
    _cfg("lookback-negative", "[aws]\nmetric_lookback_days = -1\n", "aws.metric_lookback_days = -1: must be between 1 and 455 days"),
    _cfg("lookback-zero", "[aws]\nmetric_lookback_days = 0\n", "aws.metric_lookback_days = 0: must be between 1 and 455 days"),
    _cfg("lookback-beyond-retention", "[aws]\nmetric_lookback_days = 10000\n", "aws.metric_lookback_days = 10000: must be between 1 and 455"),
    _cfg("enabled-not-a-bool", '[aws]\nenabled = "maybe"\n', "aws.enabled = 'maybe': Input should be a valid boolean"),
    _cfg("temperature-not-a-number", '[llm]\ntemperature = "hot"\n', "llm.temperature = 'hot': Input should be a valid number"),
    _cfg("region-a-list", '[aws]\nregion = ["eu-west-1"]\n', "spendpilot.toml:2: aws.region: Input should be a valid string"),
    _cfg("section-a-string", 'aws = "us-east-1"\n', "spendpilot.toml:1: aws = 'us-east-1': Input should be a valid dictionary"),
    _cfg("home-a-number", "home = 42\n", "spendpilot.toml:1: home = 42:"),
    _cfg("checks-a-number", "checks = 5\n", "spendpilot.toml:1: checks = 5: Input should be a valid dictionary"),
    _cfg("check-threshold-wrong-type", '[checks.idle_gpu_instance]\ngpu_p95_max_percent = "low"\n', "[checks.idle_gpu_instance]", command="sweep"),
    _cfg("cron-words", '[schedule]\nsweep_cron = "every hour"\n', "spendpilot.toml:2: schedule.sweep_cron = 'every hour': not a 5-field cron expression"),
    _cfg("cron-out-of-range", '[schedule]\nsweep_cron = "61 * * * *"\n', "schedule.sweep_cron = '61 * * * *': not a 5-field cron expression"),
    # malformed TOML
    _cfg("unclosed-table", '[aws\nregion = "eu-west-1"\n', "spendpilot.toml:1:5: not valid TOML: Expected ']' at the end of a table declaration"),
    _cfg("missing-value", "[aws]\nregion =\n", "spendpilot.toml:2:9: not valid TOML: Invalid value"),
    _cfg("duplicate-key", '[aws]\nregion = "a"\nregion = "b"\n', "not valid TOML: Cannot overwrite a value"),
    _cfg("unterminated-string", '[aws]\nregion = "eu-west-1\n', "spendpilot.toml:2:20: not valid TOML: Illegal character"),
    _cfg("unterminated-multiline-string", '[aws]\nregion = """eu-west-1\n', "spendpilot.toml:2: not valid TOML: Unterminated string (at the end of the file)"),
    _cfg("trailing-garbage", '[aws]\nregion = "eu-west-1" us\n', "spendpilot.toml:2:22: not valid TOML: Expected newline or end of document"),
    _cfg("bare-word", "[aws]\nregoin\n", "spendpilot.toml:2:7: not valid TOML"),
    _cfg("not-utf8", '[aws]\nregion = "caf\xe9"\n'.encode("latin-1"), "spendpilot.toml: not UTF-8 text (byte 19)"),
    _cfg("binary-file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "spendpilot.toml: not UTF-8 text (byte 0)"),
    # files and homes
    Case("config-missing", ("proposals", "--config", "{tmp}/nope.toml"), "error: --config {tmp}/nope.toml does not exist"),
    Case("config-a-folder", ("proposals", "--config", "{tmp}"), "error: --config {tmp} is a folder, not a TOML file"),
    Case("env-config-missing", ("proposals",), "SPENDPILOT_CONFIG={tmp}/nope.toml: no such file", env={"SPENDPILOT_CONFIG": "{tmp}/nope.toml"}),
    Case("env-config-a-folder", ("proposals",), "SPENDPILOT_CONFIG={tmp} is a folder", env={"SPENDPILOT_CONFIG": "{tmp}"}),
    Case("home-a-file", ("proposals", "--home", "{tmp}/a-file"), "home {tmp}/a-file is a file, not a folder"),
    Case("home-a-file-in-toml", ("proposals", "--config", "{tmp}/spendpilot.toml"), "home {tmp}/a-file is a file, not a folder",
         toml='home = "{tmp}/a-file"\n', unset=("SPENDPILOT_HOME",)),
    Case("home-below-a-file", ("proposals", "--home", "{tmp}/a-file/home"), "home {tmp}/a-file/home is not a writable folder ({tmp}/a-file is a file)"),
    Case("ingest-home-below-a-file", ("ingest", str(DATA / "llm_usage.csv"), "--llm-usage", "--home", "{tmp}/a-file/home"), "({tmp}/a-file is a file)"),
    Case("ingest-home-a-file", ("ingest", str(DATA / "planted_bad_rows.csv"), "--home", "{tmp}/a-file"), "home {tmp}/a-file is a file, not a folder"),
    Case("home-unwritable", ("proposals", "--home", "/sys/spendpilot-home"), "home /sys/spendpilot-home is not a writable folder"),
    # the environment
    Case("env-typo", ("proposals",), "SPENDPILOT_AWS__REGOIN: 'regoin' names no setting — did you mean SPENDPILOT_AWS__REGION?", env={"SPENDPILOT_AWS__REGOIN": "x"}),
    Case("env-section-typo", ("proposals",), "SPENDPILOT_AWSS__REGION: 'awss' names no setting — did you mean SPENDPILOT_AWS?", env={"SPENDPILOT_AWSS__REGION": "x"}),
    Case("env-wrong-type", ("proposals",), "environment variable SPENDPILOT_AWS__METRIC_LOOKBACK_DAYS='x': aws.metric_lookback_days", env={"SPENDPILOT_AWS__METRIC_LOOKBACK_DAYS": "x"}),
    Case("env-bad-json", ("proposals",), "environment variable SPENDPILOT_AWS is not valid JSON", env={"SPENDPILOT_AWS": "{bad"}),
    Case("model-without-provider", ("sweep",), '[llm] model = "gpt-4o": expected "provider:model"', env={"SPENDPILOT_LLM__MODEL": "gpt-4o"}),
    Case("model-python-empty", ("sweep",), '[llm] model = "python:": expected python:package.module:factory', env={"SPENDPILOT_LLM__MODEL": "python:"}),
    Case("model-python-missing", ("sweep",), "cannot import no_such_module:factory", env={"SPENDPILOT_LLM__MODEL": "python:no_such_module:factory"}),
    Case("model-factory-not-a-model", ("sweep",), "the factory returned str, not a LangChain chat model", env={"SPENDPILOT_LLM__MODEL": "python:os:getcwd"}),
]  # fmt: skip


def _fill(text: str, tmp: Path) -> str:
    return text.replace("{tmp}", str(tmp))


def _sweeps(home: Path) -> int:
    db = home / "state.sqlite"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from sweeps").fetchone()[0]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each case in its own folder and home; SPENDPILOT_CONFIG restored (``--config`` sets it)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPENDPILOT_CONFIG", os.devnull)
    monkeypatch.setenv("SPENDPILOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPENDPILOT_AWS__ENABLED", "false")  # a sweep reads the (empty) lake only
    (tmp_path / "a-file").write_text("a file, not a folder\n")


@pytest.mark.parametrize("case", CONFIG_CASES, ids=lambda c: c.id)
def test_bad_config(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if case.toml is not None:
        raw = case.toml if isinstance(case.toml, bytes) else _fill(case.toml, tmp_path).encode()
        (tmp_path / "spendpilot.toml").write_bytes(raw)
    for key, value in case.env.items():
        monkeypatch.setenv(key, _fill(value, tmp_path))
    for key in case.unset:
        monkeypatch.delenv(key)
    result = invoke(*(_fill(a, tmp_path) for a in case.args))
    assert result.exit_code == case.exit, result.output
    assert _fill(case.says, tmp_path) in one_error_line(result.stderr)
    assert result.stdout == ""
    assert (tmp_path / "a-file").read_text() == "a file, not a folder\n"
    assert _sweeps(tmp_path / "home") == 0  # a refused sweep records nothing
    if case.args[0] != "sweep":
        assert not (tmp_path / "home").exists()  # refused before any store was opened


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to run as another user")
def test_home_unwritable_for_the_user(tmp_path: Path) -> None:
    """As an ordinary user (uid 65534) with a read-only home: one line, exit 2, nothing created."""
    shared = Path(tempfile.mkdtemp(prefix="spendpilot-ro-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        home = shared / "home"
        home.mkdir(mode=0o555)
        home.chmod(0o555)
        env = {k: v for k, v in os.environ.items() if k != "SPENDPILOT_HOME"}
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "spendpilot.cli",
             "proposals", "--home", str(home / "stores")],
            cwd=shared, capture_output=True, text=True, env={**env, "HOME": str(shared)}, timeout=120,
        )  # fmt: skip
        assert result.returncode == BAD, result.stdout + result.stderr
        assert f"home {home / 'stores'} is not a writable folder ({home} is read-only to you)" in one_error_line(result.stderr)
        assert list(home.iterdir()) == []
    finally:
        shared.joinpath("home").chmod(0o755)
        shutil.rmtree(shared)


# --- CLI arguments against a home with a pending and a rejected proposal ------------------------


def _proposal(pid: str, name: str, status: ProposalStatus) -> Proposal:
    ref = ResourceRef(provider="aws", kind="ec2_instance", id=f"i-{pid[3:]}0000000000", name=name)
    plan = ActionPlan(
        action="stop_instance", target=ref, change={"state": "stopped"}, expected_pre_state={"state": "running"},
        rollback_description="start it again", description=f"Stop {name}.",
    )
    amount = Money.usd(Decimal("100"))
    return Proposal(
        id=pid, rule="idle_gpu_instance", action="stop_instance", target=ref, summary=f"{name} idle",
        estimate=Estimate(low=amount, expected=amount, high=amount, formula="x", inputs=[]),
        plan=plan, risk=Risk.LOW, evidence=[Evidence(label="GPU p95", value="0.4%", source="CloudWatch")],
        status=status, fingerprint=f"fp-{pid}", evidence_digest="d",
    )


PENDING, REJECTED = "sp-0000aaaa", "sp-0000bbbb"

ARGUMENT_CASES = [
    Case("by-empty", ("approve", PENDING, "--by", ""), "say who is deciding: --by NAME"),
    Case("by-blank", ("approve", PENDING, "--by", "   "), "say who is deciding: --by NAME"),
    Case("reject-by-empty", ("reject", PENDING, "--by", "", "--reason", "busy"), "say who is deciding"),
    Case("reason-empty", ("reject", PENDING, "--by", "bob", "--reason", ""), "a rejection needs a reason"),
    Case("reason-blank", ("reject", PENDING, "--by", "bob", "--reason", " \t "), "a rejection needs a reason"),
    Case("plan-hash-too-short", ("approve", PENDING, "--by", "alice", "--plan-hash", "x"), "--plan-hash 'x' is too short"),
    Case("plan-hash-wrong", ("approve", PENDING, "--by", "alice", "--plan-hash", "deadbeefdeadbeef"), "you approved plan deadbeefdead", CONFLICT),
    Case("approve-unknown-id", ("approve", "sp-ffffffff", "--by", "alice"), "no proposal with id 'sp-ffffffff'", MISSING),
    Case("approve-not-an-id", ("approve", "'; drop table proposals; --", "--by", "alice"), "no proposal with id", MISSING),
    Case("show-unknown-id", ("show", "sp-ffffffff"), "no proposal with id 'sp-ffffffff'", MISSING),
    Case("reject-unknown-id", ("reject", "sp-ffffffff", "--by", "bob", "--reason", "no"), "no proposal with id", MISSING),
    Case("approve-rejected", ("approve", REJECTED, "--by", "alice"), f"{REJECTED} is rejected; only pending proposals can be approved", CONFLICT),
    Case("reject-rejected", ("reject", REJECTED, "--by", "bob", "--reason", "again"), f"{REJECTED} is rejected; only pending", CONFLICT),
    Case("ingest-missing", ("ingest", "{tmp}/nope.csv"), "{tmp}/nope.csv: no such file or folder"),
    Case("ingest-not-focus", ("ingest", str(DATA / "not_focus.csv")), "not_focus.csv"),
    Case("ingest-focus-as-usage", ("ingest", "--llm-usage", str(DATA / "planted_bad_rows.csv")), "planted_bad_rows.csv"),
]  # fmt: skip


@pytest.fixture
def seeded(tmp_path: Path) -> StateStore:
    settings = Settings(home=tmp_path / "home")
    settings.ensure_home()
    store = StateStore(settings.state_db_url)
    store.upsert_proposal(_proposal(PENDING, "gpu-a", ProposalStatus.PENDING))
    store.upsert_proposal(_proposal(REJECTED, "gpu-b", ProposalStatus.REJECTED))
    return store


@pytest.mark.parametrize("case", ARGUMENT_CASES, ids=lambda c: c.id)
def test_bad_arguments(case: Case, seeded: StateStore, tmp_path: Path) -> None:
    before = ({p.id: p.status for p in seeded.list_proposals()}, len(seeded.audit_events()))
    result = invoke(*(_fill(a, tmp_path) for a in case.args))
    assert result.exit_code == case.exit, result.output
    assert _fill(case.says, tmp_path) in one_error_line(result.stderr)
    assert ({p.id: p.status for p in seeded.list_proposals()}, len(seeded.audit_events())) == before
    assert not (tmp_path / "home" / "lake").exists() or not any((tmp_path / "home" / "lake").rglob("*.parquet"))


@pytest.mark.parametrize(
    ("args", "option"),
    [(("proposals", "--status", "bogus"), "--status"), (("audit", "--limit", "abc"), "--limit")],
    ids=["unknown-status", "limit-not-a-number"],
)
def test_unparseable_options_are_usage_errors(args: tuple[str, ...], option: str, tmp_path: Path) -> None:
    """click's own usage message (a short boxed block with the usage line), exit 2, no traceback."""
    result = invoke(*args)
    assert result.exit_code == BAD
    assert "Traceback" not in result.output
    assert [line for line in result.stderr.splitlines() if f"Invalid value for '{option}'" in line]
    assert not (tmp_path / "home").exists()


# --- hostile ./spendpilot.toml in the working directory (the real command, in a subprocess) -----

HOSTILE = [
    ("python-model", '[llm]\nmodel = "python:evil:factory"\n', "llm.model = 'python:evil:factory', which imports and runs Python code"),
    ("python-model-inline", 'llm = { model = "python:evil:factory" }\n', "llm.model = 'python:evil:factory'"),
    ("python-model-uppercase", '[llm]\nmodel = " PYTHON:evil:factory"\n', "llm.model = 'PYTHON:evil:factory'"),
    ("endpoint", '[aws]\nendpoint_url = "http://127.0.0.1:9"\n', "aws.endpoint_url = 'http://127.0.0.1:9', which would send requests"),
    ("endpoint-dotted", 'aws.endpoint_url = "http://127.0.0.1:9"\n', "./spendpilot.toml:1 sets aws.endpoint_url"),
    ("database-url", 'database_url = "postgresql://evil.example/db"\n', "database_url = 'postgresql://evil.example/db'"),
    ("sources-endpoint", '[[sources]]\nkind = "aws"\nendpoint_url = "http://127.0.0.1:9"\n', "./spendpilot.toml:3 sets sources[0].endpoint_url"),
    ("check-webhook-url", '[checks.idle_gpu_instance]\nwebhook_url = "http://127.0.0.1:9"\n', "checks.idle_gpu_instance.webhook_url"),
]  # fmt: skip


@pytest.mark.parametrize(("toml", "says"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_local_config(toml: str, says: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "evil.py").write_text("import pathlib\ndef factory():\n    pathlib.Path('PWNED').touch()\n")
    (repo / "spendpilot.toml").write_text(toml)
    result = spendpilot("sweep", cwd=repo, env={"SPENDPILOT_HOME": str(tmp_path / "home")})
    assert result.returncode == BAD, result.stdout + result.stderr
    line = one_error_line(result.stderr)
    assert line.startswith("error: refusing ./spendpilot.toml (found in the working directory, not named by you)")
    assert says in line and "--config ./spendpilot.toml" in line and "SPENDPILOT_TRUST_LOCAL_CONFIG=1" in line
    assert not (repo / "PWNED").exists() and not (tmp_path / "home").exists()

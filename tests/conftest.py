"""Suite-wide guarantees: no network beyond loopback, no real AWS credentials, offline models.

The AWS emulator is moto in server mode on 127.0.0.1; boto3 reaches it over HTTP exactly as it
reaches AWS. Nothing in spendpilot is patched.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.chaos.forkserver import FORK_TIMEOUT, ForkServer

from spendpilot.scenarios.emulator import AMIS_PATH, EMULATOR_ENV, LocalAwsEmulator

pytest_plugins = ["tests.demo_fixtures"]  # demo_org and swept_org, for every test folder

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
"""Everything the default suite reads lives here, each folder with a PROVENANCE.md."""
FOCUS_SAMPLE = DATA / "focus-sample" / "focus_1.0_sample_1000.csv"

# Before anything imports boto3 or chromadb: offline, and never a real AWS profile. The config
# file is /dev/null (no settings): a spendpilot.toml in the working directory is never read.
os.environ.update(EMULATOR_ENV)
os.environ.update({"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "SPENDPILOT_CONFIG": os.devnull})
# moto's own small AMI list instead of its 1,301-image default (scenarios/emulator_data/PROVENANCE.md);
# read when moto first loads EC2, in this process (the emulator) and in any `spendpilot demo` subprocess.
os.environ["MOTO_AMIS_PATH"] = str(AMIS_PATH)
for _var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "SPENDPILOT_LLM__MODEL", "SPENDPILOT_FAILPOINTS"):
    os.environ.pop(_var, None)
_SUITE_ENV = dict(os.environ)
"""The environment as the suite set it, before any test changed it: what the CLI zygote imports under."""


def _loopback(host: Any) -> bool:
    if not isinstance(host, str):
        return False
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    """Any connection to a non-loopback address from this process fails the test loudly."""
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            raise AssertionError(f"test tried to reach {address!r}; only 127.0.0.1 is allowed")
        return real_connect(sock, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def emulator() -> Iterator[LocalAwsEmulator]:
    emu = LocalAwsEmulator()
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def aws_endpoint(emulator: LocalAwsEmulator) -> str:
    """A clean emulator for this test."""
    emulator.reset()
    assert emulator.endpoint_url
    return emulator.endpoint_url


_FRESH_INTERPRETER_VARS = ("PYTHONPATH", "PYTHONHASHSEED", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONWARNINGS")
"""Settings a Python reads only when it starts: a command given one of them needs a new interpreter."""


@functools.cache
def _fork_server() -> ForkServer:
    """This process's zygote (one per xdist worker), started on first use and closed at exit."""
    import atexit
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix="spendpilot-cli-"))
    server = ForkServer(workdir, REPO, env=_SUITE_ENV)
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    atexit.register(server.close)
    return server


def _added_python_path(value: str | None) -> list[str] | None:
    """The folders ``value`` (a PYTHONPATH) adds in front of the suite's own; None when it is not
    the suite's PYTHONPATH with folders added in front (then only a new interpreter is faithful)."""
    suite = [p for p in (_SUITE_ENV.get("PYTHONPATH") or "").split(os.pathsep) if p]
    given = [p for p in (value or "").split(os.pathsep) if p]
    if given[len(given) - len(suite):] != suite or len(given) < len(suite):
        return None
    return given[: len(given) - len(suite)]


def spendpilot_process(
    args: Sequence[str], env: dict[str, str], *, cwd: Path | None = None, timeout: float = 180,
    fresh_interpreter: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``spendpilot`` command in a new process with exactly ``env``, in ``cwd``.

    The process is forked from a zygote that has imported spendpilot's dependencies once
    (``tests/chaos/forkserver.py``): a separate process with its own environment, working folder,
    stdin from /dev/null and exit code, running ``spendpilot.cli.main()`` as
    ``python -m spendpilot.cli`` does, without paying ~1.5 s of imports per command.
    ``fresh_interpreter`` (or a start-up variable such as ``PYTHONHASHSEED`` in ``env`` that
    differs from the suite's) starts a new ``python -m spendpilot.cli`` instead. A ``PYTHONPATH``
    that only adds folders in front of the suite's (a plug-in's site folder) does not: the child
    puts them on ``sys.path`` where the interpreter would have, before anything of theirs is
    imported (the zygote preloads spendpilot and its dependencies, none of a plug-in's).
    """
    startup_changed = any(
        env.get(var) != _SUITE_ENV.get(var) for var in _FRESH_INTERPRETER_VARS if var != "PYTHONPATH"
    )
    python_path = _added_python_path(env.get("PYTHONPATH"))
    if fresh_interpreter or startup_changed or python_path is None:
        return subprocess.run(
            [sys.executable, "-m", "spendpilot.cli", *args],
            cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout,
        )
    server = _fork_server()
    child = server.spawn(*args, env=env, cwd=cwd or Path.cwd(), inherit_env=False, python_path=python_path)
    result = server.wait(child, timeout=timeout)
    if result.returncode == FORK_TIMEOUT:
        raise subprocess.TimeoutExpired(["spendpilot", *args], timeout, result.stdout, result.stderr)
    return subprocess.CompletedProcess(["spendpilot", *args], result.returncode, result.stdout, result.stderr)


def run_cli(
    *args: str, env: dict[str, str] | None = None, check: bool = False, fresh_interpreter: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the real ``spendpilot`` command in a fresh process (as a user would); see ``spendpilot_process``."""
    proc = spendpilot_process(args, {**os.environ, **(env or {})}, fresh_interpreter=fresh_interpreter)
    if check and proc.returncode != 0:
        raise AssertionError(f"spendpilot {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc

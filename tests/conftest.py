"""Suite-wide guarantees: no network beyond loopback, no real AWS credentials, offline models.

The AWS emulator is moto in server mode on 127.0.0.1; boto3 reaches it over HTTP exactly as it
reaches AWS. Nothing in spendpilot is patched.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


def run_cli(*args: str, env: dict[str, str] | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the real ``spendpilot`` command in a fresh process (as a user would)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "spendpilot.cli", *args],
        capture_output=True, text=True, env=full_env, timeout=180,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"spendpilot {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc

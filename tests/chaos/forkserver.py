"""Run the real ``spendpilot`` command in a fresh process for a fraction of a second.

A new interpreter spends ~3 s importing spendpilot's dependencies (boto3, LangGraph, pyarrow,
duckdb, chromadb) before a command does anything; the chaos suite runs the command about a
thousand times. So one *zygote* process imports them once and forks a child per command. The
child is a real, separate process: it gets its own environment, working folder, stdin from
/dev/null and stdout/stderr in files, then runs ``spendpilot.cli.main()`` exactly as
``python -m spendpilot.cli`` does. A failpoint's ``os._exit`` or a SIGKILL ends only that child.
An exception escaping ``main`` is printed as Python prints it (a ``Traceback``), so the
invariants see what a user would.

Protocol (JSON lines on the zygote's stdin/stdout): ``{"op": "spawn", ...}`` -> ``{"pid": N}``;
``{"op": "wait", "pid": N, "timeout": s}`` -> ``{"rc": code}`` (negative: killed by that signal,
as ``subprocess`` reports it; the zygote kills a child that outlives its timeout).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRELOAD = (
    "spendpilot.cli", "spendpilot.runtime", "spendpilot.execution", "spendpilot.agent.remediation",
    "spendpilot.agent.sweep", "spendpilot.lake", "spendpilot.doctor", "spendpilot.memory.decisions",
    "spendpilot.output", "spendpilot.actions.stop_instance", "spendpilot.actions.switch_to_spot",
    "spendpilot.actions.route_to_model", "spendpilot.adapters.aws.client", "boto3", "botocore.session",
    "langgraph.checkpoint.sqlite", "duckdb", "pyarrow.parquet", "pyarrow.csv", "pyarrow.compute",
    # `spendpilot eval` and `demo` start the AWS emulator in the command: moto's server and the
    # EC2 backend it imports on the first EC2 call (~1.5 s), with MOTO_AMIS_PATH as the suite set it
    "spendpilot.scenarios.runner", "spendpilot.scenarios.emulator", "spendpilot.demo", "moto.server",
    "moto.ec2.models", "moto.ec2.responses", "moto.cloudwatch.responses", "moto.autoscaling.responses",
    "moto.ssm.responses", "moto.sagemaker.responses", "moto.s3.responses", "moto.sts.responses",
)
BUILT_IN_PLUGINS = ("spendpilot.checks", "spendpilot.savings", "spendpilot.actions", "spendpilot.adapters")
"""Packages whose modules the registries import on first use (``Registry.discover``); the zygote
imports them without discovering, so each command still loads the entry points it can see."""


def _preload_built_in_plugins() -> None:
    import pkgutil

    for package_name in BUILT_IN_PLUGINS:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            importlib.import_module(info.name)
    # The official Kubernetes client imports an API class and its models on first attribute
    # access (~1-3 s for these), which every command reading a cluster pays otherwise.
    from kubernetes import client

    for api in ("AppsV1Api", "AutoscalingV2Api", "BatchV1Api", "CoreV1Api", "CustomObjectsApi", "PolicyV1Api", "VersionApi"):
        getattr(client, api)


def _child(req: dict[str, Any]) -> None:
    """In the forked child: become the command, never return."""
    code: int = 1
    try:
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        for fd, path in ((1, req["stdout"]), (2, req["stderr"])):
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, fd)
            os.close(out)
        os.environ.clear()
        os.environ.update(req["env"])
        os.chdir(req["cwd"])
        # PYTHONPATH's extra folders, where a new interpreter puts them: after the script's own
        # (sys.path[0]), before the standard library and site-packages.
        sys.path[1:1] = req.get("python_path", [])
        if req.get("fsize") is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_FSIZE, (req["fsize"], req["fsize"]))
        import uuid

        from spendpilot.execution import lease

        lease._TOKEN = uuid.uuid4().hex[:8]  # a fresh process has its own token
        sys.argv = ["spendpilot", *req["argv"]]
        from spendpilot.cli import main

        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if isinstance(exc.code, str):
                sys.stderr.write(exc.code + "\n")
        except BaseException:
            traceback.print_exc()
            code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed or full stream; the exit code still counts
                stream.flush()
        os._exit(code)


FORK_TIMEOUT = 999
"""What ``wait`` reports for a command that outlived its timeout: not a code the command can return."""


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            return FORK_TIMEOUT
        time.sleep(0.01)


def serve() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    _preload_built_in_plugins()
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints go to stderr, never into the protocol
    while line := sys.stdin.readline():
        req = json.loads(line)
        if req["op"] == "spawn":
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(req)
            replies.write(json.dumps({"pid": pid}) + "\n")
        elif req["op"] == "wait":
            replies.write(json.dumps({"rc": _wait(req["pid"], req["timeout"])}) + "\n")


@dataclass
class Result:
    """What a command did: exit code (negative: killed by that signal), its output."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"spendpilot {' '.join(self.argv)} -> {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


@dataclass
class Child:
    pid: int
    argv: list[str]
    stdout: Path
    stderr: Path


class ForkServer:
    """The test side: start commands in the zygote, wait for them, read what they printed."""

    def __init__(self, workdir: Path, repo: Path, env: dict[str, str] | None = None) -> None:
        """``env``: the zygote's own environment (what imports see), this process's by default."""
        self.workdir = workdir
        self.repo = repo
        self._lock = threading.Lock()
        self._n = 0
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from tests.chaos.forkserver import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=repo,
            env=dict(os.environ if env is None else env),
        )

    def _ask(self, req: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.write(json.dumps(req) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the fork server died")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def spawn(
        self, *argv: str, env: dict[str, str], fsize: int | None = None, cwd: Path | None = None,
        inherit_env: bool = True, python_path: Sequence[str] = (),
    ) -> Child:
        """Start a command; its environment is this process's plus ``env``, or exactly ``env``
        when not ``inherit_env``. ``python_path``: folders the command finds modules and
        distributions in before the zygote's own, as a ``PYTHONPATH`` would add them."""
        with self._lock:
            self._n += 1
            n = self._n
        out, err = self.workdir / f"{n}.out", self.workdir / f"{n}.err"
        reply = self._ask({
            "op": "spawn", "argv": list(argv), "env": {**os.environ, **env} if inherit_env else dict(env), "stdout": str(out),
            "stderr": str(err), "cwd": str(cwd or self.workdir), "fsize": fsize, "python_path": list(python_path),
        })
        return Child(reply["pid"], list(argv), out, err)

    def wait(self, child: Child, timeout: float = 120) -> Result:
        rc = self._ask({"op": "wait", "pid": child.pid, "timeout": timeout})["rc"]
        result = Result(child.argv, rc, child.stdout.read_text(errors="replace"), child.stderr.read_text(errors="replace"))
        child.stdout.unlink(missing_ok=True)
        child.stderr.unlink(missing_ok=True)
        return result

    def run(self, *argv: str, env: dict[str, str], timeout: float = 120, fsize: int | None = None) -> Result:
        return self.wait(self.spawn(*argv, env=env, fsize=fsize), timeout=timeout)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


if __name__ == "__main__":
    serve()

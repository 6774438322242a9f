"""The scheduler: one sweep at a time across processes, and a job that survives restarts."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from spendpilot.config import ScheduleSettings, Settings
from spendpilot.errors import ConfigError, SweepInProgress
from spendpilot.scheduler import (
    MISFIRE_GRACE_SECONDS,
    SWEEP_JOB_ID,
    build_scheduler,
    run_daemon,
    run_scheduled_sweep,
    sweep_lock,
)

YEARLY = "30 4 1 1 *"  # never fires during a test run
RAN_FILE = "test-sweeps.jsonl"


def record_sweep(config_file: str | None = None, home: str | None = None) -> None:
    """Stand-in sweep: proves the job ran, through the lock, with picklable string arguments."""
    assert home is not None
    with sweep_lock(Path(home) / "sweep.lock"), (Path(home) / RAN_FILE).open("a") as out:
        out.write(json.dumps({"config_file": config_file, "home": home}) + "\n")


RECORD_SWEEP = f"{__name__}:record_sweep"


def runs(home: Path) -> list[dict[str, str | None]]:
    path = home / RAN_FILE
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SPENDPILOT_CONFIG", os.devnull)  # no config file
    return Settings(home=tmp_path / "home", schedule=ScheduleSettings(sweep_cron=YEARLY))


@pytest.fixture
def lock_holder(settings: Settings) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the sweep lock until it is killed."""
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from spendpilot.scheduler import sweep_lock
        with sweep_lock(Path(sys.argv[1])):
            print("locked", flush=True)
            time.sleep(120)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(settings.sweep_lock_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_lock_refuses_a_second_holder_and_frees_when_the_holder_dies(
    settings: Settings, lock_holder: subprocess.Popen[str]
) -> None:
    expected = rf"pid {lock_holder.pid} on .*started 20\d\d-"
    with pytest.raises(SweepInProgress, match=expected), sweep_lock(settings.sweep_lock_path):
        pytest.fail("entered a lock another process holds")

    lock_holder.send_signal(signal.SIGKILL)
    lock_holder.wait(timeout=10)
    with sweep_lock(settings.sweep_lock_path):
        holder = json.loads(settings.sweep_lock_path.read_text())
        assert holder["pid"] == os.getpid()


def test_lock_is_reentrant_for_its_thread_only(settings: Settings) -> None:
    refused: list[BaseException] = []

    def other_thread() -> None:
        try:
            with sweep_lock(settings.sweep_lock_path):
                pass
        except SweepInProgress as exc:
            refused.append(exc)

    with sweep_lock(settings.sweep_lock_path):
        with sweep_lock(settings.sweep_lock_path):
            pass
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert len(refused) == 1
    with sweep_lock(settings.sweep_lock_path):
        pass


def test_scheduled_sweep_skips_while_another_process_sweeps(
    settings: Settings, lock_holder: subprocess.Popen[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="spendpilot.scheduler")
    run_scheduled_sweep(config_file=None, home=str(settings.home))
    assert f"pid {lock_holder.pid}" in caplog.text
    assert "scheduled sweep skipped" in caplog.text


def test_job_survives_a_scheduler_restart(settings: Settings) -> None:
    first = build_scheduler(settings, blocking=False, job_func=RECORD_SWEEP)
    first.start(paused=True)
    first.shutdown()

    # Rebuilt from the sqlite file alone: nothing re-adds the job.
    second = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=settings.jobstore_url)}, timezone=UTC
    )
    second.start(paused=True)
    try:
        jobs = second.get_jobs()
        assert [j.id for j in jobs] == [SWEEP_JOB_ID]
        job = jobs[0]
        fields = {f.name: str(f) for f in job.trigger.fields}
        assert (fields["minute"], fields["hour"], fields["day"], fields["month"]) == (
            "30",
            "4",
            "1",
            "1",
        )
        assert str(job.trigger.timezone) == "UTC"
        assert job.func_ref == RECORD_SWEEP
        assert job.kwargs == {"config_file": None, "home": str(settings.home.resolve())}
        assert (job.max_instances, job.coalesce) == (1, True)
        assert job.misfire_grace_time == MISFIRE_GRACE_SECONDS
        assert job.next_run_time.replace(tzinfo=None) >= datetime(2027, 1, 1, 4, 30)
    finally:
        second.shutdown()


def test_rebuilding_with_a_new_cron_replaces_the_job(settings: Settings) -> None:
    for cron in (YEARLY, "15 2 * * *"):
        updated = settings.model_copy(update={"schedule": ScheduleSettings(sweep_cron=cron)})
        scheduler = build_scheduler(updated, blocking=False, job_func=RECORD_SWEEP)
        scheduler.start(paused=True)
        scheduler.shutdown()
    scheduler = build_scheduler(updated, blocking=True, job_func=RECORD_SWEEP)
    assert isinstance(scheduler, BlockingScheduler)
    check = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=settings.jobstore_url)}, timezone=UTC
    )
    check.start(paused=True)
    try:
        (job,) = check.get_jobs()
        fields = {f.name: str(f) for f in job.trigger.fields}
        assert (fields["minute"], fields["hour"], fields["day"]) == ("15", "2", "*")
    finally:
        check.shutdown()


def test_stored_job_runs_the_configured_function(settings: Settings) -> None:
    scheduler = build_scheduler(settings, blocking=False, job_func=RECORD_SWEEP)
    scheduler.start()
    try:
        scheduler.modify_job(SWEEP_JOB_ID, next_run_time=datetime.now(UTC))
        deadline = time.monotonic() + 10
        while not runs(settings.home) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert runs(settings.home) == [{"config_file": None, "home": str(settings.home.resolve())}]


def test_bad_cron_is_a_config_error(settings: Settings) -> None:
    bad = settings.model_copy(update={"schedule": ScheduleSettings(sweep_cron="every hour")})
    with pytest.raises(ConfigError, match="5-field cron"):
        build_scheduler(bad)


def test_daemon_once_runs_one_sweep_and_returns(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "spendpilot.toml"
    config.write_text('[schedule]\nsweep_cron = "0 * * * *"\n')
    monkeypatch.setenv("SPENDPILOT_CONFIG", str(config))
    run_daemon(settings, once=True, job_func=RECORD_SWEEP)
    assert runs(settings.home) == [
        {"config_file": str(config.resolve()), "home": str(settings.home.resolve())}
    ]


def test_daemon_stops_on_sigterm(settings: Settings) -> None:
    script = textwrap.dedent(
        f"""
        import logging
        from pathlib import Path
        from spendpilot.config import ScheduleSettings, Settings
        from spendpilot.scheduler import run_daemon
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        run_daemon(Settings(home=Path({str(settings.home)!r}),
                            schedule=ScheduleSettings(sweep_cron={YEARLY!r})))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert proc.stderr is not None
    started = ""
    for line in proc.stderr:
        if "daemon started" in line:
            started = line
            break
    assert "next sweep at 2" in started and "04:30:00+00:00" in started
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert "daemon stopped" in proc.stderr.read()

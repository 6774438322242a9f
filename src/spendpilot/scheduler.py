"""Sweeps on a cron, in a daemon that survives restarts and never runs two sweeps at once.

Two independent guards keep sweeps single-file:

- inside one scheduler, the job has ``max_instances=1`` and ``coalesce=True``: a slow sweep
  delays the next one instead of stacking copies, and a backlog of missed runs becomes one run;
- across processes (the daemon, ``spendpilot sweep`` in a terminal, the TUI), every sweep
  path takes :func:`sweep_lock`, an ``flock`` on ``<home>/sweep.lock``. The kernel drops the
  lock when its holder dies, so a crashed sweep never leaves a stale lock behind.

The schedule lives in a SQLAlchemy job store (``<home>/jobs.sqlite``), so ``spendpilot daemon``
can be restarted without losing its job. Stored jobs are pickled; that is why the job refers to
its function by a ``"module:function"`` string and receives only strings (the config file path
and home directory), from which the worker rebuilds its settings.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from contextlib import ExitStack
from datetime import UTC
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.util import ref_to_obj

from spendpilot.config import DEFAULT_CONFIG_FILE, Settings, load_settings
from spendpilot.errors import ConfigError, SweepInProgress
from spendpilot.locks import sweep_lock

logger = logging.getLogger(__name__)

SWEEP_JOB_ID = "sweep"
DEFAULT_JOB_FUNC = "spendpilot.scheduler:run_scheduled_sweep"
MISFIRE_GRACE_SECONDS = 15 * 60
"""A run delayed (busy host, suspended laptop) by up to 15 minutes still happens; later than
that it is skipped, and the next cron slot sweeps fresh data anyway."""

def _config_file_reference() -> str | None:
    """The TOML file these settings came from, as an absolute path, if there is one."""
    candidate = Path(os.environ.get("SPENDPILOT_CONFIG", DEFAULT_CONFIG_FILE))
    return str(candidate.resolve()) if candidate.is_file() else None


def sweep_job_kwargs(settings: Settings) -> dict[str, str | None]:
    """What the stored job needs to rebuild ``settings`` in the worker: strings only.

    ``home`` is passed explicitly because it decides where every store and the lock live; the
    rest comes from the config file and ``SPENDPILOT_*`` variables, as in any other process.
    """
    return {"config_file": _config_file_reference(), "home": str(settings.home.resolve())}


def build_scheduler(
    settings: Settings,
    *,
    blocking: bool = True,
    job_func: str = DEFAULT_JOB_FUNC,
) -> BaseScheduler:
    """A scheduler (not started) whose persistent store holds the ``sweep`` cron job.

    ``job_func`` is a ``"module:function"`` reference accepting ``config_file`` and ``home``
    keyword arguments; tests pass their own. Building again with a changed cron replaces the
    stored job (``replace_existing``), so the config file stays the source of truth.
    """
    try:
        trigger = CronTrigger.from_crontab(settings.schedule.sweep_cron, timezone=UTC)
    except ValueError as exc:
        raise ConfigError(
            f"schedule.sweep_cron {settings.schedule.sweep_cron!r} is not a 5-field cron "
            f"expression: {exc}"
        ) from exc
    settings.ensure_home()
    scheduler_cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_cls(
        jobstores={"default": SQLAlchemyJobStore(url=settings.jobstore_url)},
        timezone=UTC,
    )
    scheduler.add_job(
        job_func,
        trigger=trigger,
        id=SWEEP_JOB_ID,
        name="scheduled sweep",
        kwargs=sweep_job_kwargs(settings),
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    return scheduler


def run_scheduled_sweep(config_file: str | None = None, home: str | None = None) -> None:
    """The scheduled job: rebuild settings, take the sweep lock, sweep; skip if one is running.

    A skipped run is logged, not raised: the next cron slot will try again, and raising would
    only turn a normal overlap into an error event.
    """
    overrides: dict[str, Any] = {"home": Path(home)} if home else {}
    settings = load_settings(Path(config_file) if config_file else None, **overrides)
    with ExitStack() as stack:
        try:
            stack.enter_context(sweep_lock(settings.sweep_lock_path))
        except SweepInProgress as exc:
            logger.warning("scheduled sweep skipped: %s", exc)
            return
        from spendpilot.runtime import build_services  # the runtime wires every store

        report = build_services(settings).sweep()
    logger.info(
        "scheduled sweep %s finished: %d findings, %d new, %d unchanged, %d suppressed",
        report.sweep_id,
        report.findings,
        len(report.new_proposals),
        len(report.unchanged_proposals),
        len(report.suppressed),
    )


def _log_job_event(event: JobEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        logger.warning("sweep missed its slot by more than %ds; skipped", MISFIRE_GRACE_SECONDS)
    elif event.code == EVENT_JOB_MAX_INSTANCES:
        logger.warning("previous scheduled sweep still running; this run skipped")
    elif isinstance(event, JobExecutionEvent) and event.exception is not None:
        logger.error("scheduled sweep failed", exc_info=event.exception)


def run_daemon(
    settings: Settings,
    *,
    once: bool = False,
    job_func: str = DEFAULT_JOB_FUNC,
    stop: threading.Event | None = None,
) -> None:
    """Run scheduled sweeps until SIGINT/SIGTERM (or ``stop`` is set); ``once`` sweeps now.

    ``once=True`` calls the job function directly with the same arguments the cron job gets,
    so it goes through the same lock, and returns. Otherwise the scheduler runs in a background
    thread while this thread waits: a signal then only sets an event, and the shutdown (which
    lets a running sweep finish) happens here rather than inside a signal handler, where it
    could interrupt the scheduler mid-update. A second signal stops immediately.
    """
    if once:
        ref_to_obj(job_func)(**sweep_job_kwargs(settings))
        return

    stop = stop or threading.Event()
    scheduler = build_scheduler(settings, blocking=False, job_func=job_func)
    scheduler.add_listener(
        _log_job_event,
        EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES,
    )
    previous: dict[int, Any] = {}

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("%s received; stopping after any running sweep", signal.Signals(signum).name)
        for signum_before, handler in previous.items():
            signal.signal(signum_before, handler)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, request_stop)
    try:
        scheduler.start()
        job = scheduler.get_job(SWEEP_JOB_ID)
        logger.info(
            "daemon started: cron %r (UTC), next sweep at %s",
            settings.schedule.sweep_cron,
            job.next_run_time.isoformat() if job and job.next_run_time else "never",
        )
        stop.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if scheduler.running:
            scheduler.shutdown(wait=True)
        logger.info("daemon stopped")

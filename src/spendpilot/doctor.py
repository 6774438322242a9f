"""``spendpilot doctor``: is this home's data trustworthy and is anything left half-done?

Each check reads one store and says ok, warn, fail or skipped, in one line plus details:

- ``state_db``: the state database opens, passes SQLite's quick check, and has every table and
  column this version uses (a database from an older version lacks some);
- ``audit_chain``: the hash chain and its head anchor are intact (else: the first bad event);
- ``decisions``: every recorded decision has its audit event, every execution an approval;
- ``pending_executions``: ledger rows left at started/applied, with owner and lease: what
  ``spendpilot resume`` would pick up (fail when the holder has stopped, warn while it lives);
- ``approved_not_executed``: proposals approved but not executed (``spendpilot resume``);
- ``lake_staging``: folders a killed ingest left in the lake's staging area;
- ``lake``: the lake answers a count and an aggregate.

Nothing here repairs anything: it reports, so a human decides. The one exception is inherited:
reading the lake finishes an ingest commit a crash interrupted, as every lake reader does
(the staging check runs first, so the report still shows that it was there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, computed_field
from rich.table import Table
from rich.text import Text
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from spendpilot.config import Settings
from spendpilot.domain import ExecutionStatus, ProposalStatus, utcnow
from spendpilot.execution.lease import is_stale
from spendpilot.lake._storage import JOURNAL, STAGING_DIR
from spendpilot.state.schema import executions, metadata, proposals
from spendpilot.state.store import StateStore

STAGING_STALE_AFTER = timedelta(hours=1)
"""A staging folder nothing has written to for this long belongs to an ingest that died: a
running ingest writes its staged Parquet files continuously until it commits."""


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


class CheckResult(BaseModel):
    name: str
    status: CheckStatus
    summary: str
    details: list[str] = Field(default_factory=list)


class DoctorReport(BaseModel):
    home: str
    checks: list[CheckResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.status is CheckStatus.FAIL]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def healthy(self) -> bool:
        return not self.failed


# --- lake staging (the lead may swap this for ``lake.health()``) --------------------------------


@dataclass(frozen=True)
class StagingFolder:
    """One ingest run's private folder under ``<lake>/.staging/``."""

    path: Path
    has_journal: bool
    """A commit journal: the commit was interrupted and the next lake reader finishes it."""
    last_write: datetime
    size_bytes: int

    def state(self, now: datetime, stale_after: timedelta) -> str:
        if self.has_journal:
            return "interrupted commit"
        return "orphaned" if now - self.last_write > stale_after else "in use"


def lake_staging_folders(lake_dir: Path) -> list[StagingFolder]:
    """Every run folder in the lake's staging area, with its newest write and size."""
    root = lake_dir / STAGING_DIR
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        newest, size = folder.stat().st_mtime, 0
        for f in folder.rglob("*"):
            try:
                st = f.stat()
            except OSError:  # removed while we looked: an ingest is finishing
                continue
            newest = max(newest, st.st_mtime)
            size += st.st_size if f.is_file() else 0
        found.append(StagingFolder(
            path=folder, has_journal=(folder / JOURNAL).exists(),
            last_write=datetime.fromtimestamp(newest, UTC), size_bytes=size,
        ))
    return found


# --- checks --------------------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".strip()


def _check_state_db(url: str) -> tuple[CheckResult, StateStore | None]:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            return CheckResult(
                name="state_db", status=CheckStatus.OK,
                summary=f"no state database yet at {path} (nothing has run in this home)",
            ), None
    try:
        engine = create_engine(url, future=True)
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                verdict = conn.execute(text("PRAGMA quick_check")).scalar()
                if verdict != "ok":
                    return CheckResult(
                        name="state_db", status=CheckStatus.FAIL,
                        summary=f"{url}: SQLite's quick check failed: {verdict}",
                    ), None
            found = inspect(conn)
            tables = set(found.get_table_names())
            missing = []
            for table in metadata.sorted_tables:
                if table.name not in tables:
                    missing.append(f"table {table.name} is missing")
                    continue
                have = {c["name"] for c in found.get_columns(table.name)}
                lacking = [c.name for c in table.columns if c.name not in have]
                if lacking:
                    missing.append(f"table {table.name} lacks columns {', '.join(lacking)}")
        engine.dispose()
    except SQLAlchemyError as exc:
        return CheckResult(
            name="state_db", status=CheckStatus.FAIL, summary=f"{url} cannot be opened ({_first_line(exc)})"
        ), None
    if missing:
        return CheckResult(
            name="state_db", status=CheckStatus.FAIL,
            summary="schema is not current (written by an older spendpilot?): " + "; ".join(missing),
            details=missing,
        ), None
    return CheckResult(
        name="state_db", status=CheckStatus.OK, summary=f"opens; schema current ({len(metadata.tables)} tables)"
    ), StateStore(url, create=False)


def _check_audit_chain(store: StateStore) -> CheckResult:
    report = store.check_audit_chain()
    status = CheckStatus.OK if report.intact else CheckStatus.FAIL
    return CheckResult(name="audit_chain", status=status, summary=report.describe())


def _check_decisions(store: StateStore) -> CheckResult:
    total, problems = store.check_decisions()
    if problems:
        return CheckResult(
            name="decisions", status=CheckStatus.FAIL,
            summary=f"{len(problems)} of {total} decisions or executions not backed by the audit log", details=problems,
        )
    return CheckResult(name="decisions", status=CheckStatus.OK, summary=f"{total} recorded, each audited")


def _check_pending_executions(store: StateStore, now: datetime) -> CheckResult:
    unfinished = (ExecutionStatus.STARTED.value, ExecutionStatus.APPLIED.value)
    q = (
        select(executions.c.idempotency_key, executions.c.proposal_id, executions.c.status,
               executions.c.owner, executions.c.lease_until, proposals.c.status.label("proposal_status"))
        .select_from(executions.outerjoin(proposals, proposals.c.id == executions.c.proposal_id))
        .where(executions.c.status.in_(unfinished))
        .order_by(executions.c.started_at)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    if not rows:
        return CheckResult(name="pending_executions", status=CheckStatus.OK, summary="none")
    details, stopped = [], 0
    for r in rows:
        lease: datetime | None = r["lease_until"]
        if lease is not None and lease.tzinfo is None:
            lease = lease.replace(tzinfo=UTC)
        dead = is_stale(r["owner"], lease, now)
        stopped += dead
        until = f"lease until {lease:%Y-%m-%d %H:%M:%S} UTC" if lease else "no lease"
        details.append(
            f"{r['proposal_id']} ({r['proposal_status'] or 'no proposal row'}): ledger {r['status']}, "
            f"owner {r['owner'] or '-'}, {until}, {'holder stopped' if dead else 'held by a live process'}"
        )
    if stopped:
        return CheckResult(
            name="pending_executions", status=CheckStatus.FAIL,
            summary=f"{stopped} of {len(rows)} unfinished executions have no live holder: `spendpilot resume` finishes them",
            details=details,
        )
    return CheckResult(
        name="pending_executions", status=CheckStatus.WARN,
        summary=f"{len(rows)} executions in progress, each held by a live process", details=details,
    )


def _check_approved(store: StateStore) -> CheckResult:
    approved = store.list_proposals([ProposalStatus.APPROVED])
    if not approved:
        return CheckResult(name="approved_not_executed", status=CheckStatus.OK, summary="none")
    return CheckResult(
        name="approved_not_executed", status=CheckStatus.FAIL,
        summary=f"{len(approved)} approved but not executed: `spendpilot resume` finishes (or refuses) them",
        details=[f"{p.id}: {p.action} {p.target.label()} (updated {p.updated_at:%Y-%m-%d %H:%M} UTC)" for p in approved],
    )


def _check_lake_staging(
    lake_dir: Path, now: datetime, stale_after: timedelta,
    find: Callable[[Path], list[StagingFolder]] = lake_staging_folders,
) -> CheckResult:
    folders = find(lake_dir)
    if not folders:
        return CheckResult(name="lake_staging", status=CheckStatus.OK, summary="no staging folders")
    details = [
        f"{f.path}: {f.state(now, stale_after)}, {f.size_bytes:,} bytes, last written "
        f"{f.last_write:%Y-%m-%d %H:%M:%S} UTC" for f in folders
    ]
    orphaned = [f for f in folders if f.state(now, stale_after) == "orphaned"]
    if orphaned:
        return CheckResult(
            name="lake_staging", status=CheckStatus.FAIL,
            summary=f"{len(orphaned)} orphaned staging folders (a killed ingest; nothing in them is visible to "
            f"queries): remove them, e.g. rm -r {orphaned[0].path}",
            details=details,
        )
    return CheckResult(
        name="lake_staging", status=CheckStatus.WARN,
        summary=f"{len(folders)} staging folders in use or awaiting an interrupted commit's completion",
        details=details,
    )


def _check_lake(lake_dir: Path) -> CheckResult:
    if not lake_dir.exists():
        return CheckResult(name="lake", status=CheckStatus.OK, summary="empty (nothing ingested yet)")
    from spendpilot.lake import (  # DuckDB: imported only when there is a lake to read
        CostLake,
        health,
    )

    report = health(lake_dir)
    if report.errors:
        return CheckResult(
            name="lake", status=CheckStatus.FAIL, summary=f"{lake_dir} cannot be read ({report.errors[0]})",
            details=report.errors + report.warnings,
        )
    try:
        lake = CostLake(lake_dir)
        rows = lake.row_count()
        daily = lake.daily_spend(days=30)
    except Exception as exc:  # any failure to read is the finding itself
        return CheckResult(name="lake", status=CheckStatus.FAIL, summary=f"{lake_dir} cannot be read ({_first_line(exc)})")
    total = sum((d.cost for d in daily), start=0)
    currency = daily[0].currency if daily else "USD"
    return CheckResult(
        name="lake", status=CheckStatus.WARN if report.warnings else CheckStatus.OK,
        summary=f"{rows:,} billing rows, {report.llm_usage_rows:,} LLM usage rows, "
        f"{report.llm_request_rows:,} LLM requests from spans, {report.quarantined:,} quarantined; "
        f"{total:,.2f} {currency} over the last {len(daily)} days with charges",
        details=report.warnings,
    )


def run_doctor(
    settings: Settings, *, now: datetime | None = None, staging_stale_after: timedelta = STAGING_STALE_AFTER
) -> DoctorReport:
    """Every check, in an order where a broken store skips the checks that need it."""
    now = now or utcnow()
    checks: list[CheckResult] = []
    db_check, store = _check_state_db(settings.state_db_url)
    checks.append(db_check)
    state_checks: list[tuple[str, Callable[[StateStore], CheckResult]]] = [
        ("audit_chain", _check_audit_chain),
        ("decisions", _check_decisions),
        ("pending_executions", lambda s: _check_pending_executions(s, now)),
        ("approved_not_executed", _check_approved),
    ]
    for name, check in state_checks:
        if store is None:
            reason = "no state database yet" if db_check.status is CheckStatus.OK else "the state database is unusable"
            checks.append(CheckResult(name=name, status=CheckStatus.SKIPPED, summary=reason))
            continue
        try:
            checks.append(check(store))
        except (SQLAlchemyError, ValueError) as exc:
            checks.append(CheckResult(name=name, status=CheckStatus.FAIL, summary=f"cannot be read ({_first_line(exc)})"))
    if store is not None:
        store.engine.dispose()
    checks.append(_check_lake_staging(settings.lake_dir, now, staging_stale_after))
    checks.append(_check_lake(settings.lake_dir))
    return DoctorReport(home=str(settings.home), checks=checks)


# --- output --------------------------------------------------------------------------------------

_STYLE = {CheckStatus.OK: "green", CheckStatus.WARN: "yellow", CheckStatus.FAIL: "red", CheckStatus.SKIPPED: "dim"}


def doctor_table(report: DoctorReport) -> Table:
    table = Table(title=f"spendpilot doctor: {report.home}", title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("finding")
    for c in report.checks:
        finding = Text(c.summary)
        for line in c.details:
            finding.append(f"\n  {line}", style="dim")
        table.add_row(c.name, Text(c.status.value, style=_STYLE[c.status]), finding)
    return table

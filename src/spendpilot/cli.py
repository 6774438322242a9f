"""The ``spendpilot`` command.

Exit codes mean something (see ``spendpilot.errors.ExitCode``): 0 ok, 1 failure, 2 bad input,
3 drift (the resource changed; nothing was executed), 4 not found, 5 conflict (wrong state,
plan hash mismatch, another sweep running, execution held by another process), 6 a cloud API
refused or could not be reached (fix access, then retry or `spendpilot resume`).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import shutil
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
from rich.console import Console
from rich.text import Text

from spendpilot import __version__
from spendpilot.domain import ProposalStatus, format_money
from spendpilot.errors import BadArgument, ConfigError, ExitCode, IngestError, SpendpilotError

if TYPE_CHECKING:  # `--help` and the listing commands must not pay for SQLAlchemy, pydantic-settings, …
    from datetime import date, datetime

    from spendpilot.config import Settings
    from spendpilot.domain import ProposalSummary
    from spendpilot.domain.reports import ExecutionOutcome
    from spendpilot.services import SpendpilotServices

app = typer.Typer(
    name="spendpilot",
    help=(
        "A FinOps copilot for AI/ML spend: find waste in AWS and LLM usage, estimate the "
        "monthly saving, and remove it safely once a human approves the exact change.\n\n"
        "Start with `spendpilot demo` (no AWS account needed). Typical loop on real data: "
        "`spendpilot ingest ./focus-export/` → `spendpilot sweep` → `spendpilot proposals` → "
        "`spendpilot approve ID --by you` (or review everything in `spendpilot tui`).\n\n"
        "Exit codes: 0 ok · 1 failure · 2 bad input · 3 drift (nothing ran, re-queued) · "
        "4 not found · 5 conflict · 6 cloud API unavailable or access denied."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
# Piped output (CI logs, `| less`) gets a wide fixed width instead of rich's 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="spendpilot.toml to read (default: ./spendpilot.toml if present)."),
]
HomeOpt = Annotated[
    Path | None, typer.Option("--home", help="Directory for local stores (default .spendpilot).")
]


def _settings(config: Path | None, home: Path | None = None) -> Settings:
    """Settings for a command; any config mistake ends it with one line and exit code 2."""
    from spendpilot.config import load_settings

    try:
        if config is not None and (not config.exists() or config.is_dir()):
            state = "is a folder, not a TOML file" if config.exists() else "does not exist"
            raise ConfigError(f"--config {config} {state}")
        overrides = {"home": home} if home is not None else {}
        return load_settings(config, **overrides)
    except SpendpilotError as exc:
        raise _fail(exc) from exc


def _services(settings: Settings) -> SpendpilotServices:
    from spendpilot.runtime import build_services

    try:
        return build_services(settings)
    except SpendpilotError as exc:  # e.g. a home that cannot be created or written
        raise _fail(exc) from exc


def _fail(exc: SpendpilotError) -> typer.Exit:
    one_line = " ".join(str(exc).split())  # an error is one line, whatever its author wrote
    err.print(Text(f"error: {one_line}", style="red"), soft_wrap=True)
    return typer.Exit(int(exc.exit_code))


def _who(by: str | None) -> str:
    """The decider's name: --by, else $SPENDPILOT_USER, else the OS login (said out loud)."""
    if by is not None:
        return by
    name = os.environ.get("SPENDPILOT_USER") or getpass.getuser()
    source = "$SPENDPILOT_USER" if os.environ.get("SPENDPILOT_USER") else "your OS login"
    err.print(Text(f"Recording the decision as {name!r} (from {source}; pass --by NAME to name someone else).", style="dim"))
    return name


_UNAVAILABLE_ERRORS = {"AdapterError"}
_OUTCOME_STYLE = {"executed": "green", "drifted": "yellow", "pending": "yellow", "approved": "yellow"}


def _outcome_exit(outcomes: list[ExecutionOutcome]) -> int:
    """The worst outcome decides: failed 1, AWS unavailable 6, drift 3, held elsewhere 5."""
    codes = {ExitCode.OK}
    for o in outcomes:
        if o.status is ProposalStatus.DRIFTED:
            codes.add(ExitCode.DRIFT)
        elif o.error in _UNAVAILABLE_ERRORS:
            codes.add(ExitCode.UNAVAILABLE)
        elif o.status is ProposalStatus.APPROVED and o.error is None:
            codes.add(ExitCode.CONFLICT)
        elif o.status is not ProposalStatus.EXECUTED:
            codes.add(ExitCode.FAILURE)
    order = [ExitCode.FAILURE, ExitCode.UNAVAILABLE, ExitCode.DRIFT, ExitCode.CONFLICT, ExitCode.OK]
    return int(next(c for c in order if c in codes))


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"spendpilot {__version__}")


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(
        help="A FOCUS, CUR 2.0 or legacy CUR CSV/CSV.gz/Parquet file, an OTLP JSON trace export, "
        "or a folder of them; or s3://bucket/prefix/ holding CUR exports (only new deliveries are read).")],
    llm_usage: Annotated[
        bool, typer.Option("--llm-usage", help="The file is LLM usage (day, model, feature, tokens…), not FOCUS.")
    ] = False,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            help="Also read dates written in this one strptime format, e.g. '%m/%d/%y' for 4/1/25 "
            "(zone-less means UTC). Without it only ISO 8601 dates are read and others are quarantined.",
        ),
    ] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Validate billing data and store it in the local Parquet lake.

    The format (FOCUS, CUR 2.0, legacy CUR) is recognised from each file's columns, no flag needed;
    CUR rows are mapped to FOCUS (docs/ingest-formats.md). Bad rows are quarantined with file, row,
    field and reason (never dropped); a file that is none of them is refused with exit code 2
    and nothing is written. Dates must be ISO 8601
    (2025-04-01, 2025-04-01T00:00:00Z): a spreadsheet date such as 4/1/25 is quarantined, never
    guessed, unless --date-format names its format. A re-delivered (restated) export replaces the
    stored rows of the same provider, billing account and billing period (LLM usage: provider,
    feature and day); the files of one folder are one delivery and are stored together or not at
    all. A full disk fails with exit code 1 and stores nothing.

    An OTLP JSON trace export (recognised by its content) stores one row per GenAI model request
    (OpenTelemetry GenAI, OpenLLMetry or OpenInference attributes); other spans are skipped.
    """
    import shlex

    from spendpilot.lake import ingest_llm_usage_file, ingest_path

    def refuse(exc: SpendpilotError) -> typer.Exit:
        # One line however long (a piped console would otherwise wrap it at 80 columns).
        err.print(Text(f"error: {exc}", style="red"), soft_wrap=True)
        return typer.Exit(int(exc.exit_code))

    settings = _settings(config, home)
    from spendpilot.lake.cur_s3 import is_s3_url

    if is_s3_url(str(path)) and not llm_usage:  # CUR exports in S3: docs/aws-billing.md
        from spendpilot.lake.cur_s3 import ingest_s3_from_settings

        try:
            s3_reports = ingest_s3_from_settings(str(path), settings, date_format=date_format)
        except SpendpilotError as exc:
            raise refuse(exc) from exc
        for line in s3_reports.summary:
            console.print(Text(line), soft_wrap=True)
        for source, r in zip(s3_reports.sources, s3_reports.reports, strict=True):
            console.print(Text(f"{source}: read {r.rows_read:,} · stored {r.rows_stored:,} · quarantined "
                               f"{r.rows_quarantined:,} · format {r.format}"
                               + (f" · replaced {r.rows_replaced:,} earlier rows" if r.rows_replaced else "")
                               + "".join(f"\n    {n:,} × {reason}" for reason, n in r.reasons.items())
                               + (f"\n    quarantined rows (Parquet): {r.quarantine_file.resolve()}"
                                  if r.quarantine_file else "")),
                          soft_wrap=True)
        return
    if not path.exists():
        raise refuse(IngestError(f"{path}: no such file or folder"))
    if not llm_usage:
        from spendpilot.lake.ingest import ingestible_files
        from spendpilot.lake.otlp import ingest_otlp_file, otlp_files
        from spendpilot.lake.otlp.summary import summary_lines

        traces = otlp_files(path)  # by content: collectors name their files freely
        for trace_file in traces:  # each file is a delivery of its own
            try:
                report = ingest_otlp_file(trace_file, settings.lake_dir, settings.otel)
            except SpendpilotError as exc:
                raise refuse(exc) from exc
            for style, line in summary_lines(report):
                console.print(Text(line, style=style), soft_wrap=True)
        if traces and (path.is_file() or not ingestible_files(path)):
            return
    try:
        if llm_usage:
            reports = [ingest_llm_usage_file(path, settings.lake_dir, date_format=date_format)]
        else:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(
                TextColumn("[progress.description]{task.description}"), BarColumn(),
                TextColumn("{task.completed:,} rows"), TimeElapsedColumn(), console=err, transient=True,
                disable=not err.is_terminal,
            ) as progress:
                task = progress.add_task(f"Ingesting {path.name}", total=None)
                reports = ingest_path(path, settings.lake_dir, progress=lambda n: progress.update(task, completed=n),
                                      date_format=date_format)
    except SpendpilotError as exc:
        raise refuse(exc) from exc
    for r in reports:
        console.print(
            Text(f"{r.file}: read {r.rows_read:,} · stored {r.rows_stored:,} · quarantined {r.rows_quarantined:,}"
                 + ("" if llm_usage else f" · format {r.format}")),
            soft_wrap=True,
        )
        for note in r.notes:
            console.print(Text(f"    {note}", style="cyan"), soft_wrap=True)
        if r.rows_replaced:
            console.print(Text(
                f"    replaced {r.rows_replaced:,} previously stored rows: this export restates their "
                f"{', '.join(r.restatement_key)}", style="cyan",
            ), soft_wrap=True)
        for reason, count in sorted(r.reasons.items(), key=lambda kv: -kv[1]):
            console.print(Text(f"    {count:,} × {reason}", style="yellow"), soft_wrap=True)
        if r.examples:
            console.print(Text(
                "    first quarantined rows (file:row; row N is the Nth record after the header, "
                "on line N + 1 unless a quoted field spans lines):", style="dim",
            ), soft_wrap=True)
            for q in r.examples:
                console.print(Text(f"      {q.file}:{q.row} {q.message}"), soft_wrap=True)
        if r.quarantine_file:
            qfile = r.quarantine_file.resolve()
            read = f"import duckdb; duckdb.read_parquet({json.dumps(str(qfile))}).order(\"_row\").show()"
            console.print(Text(f"    all quarantined rows (Parquet): {qfile}", style="dim"), soft_wrap=True)
            console.print(Text(f"    read them with: {shlex.quote(sys.executable)} -c {shlex.quote(read)}", style="dim"), soft_wrap=True)


@app.command("ingest-cost-explorer")
def ingest_cost_explorer(
    months: Annotated[int, typer.Option("--months", min=1, max=14, help="Calendar months to read, ending with "
                                        "this one (Cost Explorer keeps daily data for 14 months).")] = 3,
    group_by: Annotated[str, typer.Option("--group-by", help="Up to two groupings, comma-separated: dimensions "
                                          "(SERVICE, LINKED_ACCOUNT, RECORD_TYPE, REGION, …) or TAG:<key>.")]
    = "SERVICE,LINKED_ACCOUNT",
    billing_account: Annotated[str | None, typer.Option("--billing-account", help="The payer account id the rows "
                                                        "belong to (default: the organisation's management "
                                                        "account, else the caller's own).")] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Store Cost Explorer's daily costs (GetCostAndUsage) in the lake as FOCUS rows.

    For accounts without a CUR export: one row per day and group, UnblendedCost as BilledCost and
    AmortizedCost as EffectiveCost, labelled x_Source="AWS Cost Explorer". Months for which the lake
    already holds CUR or FOCUS rows of the same payer are left out (CUR wins), and a CUR ingested
    later replaces a month's Cost Explorer rows. See docs/aws-billing.md.
    """
    from spendpilot.lake.cost_explorer import ingest_cost_explorer_months

    settings = _settings(config, home)
    groups = [g.strip() for g in group_by.split(",") if g.strip()]
    try:
        result = ingest_cost_explorer_months(settings.lake_dir, endpoint_url=settings.aws.endpoint_url,
                                             months=months, group_by=groups, billing_account_id=billing_account)
    except SpendpilotError as exc:
        err.print(Text(f"error: {exc}", style="red"), soft_wrap=True)
        raise typer.Exit(int(exc.exit_code)) from exc
    r = result.report
    console.print(Text(
        f"Cost Explorer {result.start}..{result.end} (payer {result.billing_account_id}): {result.pages} page(s), "
        f"{result.rows_received:,} daily rows received · stored {r.rows_stored if r else 0:,} · "
        f"quarantined {r.rows_quarantined if r else 0:,}"
        + (f" · replaced {r.rows_replaced:,} earlier Cost Explorer rows" if r and r.rows_replaced else "")),
        soft_wrap=True)
    if result.months_left_to_cur:
        console.print(Text(f"    left out {', '.join(result.months_left_to_cur)}: the lake holds CUR/FOCUS rows "
                           "for them (CUR wins over Cost Explorer)", style="cyan"), soft_wrap=True)
    for reason, count in (r.reasons.items() if r else ()):
        console.print(Text(f"    {count:,} × {reason}", style="yellow"), soft_wrap=True)


@app.command()
def spend(
    by: Annotated[str, typer.Option(
        "--by", help="Group by these keys, comma-separated: service, account, subaccount, region, provider, "
        "charge_category, resource, category, sku, team, feature, model, tag:KEY (e.g. --by service,account or --by tag:env).")] = "",
    start: Annotated[str | None, typer.Option("--from", help="First day, ISO (2025-05-01), included.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, ISO, included (default: the latest full day of data).")] = None,
    last: Annotated[str | None, typer.Option("--last", help="The period up to --to: 7d, 2w, 3m (default 30d).")] = None,
    compare: Annotated[bool, typer.Option("--compare", help="Add the previous period of the same length, with change and %.")] = False,
    metric: Annotated[str | None, typer.Option(
        "--metric", help="effective (amortised, after discounts; default), billed (as invoiced) or list (before discounts).")] = None,
    daily: Annotated[bool, typer.Option("--daily", help="A time series per day.")] = False,
    weekly: Annotated[bool, typer.Option("--weekly", help="A time series per ISO week (Monday).")] = False,
    monthly: Annotated[bool, typer.Option("--monthly", help="A time series per calendar month.")] = False,
    where: Annotated[list[str] | None, typer.Option(
        "--where", help="Keep only KEY=VALUE rows (repeatable; VALUE may list alternatives a,b; accounts match by "
        "name or id; (untagged) matches rows without the tag), e.g. --where tag:env=prod.")] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Show the N largest groups per currency; the rest adds up "
                                     "in one (other) row. 0 shows all.")] = 20,
    team_tag: Annotated[str, typer.Option("--team-tag", help="The tag key that names a team.")] = "team",
    source: Annotated[str | None, typer.Option(
        "--source", help="focus (the bill) or llm_usage (usage exports and GenAI spans: requests, tokens, unit "
        "costs). Default: llm_usage when grouping by feature or model, else focus.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON (exact decimals as strings).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the rows as CSV (exact decimals).")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the JSON or CSV to this file.")] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Show spend from the lake: grouped, over a period, compared with the one before.

    Examples: `spendpilot spend --by service,account --compare` ·
    `spendpilot spend --by team --last 3m --monthly` · `spendpilot spend --by feature,model`
    (LLM usage, with cost per request and per 1k tokens) · `spendpilot spend --by region --csv -o spend.csv`.

    The period is whole UTC days by charge start; without dates it is the last 30 full days ending
    at the latest data, and the header says which days. Accounts show their names with the id in
    brackets. Amounts in different currencies are never added: every total is per currency.
    Exit code: 0 shown (even when the filters leave nothing), 2 bad option (an unknown key lists
    the valid ones), 4 nothing to show (the lake is empty: run `spendpilot ingest` first).
    """
    from datetime import date

    from spendpilot.lake.spend import build_query, parse_filter, parse_last, run_spend_query
    from spendpilot.spend_output import header_line, spend_csv, spend_json, spend_table, total_lines

    def day(option: str, text: str | None) -> date | None:
        try:
            return date.fromisoformat(text) if text else None
        except ValueError as exc:
            raise BadArgument(f"{option} {text!r} is not an ISO date such as 2025-05-01") from exc

    settings = _settings(config, home)
    try:
        series = [g for g, on in (("day", daily), ("week", weekly), ("month", monthly)) if on]
        if len(series) > 1 or (as_json and as_csv):
            raise BadArgument("choose one of --daily/--weekly/--monthly, and one of --json/--csv")
        if output is not None and not (as_json or as_csv):
            raise BadArgument("--output writes JSON or CSV: add --json or --csv")
        query = build_query(
            group_by=by.split(","), start=day("--from", start), end=day("--to", end),
            **(parse_last(last) if last else {}), granularity=series[0] if series else "total",
            metric=metric, compare=compare, where=[parse_filter(w) for w in where or []],
            top=top or None, team_tag=team_tag, source=source,
        )
        result = run_spend_query(settings.lake_dir, query)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    if as_json or as_csv:
        text = spend_json(result) + "\n" if as_json else spend_csv(result)
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
            err.print(Text(f"wrote {len(result.rows)} rows to {output}", style="dim"), soft_wrap=True)
        return
    console.print(Text(header_line(result), style="bold"), soft_wrap=True)
    for line in total_lines(result):
        console.print(Text(line), soft_wrap=True)
    if result.rows:
        console.print(spend_table(result))
    else:
        console.print(Text("No spend matches in this period.", style="yellow"))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"), soft_wrap=True)


@app.command()
def forecast(
    by: Annotated[str, typer.Option("--by", help="Group keys as in `spend --by` (e.g. service, team, feature).")] = "",
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Days to forecast.")] = 30,
    history: Annotated[int, typer.Option("--history", min=7, max=730, help="Days of history to fit.")] = 90,
    tokens: Annotated[bool, typer.Option("--tokens", help="Forecast LLM tokens (input + output) instead of spend.")] = False,
    level: Annotated[float, typer.Option("--level", min=0.5, max=0.99, help="Interval coverage.")] = 0.8,
    top: Annotated[int, typer.Option("--top", min=0, help="Forecast the N largest groups; 0: all.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Every series, day by day, as JSON (plot-friendly).")] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Forecast daily spend (or tokens) with an interval: weekday profile x trend.

    Example: `spendpilot forecast --by service --days 30 --json`. Exit code 4: nothing in the lake.
    """
    from spendpilot.outlook.forecast import forecast_spend, forecast_tokens
    from spendpilot.outlook.output import forecast_table

    settings = _settings(config, home)
    groups = [k.strip() for k in by.split(",") if k.strip()]
    try:
        if tokens:
            result = forecast_tokens(settings.lake_dir, groups, horizon=days, history_days=history, level=level)
        else:
            result = forecast_spend(settings.lake_dir, groups, horizon=days, history_days=history, level=level,
                                    top=top or None)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    console.print(forecast_table(result))
    for s in result.series[:1]:
        console.print(Text(f"method: {s.method}", style="dim"), soft_wrap=True)
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"), soft_wrap=True)


@app.command()
def anomalies(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Unusual spend: hourly per feature (GenAI spans) and daily per service (the bill), each
    with its driver and the excess so far. Settings: `[anomalies]`. Exit 0 whether or not some were
    found; 4 when the lake holds nothing to check."""
    from spendpilot.errors import NoSpendData
    from spendpilot.outlook.anomalies import cloudwatch_sources, find_anomalies
    from spendpilot.outlook.output import anomalies_table
    from spendpilot.savings.pricebook import PriceBook

    settings = _settings(config, home)
    try:
        report = find_anomalies(settings.lake_dir, PriceBook.bundled(), settings.anomalies,
                                sources=cloudwatch_sources(settings))
        if not report.checked:
            raise NoSpendData("the lake holds no billing data or GenAI spans yet; run `spendpilot ingest PATH` first")
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        return
    if report.anomalies:
        console.print(anomalies_table(report))
    else:
        console.print(Text(f"No anomalies in {len(report.checked)} series checked.", style="green"))
    for note in report.notes:
        console.print(Text(f"note: {note}", style="dim"), soft_wrap=True)


@app.command()
def budgets(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Evaluate as of this day (default: last day of data).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the statuses as JSON.")] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Budgets from `[[budgets]]` (and AWS Budgets with `[aws_budgets] enabled = true`): month to
    date, projected to month end, and when each threshold is or will be crossed."""
    from datetime import date

    from spendpilot.outlook.budgets import evaluate_budgets
    from spendpilot.outlook.output import budgets_table

    settings = _settings(config, home)
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise _fail(BadArgument(f"--as-of {as_of!r} is not an ISO date such as 2025-05-31")) from exc
    try:
        statuses, notes = evaluate_budgets(settings, as_of=day)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    if as_json:
        payload = {"budgets": [s.model_dump(mode="json") | {"projected": str(s.projected), "burn": str(s.burn),
                                                              "projected_burn": str(s.projected_burn)}
                               for s in statuses], "notes": notes}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    if statuses:
        console.print(budgets_table(statuses))
    else:
        console.print(Text("No budgets: add [[budgets]] to spendpilot.toml or enable [aws_budgets].", style="yellow"))
    for note in notes + [n for s in statuses for n in s.notes]:
        console.print(Text(f"note: {note}", style="dim"), soft_wrap=True)


@app.command()
def sweep(
    as_json: Annotated[bool, typer.Option("--json", help="Print the sweep report and proposals as JSON.")] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Run every check once against the configured sources and queue proposals.

    Sources are read in parallel; one that cannot be read is listed as a gap (what the sweep
    could not see) and the rest go on. Exit code: 0 when the sweep ran (even if it found
    nothing, even with some gaps), 6 when no configured source could be read (nothing was
    seen, so "0 findings" would be a lie), 5 if another sweep is running, 2 for a config mistake.
    """
    from spendpilot.output import print_sweep_report, proposals_json, proposals_table

    services = _services(_settings(config, home))
    try:
        report = services.sweep()
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    pending = services.list_proposals([ProposalStatus.PENDING])
    if as_json:
        print(json.dumps({"report": report.model_dump(mode="json"), "proposals": json.loads(proposals_json(pending))}, indent=2))
    else:
        print_sweep_report(console, report)
        if pending:
            console.print(proposals_table(pending, title="Pending proposals"))
    if report.blind:
        err.print(Text(
            f"error: none of the {report.sources_configured} configured sources could be read; "
            "nothing was swept (see the gaps above)", style="red",
        ), soft_wrap=True)
        raise typer.Exit(int(ExitCode.UNAVAILABLE))


class _QueueReader(Protocol):
    def proposal_summaries(self, statuses: list[ProposalStatus] | None = None) -> list[ProposalSummary]: ...

    def public_proposals(self, statuses: list[ProposalStatus] | None = None) -> list[dict[str, Any]]: ...


def _queue(config: Path | None, home: Path | None) -> _QueueReader:
    """What reads the queue for `proposals`. When `--home`, `SPENDPILOT_HOME` and
    `SPENDPILOT_DATABASE_URL` alone decide where the state is (no config file, no other
    setting in the environment: see `state_location`), the settings models are not built (a
    quarter of a 10,000-line listing); otherwise the full settings and services, as before."""
    from spendpilot.state_location import ensure_home, plain_state_location

    location = plain_state_location(home) if config is None else None
    if location is None:
        return _services(_settings(config, home))
    try:
        ensure_home(location.home)  # as LocalServices does: a bad home is one line, exit 2
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    from spendpilot.proposals.listing import StateQueue

    return StateQueue(location.state_db_url)


@app.command()
def proposals(
    as_json: Annotated[bool, typer.Option("--json", help="Stable JSON: id, action, target, estimated_monthly_savings, currency, risk, status, evidence, …")] = False,
    status: Annotated[
        list[ProposalStatus] | None, typer.Option("--status", "-s", help="Only these statuses (repeatable).")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Show the first N (pending, biggest saving first).")] = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many first (page with --limit).")] = 0,
    plain: Annotated[bool, typer.Option("--plain", help="Aligned plain lines instead of a table (automatic above 200 rows).")] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """List proposals, pending first, biggest expected saving first."""
    from spendpilot.domain.summary import summary_order
    from spendpilot.output import RICH_TABLE_MAX_ROWS, summaries_plain, summaries_table
    from spendpilot.proposals.listing import write_json_array

    queue = _queue(config, home)
    if as_json:  # one read in queue order, written item by item (see proposals.listing)
        sys.stdout.flush()
        write_json_array(queue.public_proposals(status or None)[offset : offset + limit if limit else None], sys.stdout.buffer)
        return
    ordered = summary_order(queue.proposal_summaries(status or None))
    found = ordered[offset : offset + limit if limit else None]
    if not found:
        console.print("No proposals. Run `spendpilot sweep` first." if not ordered else f"No proposals after the first {offset}.")
        return
    if plain or len(found) > RICH_TABLE_MAX_ROWS:
        sys.stdout.write(summaries_plain(found) + "\n")
    else:
        console.print(summaries_table(found))
    if len(found) < len(ordered):
        console.print(Text(f"{offset + 1}–{offset + len(found)} of {len(ordered)}; page with --limit N --offset M.", style="dim"))
    stuck = [p.id for p in ordered if p.status is ProposalStatus.APPROVED]
    if stuck:
        shown = ", ".join(stuck[:10]) + (f" and {len(stuck) - 10} more" if len(stuck) > 10 else "")
        console.print(Text(f"Approved but not finished: {shown} — run `spendpilot resume`.", style="yellow"))


@app.command()
def show(
    proposal_id: Annotated[str, typer.Argument(help="Proposal id (sp-xxxxxxxx).")],
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Everything about one proposal: evidence, formula, plan, rollback, plan hash, history."""
    from spendpilot.output import print_proposal

    services = _services(_settings(config, home))
    try:
        p = services.get_proposal(proposal_id)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    print_proposal(console, p)
    if p.status in (ProposalStatus.EXECUTED, ProposalStatus.ROLLED_BACK):
        for r in services.realized_savings([p.id]):  # the bill's answer beside the estimate
            console.print(Text(f"Realized: {r.line()}"), soft_wrap=True)
    console.print("History:")
    for ev in services.audit_events(limit=0, proposal_id=proposal_id):
        console.print(Text(f"  {ev.at:%Y-%m-%d %H:%M:%S} {ev.actor}: {ev.kind}", style="dim"))


@app.command()
def savings(
    as_json: Annotated[bool, typer.Option("--json", help="Print each executed proposal's estimate and realized saving as JSON.")] = False,
    window_days: Annotated[int | None, typer.Option("--window-days", min=1, max=90, help="Complete UTC days measured each side of the execution day (default [realized] window_days, 7).")] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Realized savings: what each executed proposal saved according to the bill, beside its estimate.

    The target's run rate in the FOCUS lake over N complete days before the execution day and N
    after it, per 730-hour month. Until the bill holds the whole after window: "measuring, ready on
    DATE". A target no bill row names is said so, never shown as $0. See docs/realized-savings.md.
    """
    from rich.table import Table

    from spendpilot.savings.realized import RealizedSettings

    settings = _settings(config, home)
    if window_days is not None:
        settings = settings.model_copy(update={"realized": RealizedSettings(window_days=window_days)})
    results = _services(settings).realized_savings()
    if as_json:
        console.print_json(json.dumps([r.public_dict() for r in results]))
        return
    if not results:
        console.print("No executed proposals yet: realized savings are measured after `spendpilot approve` executes one.")
        return
    table = Table(title=f"Realized savings ({settings.realized.window_days} complete UTC days before and after each execution)")
    for column in ("proposal", "target"):
        table.add_column(column)
    for column in ("estimated/month (low–high)", "realized/month", "error"):
        table.add_column(column, justify="right")
    table.add_column("status")
    for r in results:
        low, high = format_money(r.estimated_low, r.currency), format_money(r.estimated_high, r.currency)
        realized = "—" if r.realized_monthly is None else format_money(r.realized_monthly, r.currency)
        status = (f"measured {r.before_window.label()} vs {r.after_window.label()}" if r.status.value == "measured"
                  else f"measuring, ready on {r.ready_on}" if r.status.value == "measuring"
                  else r.line())
        table.add_row(Text(r.proposal_id), Text(r.target), f"{format_money(r.estimated_expected, r.currency)} ({low}–{high})",
                      realized, "—" if r.error is None else f"{r.error:+.1%}", Text(status))
    console.print(table)
    console.print(Text("error = (estimate - realized) / estimate: positive when the estimate promised more than the bill shows.", style="dim"))


@app.command()
def approve(
    proposal_id: Annotated[str, typer.Argument(help="Proposal id (sp-xxxxxxxx).")],
    by: Annotated[str | None, typer.Option("--by", help="Who approves (recorded in the audit log).")] = None,
    plan_hash: Annotated[
        str | None, typer.Option("--plan-hash", help="Approve only if the plan still has this hash (prefix ≥ 8).")
    ] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Approve exactly this plan, then execute it: re-check the resource, apply once, verify.

    If the resource changed since the sweep, nothing runs, the proposal is re-queued and the
    exit code is 3.
    """
    services = _services(_settings(config, home))
    try:
        outcome = services.approve(proposal_id, by=_who(by), plan_hash=plan_hash)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    console.print(Text(outcome.message, style=_OUTCOME_STYLE.get(outcome.status.value, "red")))
    if code := _outcome_exit([outcome]):
        raise typer.Exit(code)


@app.command()
def reject(
    proposal_id: Annotated[str, typer.Argument(help="Proposal id (sp-xxxxxxxx).")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (remembered: the agent won't re-propose it on the same evidence).")],
    by: Annotated[str | None, typer.Option("--by", help="Who rejects.")] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Reject a proposal with a reason."""
    services = _services(_settings(config, home))
    try:
        p = services.reject(proposal_id, by=_who(by), reason=reason)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    console.print(f"{p.id} rejected. It will not be proposed again unless its evidence changes.")


@app.command()
def rollback(
    proposal_id: Annotated[str, typer.Argument(help="An executed proposal's id (sp-xxxxxxxx).")],
    by: Annotated[str | None, typer.Option("--by", help="Who approves the rollback (recorded in the audit log).")] = None,
    plan_hash: Annotated[
        str | None, typer.Option("--plan-hash", help="Roll back only if the rollback plan has this hash (prefix ≥ 8; `show` prints it).")
    ] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Undo an executed proposal: approve and execute the rollback plan recorded with it.

    The rollback is a proposal of its own (id rb-…), approved by --by, executed like any other
    change: the resource is re-read first (if it is no longer in the state the change left it
    in, nothing runs and the exit code is 3), applied once, verified and audited. The original
    proposal is then marked rolled_back.
    """
    services = _services(_settings(config, home))
    try:
        outcome = services.rollback(proposal_id, by=_who(by), plan_hash=plan_hash)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    console.print(Text(outcome.message, style=_OUTCOME_STYLE.get(outcome.status.value, "red")))
    if code := _outcome_exit([outcome]):
        raise typer.Exit(code)


@app.command()
def resume(config: ConfigOpt = None, home: HomeOpt = None) -> None:
    """Finish approved executions a crash interrupted (safe to run any number of times).

    A change already visible on the resource is recorded, not applied again; one still held by
    a live process is left to it; an approval that expired before anything ran goes back to the
    queue; a rollback that ran but whose original was not yet marked rolled back is marked. Exit code: 0 all done, 1 some failed, 6 AWS unreachable or denied, 3 some drifted,
    5 some held by another process.
    """
    services = _services(_settings(config, home))
    outcomes = services.resume_pending()
    if not outcomes:
        console.print("Nothing to resume.")
    for o in outcomes:
        console.print(Text(o.message, style=_OUTCOME_STYLE.get(o.status.value, "red")))
    if code := _outcome_exit(outcomes):
        raise typer.Exit(code)


@app.command()
def audit(
    limit: Annotated[int, typer.Option(help="How many recent events.")] = 30,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check the hash chain, its head anchor and every recorded decision.")
    ] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Show the append-only, hash-chained audit log.

    `--verify` recomputes every event's hash and link, compares the log's length and last event
    with the head anchor (`audit.head` beside the database, which deleting rows cannot reach),
    and checks that every recorded decision has its audit event. It names the first bad event
    and what is wrong with it. Exit code 0 intact, 1 broken.
    """
    from sqlalchemy.exc import SQLAlchemyError

    settings = _settings(config, home)
    try:
        services = _services(settings)
        if verify:
            report, total, problems = services.verify_audit()
        else:
            events = services.audit_events(limit=limit)
    except (SQLAlchemyError, ValueError) as exc:
        err.print(Text(
            f"error: the state database {settings.state_db_url} cannot be read ({str(exc).splitlines()[0]}); "
            "run `spendpilot doctor` for details", style="red",
        ), soft_wrap=True)
        raise typer.Exit(int(ExitCode.FAILURE)) from exc
    if not verify:
        for ev in events:
            console.print(Text(f"{ev.seq:>5} {ev.at:%Y-%m-%d %H:%M:%S} {ev.actor:<12} {ev.kind:<24} {ev.proposal_id or ''}"))
        return
    console.print(Text(report.describe(), style="green" if report.intact else "red"), soft_wrap=True)
    if problems:
        console.print(Text(f"decisions: {total} recorded; {len(problems)} not backed by the audit log:", style="red"))
        for line in problems:
            console.print(Text(f"  {line}", style="red"), soft_wrap=True)
    else:
        console.print(Text(
            f"decisions: {total} recorded, each matches its audit event; every execution follows an audited approval"
        ), soft_wrap=True)
    if not report.intact or problems:
        raise typer.Exit(int(ExitCode.FAILURE))


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Check this home's stores and say what is wrong or left half-done.

    State database (opens, schema current), audit chain (intact, else the first bad event),
    decisions (each backed by an audit event), pending executions (what `spendpilot resume`
    would pick up: owner, lease), approved proposals not executed, orphaned lake staging folders,
    and whether the lake answers a query. Exit code 0 healthy, 1 if any check fails (named).
    """
    from spendpilot.doctor import doctor_table, run_doctor

    settings = _settings(config, home)
    if not settings.home.is_dir():
        what = "is not a folder" if settings.home.exists() else "does not exist"
        raise _fail(ConfigError(f"home {settings.home} {what}; pass --home or set SPENDPILOT_HOME"))
    report = run_doctor(settings)
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        console.print(doctor_table(report))
    if not report.healthy:
        err.print(Text(f"unhealthy: {', '.join(report.failed)}", style="red"), soft_wrap=True)
        raise typer.Exit(int(ExitCode.FAILURE))
    if not as_json:
        console.print(Text("healthy", style="green"))


@app.command(name="token-focus")
def token_focus(config: ConfigOpt = None, home: HomeOpt = None) -> None:
    """Write LLM token cost into the FOCUS lake (per day, provider, model, feature) for chargeback.

    Derived from the stored LLM usage (exports and GenAI spans). A billing export that already
    bills a provider's AI usage for a day wins: those tokens are not added again (see
    docs/token-checks.md). Running it again restates, never adds.
    """
    from spendpilot.lake.token_focus import write_token_focus
    from spendpilot.savings.pricebook import PriceBook

    settings = _settings(config, home)
    try:
        report = write_token_focus(settings.lake_dir, PriceBook.bundled())
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    console.print(f"{report.rows_written:,} token FOCUS rows written; {report.skipped_billed:,} usage rows "
                  "already billed by an export (not added)")
    for period in report.withdrawn_periods:
        console.print(f"  withdrawn (now billed): {period}")
    for model, n in sorted(report.unpriced.items()):
        err.print(Text(f"  no price for {model}: {n:,} usage rows left out", style="yellow"))


@app.command()
def checks() -> None:
    """List the checks, the action each proposes, and their settings (override in `[checks.RULE]`).

    A check whose action kind has no action or estimator, or whose facts they cannot read, is
    shown as refused: sweeps skip it and say why.
    """
    from spendpilot.checks import all_checks
    from spendpilot.plugins import refusal

    for rule, spec in all_checks().items():
        console.print(Text(f"{rule} → {spec.action_kind}  (facts: {spec.facts_model.__name__})", style="bold"))
        console.print(Text(f"  {spec.description}"))
        if why := refusal(spec):
            console.print(Text(f"  REFUSED: {why}", style="red"))
        for name, field in spec.settings_model.model_fields.items():
            console.print(Text(f"    {name} = {field.get_default(call_default_factory=True)!r}  {field.description or ''}", style="dim"))


@app.command()
def policy(
    kubernetes: Annotated[
        bool, typer.Option("--kubernetes", help="Print the Kubernetes RBAC ClusterRoles (YAML) instead of the IAM policy.")
    ] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Print the least-privilege IAM policy: one read-only statement for sweeps, one per action.

    Drop an action's statement to take that change off the table; attach only the first
    statement to an identity that should sweep and never change anything. With --kubernetes:
    the same for a cluster, as ClusterRoles (spendpilot-sweep, and one per Kubernetes action).
    With `[aws_budgets] enabled = true`, a statement for reading AWS Budgets is added.
    """
    from spendpilot.permissions import iam_policy, kubernetes_rbac

    if kubernetes:
        import yaml

        print(yaml.safe_dump_all(kubernetes_rbac(), sort_keys=False), end="")
        return
    print(json.dumps(iam_policy(_settings(config, home)), indent=2))


@app.command()
def sources(config: ConfigOpt = None, home: HomeOpt = None) -> None:
    """List the source kinds spendpilot can read and the sources this configuration sweeps.

    Configure them as `[[sources]]` entries in spendpilot.toml (several of one kind for several
    accounts, regions or clusters); without any, the [aws] account and region, the FOCUS lake and
    the stored LLM usage are swept.
    """
    from spendpilot.adapters.base import SOURCES, build_sources

    console.print(Text("Source kinds:", style="bold"))
    for name, kind in SOURCES.items().items():
        console.print(Text(f"  {name}: {kind.description}"))
        for field_name, field in kind.settings_model.model_fields.items():
            if field_name in ("kind",):
                continue
            default = field.get_default(call_default_factory=True)
            console.print(Text(f"      {field_name} = {default!r}  {field.description or ''}", style="dim"))
    settings = _settings(config, home)
    try:
        configured = build_sources(settings.source_configs(), settings.home)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    console.print(Text("Configured sources:", style="bold"))
    for source in configured:
        console.print(Text(f"  {source.name}"))


@app.command()
def tui(
    by: Annotated[str | None, typer.Option("--by", help="Approver name recorded for decisions.")] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Review the queue, chat about spend, approve or reject (keyboard-first)."""
    from spendpilot.tui import run_tui

    run_tui(_services(_settings(config, home)), approver=_who(by))


@app.command()
def daemon(
    once: Annotated[bool, typer.Option("--once", help="Run one sweep now and exit.")] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Run sweeps on the cron in [schedule] sweep_cron (persistent job store; never two at once)."""
    from spendpilot.scheduler import run_daemon

    logging.getLogger("spendpilot").setLevel(logging.INFO)  # a daemon reports each sweep
    settings = _settings(config, home)
    settings.ensure_home()
    outcomes = _services(settings).resume_pending()
    for o in outcomes:
        console.print(o.message)
    console.print(f"spendpilot daemon: sweeps on '{settings.schedule.sweep_cron}' (UTC); Ctrl-C to stop")
    receiver = None
    if settings.otel.receiver_enabled and not once:
        from spendpilot.adapters.otel.receiver import OtlpReceiver

        receiver = OtlpReceiver(settings.lake_dir, settings.otel).start()
        console.print(f"spendpilot daemon: receiving OTLP/HTTP traces on {receiver.url}")
    try:
        run_daemon(settings, once=once)
    finally:
        if receiver is not None:
            receiver.close()


@app.command(name="otlp-receiver")
def otlp_receiver(
    port: Annotated[
        int | None, typer.Option("--port", help="Port on 127.0.0.1 (default: [otel] receiver_port, 4318).")
    ] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Receive OpenTelemetry traces over OTLP/HTTP (POST /v1/traces, protobuf or JSON) on 127.0.0.1
    and store their GenAI model requests in the lake, until Ctrl-C."""
    from spendpilot.adapters.otel.receiver import OtlpReceiver

    logging.getLogger("spendpilot").setLevel(logging.INFO)
    settings = _settings(config, home)
    settings.ensure_home()
    try:
        receiver = OtlpReceiver(settings.lake_dir, settings.otel, port=port)
    except OSError as exc:
        raise _fail(BadArgument(f"cannot listen on 127.0.0.1:{port or settings.otel.receiver_port} "
                                f"({exc.strerror or exc})")) from exc
    console.print(f"spendpilot: receiving OTLP/HTTP traces on {receiver.url} "
                  f"(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{receiver.port}); Ctrl-C to stop")
    try:
        receiver.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.server.server_close()


DEMO_MARKER = ".spendpilot-demo"


def _reset_demo_home(home: Path) -> None:
    """Empty the demo's folder, but only one the demo itself created: never the user's stores."""
    if home.exists():
        if not home.is_dir():
            raise ConfigError(f"--home {home} is a file; the demo needs a folder of its own")
        if any(home.iterdir()) and not (home / DEMO_MARKER).exists():
            raise ConfigError(
                f"--home {home} is not empty and was not created by `spendpilot demo`; "
                "the demo wipes its folder on each run, so give it an empty or new one"
            )
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / DEMO_MARKER).write_text("Created by `spendpilot demo`; wiped and rebuilt on each demo run.\n")


@app.command()
def demo(
    headless: Annotated[
        bool | None, typer.Option("--headless/--tui", help="Print the proposals and exit instead of opening the TUI (default: headless when there is no terminal).")
    ] = None,
    scenario: Annotated[str, typer.Option(help="Scenario name or folder.")] = "demo",
    home: Annotated[Path, typer.Option("--home", help="Where the demo keeps its stores (wiped each run).")] = Path(".spendpilot/demo"),
    keep_emulator: Annotated[
        bool,
        typer.Option(
            "--keep-emulator",
            help="Afterwards keep the AWS emulator running and print the environment that points the "
            "CLI at it, so `spendpilot proposals / approve / rollback …` work on the demo from another "
            "shell. Ctrl-C stops it (its resources live only in memory).",
        ),
    ] = False,
) -> None:
    """Run the whole loop on a bundled demo organisation: no AWS account, no API key.

    Starts a local AWS API emulator, creates the organisation in it, writes 90 days of FOCUS
    billing and LLM usage, ingests them, sweeps, and opens the review queue. With
    --keep-emulator the emulator outlives the report (or the TUI) until Ctrl-C.
    """
    from spendpilot.demo import prepare_scenario
    from spendpilot.output import print_sweep_report, proposals_table
    from spendpilot.scenarios import load_scenario, locate_scenario
    from spendpilot.scenarios.emulator import local_emulator

    if headless is None:
        headless = not (sys.stdin.isatty() and sys.stdout.isatty())
    try:
        spec = load_scenario(locate_scenario(scenario))
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    try:
        _reset_demo_home(home)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    from datetime import UTC, datetime

    from spendpilot.scenarios.kube_seed import scenario_clusters, scenario_settings
    from spendpilot.scenarios.prometheus_seed import scenario_prometheus

    now = datetime.now(UTC)
    with (
        local_emulator() as emulator,
        scenario_clusters(spec, home, now) as clusters,
        # A scenario's usage.yaml, when it has one and prometheus is installed (else said and skipped).
        scenario_prometheus(spec.path, home, now, required=False,
                            skipped=lambda why: err.print(Text(why, style="yellow"))) as usage,
    ):
        settings = scenario_settings(spec, home, emulator.endpoint_url, extra_sources=usage)
        settings.ensure_home()
        err.print(f"AWS API emulator on {emulator.endpoint_url}")
        for name, cluster in clusters.items():  # the Kubernetes API emulator, not a kube-apiserver
            err.print(f"Kubernetes API emulator for cluster {name} on {cluster.url} (kubeconfig {home}/kubeconfig)")
        for source in usage:
            err.print(f"Prometheus for cluster {source['cluster']} on {source['url']}")
        prepare_scenario(settings, spec, emulator.endpoint_url or "", now=now, progress=lambda m: err.print(Text(m)))
        services = _services(settings)
        report = services.sweep()
        showback = _demo_showback(services, settings, now, spec.path / "chargeback.toml")
        if headless:
            print_sweep_report(console, report)
            console.print(proposals_table(services.list_proposals([ProposalStatus.PENDING]), title="Pending proposals"))
            console.print(Text(showback, style="dim"), soft_wrap=True)
            console.print(Text(f"Stores in {home}/ (state, lake, checkpoints, memory).", style="dim"))
        else:
            from spendpilot.tui import run_tui

            run_tui(services, approver=_who(None))
            console.print(Text(showback, style="dim"), soft_wrap=True)
        if keep_emulator:
            _serve_demo_emulator(settings)


def _demo_showback(services: SpendpilotServices, settings: Settings, now: datetime, rules: Path) -> str:
    """Allocation and token rows into the lake, then the HTML report; a scenario without the
    data for it says why in one line instead of failing the demo."""
    from spendpilot.runtime import LocalServices
    from spendpilot.scenarios.showback import write_showback

    if not isinstance(services, LocalServices):  # the demo always builds local services
        return "No chargeback report: the demo's services are not local"
    try:
        return write_showback(services, settings, now, rules=rules).line()
    except SpendpilotError as exc:
        return f"No chargeback report: {exc}"


def _serve_demo_emulator(settings: Settings) -> None:
    """Print how to reach the running emulator from another shell, then wait for Ctrl-C / SIGTERM."""
    import shlex
    import signal
    import threading

    from spendpilot.scenarios.emulator import EMULATOR_ENV

    env = {
        "SPENDPILOT_HOME": str(settings.home.resolve()),
        "SPENDPILOT_AWS__ENDPOINT_URL": str(settings.aws.endpoint_url),
        "SPENDPILOT_AWS__REGION": settings.aws.region,
        "SPENDPILOT_AWS__METRIC_LOOKBACK_DAYS": str(settings.aws.metric_lookback_days),
        **EMULATOR_ENV,
    }
    if settings.aws.accounts:  # the scenario's accounts.yaml: every (account, region) it sweeps
        env["SPENDPILOT_AWS__ACCOUNTS"] = json.dumps(settings.aws.accounts)
    if settings.sources:  # the scenario's Kubernetes clusters: their emulators run as long as this one
        env["SPENDPILOT_SOURCES"] = json.dumps(settings.sources)
    if settings.chargeback.model_dump(exclude_defaults=True):  # the scenario's owner rules (chargeback.toml)
        env["SPENDPILOT_CHARGEBACK"] = settings.chargeback.model_dump_json(exclude_defaults=True)
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    console.print(
        "The AWS emulator keeps running until Ctrl-C. In another shell, point the CLI at the demo:\n"
        f"  export {exports}\n"
        "  spendpilot proposals",
        markup=False, highlight=False, soft_wrap=True,
    )
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    err.print("Emulator stopped; its resources are gone (the stores in the home stay).")


@app.command(name="eval")
def eval_(
    scenarios: Annotated[list[str] | None, typer.Argument(help="Scenario names or folders (default: all bundled).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scenarios and the per-check table as JSON.")] = False,
) -> None:
    """Score the sweep against scenarios with planted waste and traps (evals/scenarios/*).

    Each scenario runs in a fresh emulator and a temporary home. After one line per scenario comes
    a table per check: planted, found, missed, traps sprung, unexpected proposals, recall,
    precision, and the mean signed error of its savings estimates against the true savings recorded
    in expected.yaml. Exit 1 if any scenario misses a planted proposal or falls into a trap.
    """
    from spendpilot.scenarios.check_table import (
        CHECK_TABLE_TITLE,
        REALIZED_TITLE,
        check_table,
        plain_lines,
        realized_plain_lines,
        realized_table,
    )
    from spendpilot.scenarios.runner import bundled_scenarios, run_scenario
    from spendpilot.scenarios.score import tally_checks

    failed = 0
    results = []
    for name in scenarios or bundled_scenarios():
        try:
            result = run_scenario(name)
        except SpendpilotError as exc:
            raise _fail(exc) from exc
        results.append(result)
        failed += not result.passed
        if as_json:
            continue
        verdict = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
        console.print(
            f"{verdict} {result.scenario}: recall {result.recall:.0%} ({len(result.found)}/{len(result.found) + len(result.missed)}), "
            f"traps hit {len(result.traps_hit)}, unexpected {len(result.unexpected)}, "
            f"expected savings {format_money(result.expected_monthly_total, 'USD')}/month"
        )
        for line in result.missed:
            console.print(Text(f"    missed: {line}", style="red"))
        for line in result.traps_hit:
            console.print(Text(f"    trap: {line}", style="red"))
        for line in result.unexpected:
            console.print(Text(f"    unexpected: {line}", style="yellow"))
        for row in result.realized:  # realized.yaml: a measurement that is missing or off its truth
            if not row.realized_ok:
                console.print(Text(f"    realized: {row.target}: {row.status}, {row.realized} vs truth {row.truth} {row.note}".rstrip(),
                                   style="red"), soft_wrap=True)
    tallies = tally_checks(results)
    realized = [row for r in results for row in r.realized]
    if as_json:
        console.print_json(json.dumps({
            "scenarios": [{**r.model_dump(mode="json", exclude={"checks", "realized"}), "passed": r.passed, "recall": r.recall,
                           "realized": [row.as_row() for row in r.realized]}
                          for r in results],
            "checks": [t.as_row() for t in tallies],
            "realized": [row.as_row() for row in realized],
        }))
    elif console.is_terminal:
        console.print(check_table(tallies))
    else:
        console.print(Text(CHECK_TABLE_TITLE))
        for line in plain_lines(tallies):
            console.print(Text(line), soft_wrap=True)
    if not as_json:  # what expected.yaml does not describe, by check (per-scenario lines list targets only)
        for tally in tallies:
            for where in tally.unexpected_targets:
                console.print(Text(f"    unexpected {tally.rule}: {where}", style="yellow"), soft_wrap=True)
    if realized and not as_json:  # scenarios with post-execution billing: the estimate against the bill
        if console.is_terminal:
            console.print(realized_table(realized))
        else:
            console.print(Text(REALIZED_TITLE))
            for line in realized_plain_lines(realized):
                console.print(Text(line), soft_wrap=True)
    if failed:
        raise typer.Exit(int(ExitCode.FAILURE))


@app.command("unit-costs")
def unit_costs(
    last: Annotated[int, typer.Option("--last", min=1, help="Days up to the latest request (default 30).")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON (exact decimals as strings).")] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Cost per request and per successful outcome of each feature and model, from the GenAI spans."""
    from datetime import timedelta

    from spendpilot.lake.otlp.unit_economics import feature_unit_costs
    from spendpilot.savings.pricebook import PriceBook

    settings = _settings(config, home)
    prices = PriceBook.for_home(settings.home)
    rows = feature_unit_costs(settings.lake_dir, prices)
    if not rows:
        err.print("No GenAI requests in the lake: ingest OpenTelemetry spans first (spendpilot ingest FILE).")
        raise typer.Exit(int(ExitCode.NOT_FOUND))
    latest = max(r.last_day for r in rows)
    rows = feature_unit_costs(settings.lake_dir, prices, since=latest - timedelta(days=last - 1), until=latest)
    if as_json:
        console.print_json(json.dumps([
            {**r.model_dump(mode="json"), "cost_per_request": None if r.cost_per_request is None else str(r.cost_per_request),
             "cost_per_success": None if r.cost_per_success is None else str(r.cost_per_success)} for r in rows]))
        return
    console.print(Text(f"Unit costs, {latest - timedelta(days=last - 1)} to {latest} (token prices from the price book)"))
    for r in rows:
        cost = "no price" if r.cost is None else format_money(r.cost, r.currency)
        per_request = "-" if r.cost_per_request is None else _unit_money(r.cost_per_request, r.currency)
        per_success = ("no outcome reported" if not r.outcomes_reported else
                       "no success" if r.cost_per_success is None else _unit_money(r.cost_per_success, r.currency))
        console.print(Text(f"  {r.feature} ({r.provider} {r.model}): {r.requests:,} requests, {cost}; "
                           f"per request {per_request}; per success {per_success}"
                           + (f" [{r.successes:,} of {r.outcomes_reported:,} succeeded]" if r.outcomes_reported else "")
                           + (f" ({r.note})" if r.note else "")))


def _unit_money(amount: Decimal, currency: str) -> str:
    """A per-request cost keeps five decimals: most are fractions of a cent."""
    from spendpilot.domain.money import per_unit

    return per_unit(amount.quantize(Decimal("0.00001")), currency, "unit").removesuffix("/unit")


prices_app = typer.Typer(
    help="The price book: where its EC2 and token prices come from and how old they are; refresh the token prices.",
    no_args_is_help=True,
)
app.add_typer(prices_app, name="prices")


@prices_app.command("show")
def prices_show(
    instance_type: Annotated[list[str] | None, typer.Argument(help="EC2 instance types to price (default: none, only the sources).")] = None,
    region: Annotated[str, typer.Option("--region", help="Region of the EC2 prices shown.")] = "us-east-1",
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """The EC2 table's source and date per region, whether sweeps ask pricing:GetProducts, the token prices' source."""
    from spendpilot.domain.money import per_unit
    from spendpilot.savings.pricebook import PriceBook

    settings = _settings(config, home)
    prices = PriceBook.for_home(settings.home)
    console.print(Text("EC2 on-demand (packaged table):"))
    for table_region, source in prices.ec2_sources():
        console.print(Text(f"  {table_region}: {source.name}, as of {source.as_of} ({source.url})"))
    console.print(Text("  other regions: the us-east-1 price, labelled as such"))
    spot = prices.spot_reference_source()
    console.print(Text(f"EC2 spot reference ranges: {spot.name}, as of {spot.as_of}"))
    live = settings.prices
    console.print(Text(
        "Sweeps ask pricing:GetProducts first ([prices] ec2_live = true"
        + (f", endpoint {live.pricing_endpoint_url}" if live.pricing_endpoint_url else "") + ")"
        if live.ec2_live else "Sweeps use the packaged table ([prices] ec2_live = false)"
    ))
    token = prices.token_price("gpt-4o")
    if token is not None:
        console.print(Text(f"LLM tokens: {token.source.name}, {token.source.as_of}"))
    for name in instance_type or []:
        quote = prices.on_demand(name, region)
        if quote is None:
            console.print(Text(f"{name} ({region}): no price in the packaged table"))
            continue
        console.print(Text(f"{quote.instance_type} {quote.region} on-demand {per_unit(quote.per_hour, quote.currency, 'h')} "
                           f"({quote.source.name}, as of {quote.source.as_of})" + (f"; {quote.note}" if quote.note else "")))


@prices_app.command("refresh")
def prices_refresh(
    source: Annotated[Path, typer.Option("--from", help="litellm's model_prices_and_context_window.json (any release).")],
    litellm_version: Annotated[str | None, typer.Option("--litellm-version", help="The release the file is from, shown as the prices' source.")] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Validate a litellm price file, keep it in the home (overriding the bundled prices), print what changed."""
    from spendpilot.savings.price_refresh import refresh_prices, report_lines

    settings = _settings(config, home)
    try:
        settings.ensure_home()
        report = refresh_prices(source, settings.home, litellm_version=litellm_version)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    for line in report_lines(report):
        console.print(Text(line))


def _store_failure(exc: BaseException) -> str | None:
    """One line for a local store that could not be written or read (a full disk, a file size
    limit, a read-only or broken database), None for anything else."""
    import errno
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    full = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS)
    if isinstance(exc, SQLAlchemyError | sqlite3.Error) or (isinstance(exc, OSError) and exc.errno in full):
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
        return (
            f"a local store could not be written or read ({first}); free disk space or fix the home, then run "
            "`spendpilot doctor` and `spendpilot resume` to finish anything left half-done"
        )
    return None


@app.command(name="allocate")
def allocate_cmd(
    cluster: Annotated[str | None, typer.Option("--cluster", help="Only this cluster (its configured name).")] = None,
    days: Annotated[int, typer.Option("--days", help="Whole UTC days to allocate, ending at the last midnight.")] = 1,
    write: Annotated[bool, typer.Option("--write", help="Store the rows in the lake (replacing those days' rows).")] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Allocate Kubernetes node costs to namespaces and workloads (OpenCost method) plus idle.

    Reads the configured sources (the cluster's objects and its Prometheus usage), prices each
    node (billed cost from the lake when its instance is on the bill, else the price book),
    splits it into CPU, memory and GPU, and charges each pod max(request, usage); shared GPUs
    by their fraction. With --write the rows go into the lake as FOCUS rows (ProviderName
    "Kubernetes"), so `spendpilot spend --by tag:kubernetes.namespace` and chargeback by team
    include them. See docs/kubernetes-allocation.md.
    """
    from rich.table import Table

    from spendpilot.adapters.base import SourceContext
    from spendpilot.agent.collect import collect_snapshot
    from spendpilot.allocation.focus_rows import write_allocation
    from spendpilot.allocation.run import allocate_snapshot
    from spendpilot.runtime import build_services

    settings = _settings(config, home)
    try:
        services = build_services(settings)
        snapshot = collect_snapshot(services.sources, SourceContext(now=services.clock.now(), prices=services.prices))
        results = allocate_snapshot(snapshot, services.prices, days=days, cluster=cluster)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    for gap in snapshot.gaps:
        err.print(Text(f"gap: {gap.label()}: {gap.error}", style="yellow"), soft_wrap=True)
    if not results:
        err.print(Text("no Kubernetes cluster was read; configure a `kubernetes` source (and `prometheus` for usage)",
                       style="red"), soft_wrap=True)
        raise typer.Exit(int(ExitCode.UNAVAILABLE))
    for allocation, missing in results:
        table = Table(title=f"{allocation.cluster}: {allocation.start:%Y-%m-%d} to {allocation.end:%Y-%m-%d} (UTC, end excluded)")
        for column in ("namespace", "core-h", "GiB-h", "GPU-h", "cost"):
            table.add_column(column, justify="left" if column == "namespace" else "right")
        totals: dict[tuple[str, str], list[float]] = {}
        for line in allocation.lines:
            row = totals.setdefault((line.namespace, line.currency), [0.0, 0.0, 0.0])
            row[0] += line.cpu_core_hours
            row[1] += line.ram_gib_hours
            row[2] += line.gpu_hours
        for (ns, currency), amount in sorted(allocation.by_namespace().items(), key=lambda kv: -kv[1]):
            cpu, ram, gpu = totals[(ns, currency)]
            table.add_row(ns, f"{cpu:,.1f}", f"{ram:,.1f}", f"{gpu:,.2f}", format_money(amount, currency))
        for currency, amount in allocation.node_costs.items():
            table.add_row("= node costs", "", "", "", format_money(amount, currency), style="bold")
        console.print(table)
        for reason in missing:
            err.print(Text(f"not priced (left out): {reason}", style="yellow"), soft_wrap=True)
        if write and allocation.lines:
            try:
                report = write_allocation(allocation, settings.lake_dir)
            except SpendpilotError as exc:
                raise _fail(exc) from exc
            console.print(f"stored {report.rows_stored:,} rows in {settings.lake_dir} (replaced {report.rows_replaced:,})")


@app.command(name="agent-usage")
def agent_usage(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show the latest N conversations and sweeps.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """The LLM tokens spendpilot itself spent, and what they cost: per chat conversation and per sweep.

    Counted from every model reply's token usage and priced with the price book (`spendpilot
    prices show`); a model the book does not know is shown as unpriced, never as free. Offline
    (no [llm] model) spendpilot spends nothing and this is empty.
    """
    from rich import box
    from rich.table import Table

    from spendpilot.agent.llm_usage import overall

    services = _services(_settings(config, home))
    rows = services.agent_usage()
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in rows[:limit]]))
        return
    if not rows:
        console.print("No model calls recorded: spendpilot has not used a language model in this home.")
        return
    table = Table(title="spendpilot's own LLM usage", box=box.SIMPLE)
    for column in ("when (UTC)", "what", "id", "model", "calls", "tokens in", "tokens out", "cost"):
        table.add_column(column, justify="right" if column in ("calls", "tokens in", "tokens out", "cost") else "left")
    for r in rows[:limit]:
        table.add_row(f"{r.last_at:%Y-%m-%d %H:%M}", r.scope, r.scope_id, ", ".join(r.models), str(r.calls),
                      f"{r.input_tokens:,}", f"{r.output_tokens:,}", r.cost_text())
    console.print(table)
    total = overall(rows)
    if total is not None:
        console.print(f"All {len(rows)} conversation(s) and sweep(s): {total.line()}")
def _chargeback_period(start: str | None, end: str | None, last: str | None) -> tuple[date | None, date | None, int | None]:
    """--from/--to/--last as ``run_chargeback``'s start, end and last_days (--last in days or weeks)."""
    from datetime import date

    from spendpilot.lake.spend import parse_last

    def day(option: str, text: str | None) -> date | None:
        try:
            return date.fromisoformat(text) if text else None
        except ValueError as exc:
            raise BadArgument(f"{option} {text!r} is not an ISO date such as 2025-05-01") from exc

    last_days = None
    if last:
        parsed = parse_last(last)
        if "last_months" in parsed:
            raise BadArgument(f"--last {last!r}: chargeback periods are in days or weeks (e.g. 30d, 4w); use --from/--to for months")
        last_days = parsed["last_days"]
    return day("--from", start), day("--to", end), last_days


@app.command(name="chargeback")
def chargeback_cmd(
    by: Annotated[str, typer.Option("--by", help="team or feature.")] = "team",
    start: Annotated[str | None, typer.Option("--from", help="First day, ISO, included.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, ISO, included (default: the latest full day of data).")] = None,
    last: Annotated[str | None, typer.Option("--last", help="The period up to --to: 30d, 4w (default 30d).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON (exact decimals as strings).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one row per owner, layer and currency as CSV.")] = False,
    focus_out: Annotated[Path | None, typer.Option(
        "--focus-out", help="Also write the allocated costs as one FOCUS CSV (cloud, Kubernetes and tokens; "
        "team and feature in Tags) that any FOCUS tool, or `spendpilot ingest`, reads.")] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Chargeback / showback: the lake's cost by team or feature across cloud, Kubernetes and tokens.

    Reads the FOCUS lake: bills, `spendpilot allocate --write` rows and `spendpilot token-focus`
    rows. Rows without an owner are the unallocated line, with why (no team tag, Kubernetes idle
    capacity, ...). Bill rows of Kubernetes nodes are replaced by the cluster's allocation, never
    counted twice. Per currency: lake total − replaced = allocated + unallocated, to the cent.
    Owner rules (feature -> team, namespace -> team) live in `[chargeback]`; see docs/chargeback.md.
    """
    from rich.table import Table

    from spendpilot.allocation.chargeback import (
        UNALLOCATED,
        chargeback_csv,
        chargeback_json,
        export_focus,
        run_chargeback,
    )

    settings = _settings(config, home)
    try:
        if as_json and as_csv:
            raise BadArgument("choose one of --json and --csv")
        if by not in ("team", "feature"):
            raise BadArgument(f"--by {by!r}: chargeback is by team or by feature")
        first, last_day, last_days = _chargeback_period(start, end, last)
        result = run_chargeback(settings.lake_dir, settings.chargeback, by="feature" if by == "feature" else "team",
                                start=first, end=last_day, last_days=last_days)
        if focus_out is not None:
            _, written = export_focus(settings.lake_dir, focus_out, settings.chargeback, start=first, end=last_day,
                                      last_days=last_days)
            err.print(Text(f"wrote {written:,} FOCUS rows to {focus_out}", style="dim"), soft_wrap=True)
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    if as_json or as_csv:
        sys.stdout.write(chargeback_json(result) + "\n" if as_json else chargeback_csv(result))
        return
    console.print(Text(f"Chargeback by {result.by}, {result.start} → {result.end} ({result.days} days, UTC) · "
                       "EffectiveCost", style="bold"), soft_wrap=True)
    for summary in result.currencies:
        c = summary.currency
        replaced = (f" − {format_money(summary.replaced_effective, c)} node bill rows replaced by Kubernetes allocation"
                    if summary.replaced_effective else "")
        console.print(Text(
            f"{c}: lake {format_money(summary.lake_effective, c)}{replaced} = {format_money(summary.chargeback_effective, c)}"
            f" = allocated {format_money(summary.allocated_effective, c)} + unallocated "
            f"{format_money(summary.unallocated_effective, c)} ({summary.unallocated_share * 100:.1f} %)"), soft_wrap=True)
        table = Table()
        for column in (result.by, "layer", "billed", "effective", "basis"):
            table.add_column(column, justify="right" if column in ("billed", "effective") else "left")
        for line in result.lines:
            if line.currency == c:
                table.add_row(Text(line.owner), line.layer.value, format_money(line.billed_cost, c),
                              format_money(line.effective_cost, c), Text(line.basis),
                              style="dim italic" if line.owner == UNALLOCATED else None)
        for total in result.layer_totals:
            if total.currency == c:
                table.add_row(f"= {total.layer.value}", "", format_money(total.billed_cost, c),
                              format_money(total.effective_cost, c), f"data up to {total.latest_day}", style="bold")
        console.print(table)
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"), soft_wrap=True)


@app.command(name="report")
def report_cmd(
    html: Annotated[Path, typer.Option("--html", help="Write the report to this HTML file (self-contained).")],
    start: Annotated[str | None, typer.Option("--from", help="First day, ISO, included.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, ISO, included.")] = None,
    last: Annotated[str | None, typer.Option("--last", help="The period up to --to: 30d, 4w (default 30d).")] = None,
    config: ConfigOpt = None,
    home: HomeOpt = None,
) -> None:
    """Write the chargeback / showback report as one HTML file for people who never open a terminal.

    Charts (spend over time, by team, by feature, the unallocated share) are inline SVG; no
    script and nothing fetched from elsewhere. Also the period, data freshness, the top open
    proposals with their estimated monthly savings, and each executed proposal's realized saving
    beside its estimate (as `spendpilot savings`).
    """
    from datetime import UTC, datetime

    from spendpilot.allocation.report import build_report, realized_report_rows, render_report_html

    settings = _settings(config, home)
    services = _services(settings)
    try:
        first, last_day, last_days = _chargeback_period(start, end, last)
        proposals = services.list_proposals([ProposalStatus.PENDING, ProposalStatus.APPROVED])
        data = build_report(settings.lake_dir, settings.chargeback, proposals, now=datetime.now(UTC),
                            start=first, end=last_day, last_days=last_days,
                            realized=realized_report_rows(services.realized_savings()))
    except SpendpilotError as exc:
        raise _fail(exc) from exc
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render_report_html(data), encoding="utf-8")
    err.print(Text(f"wrote {html}", style="dim"), soft_wrap=True)
def _only_the_command_named(args: list[str]) -> tuple[list[typer.models.CommandInfo], list[typer.models.TyperInfo]]:
    """The registered commands and groups as they were, after keeping only the one ``args[0]``
    names (if it names one): Typer builds a click command, reading every signature, for each
    registered command on every run, a tenth of `spendpilot proposals`. The named command's
    options, help and errors are the same; anything else (no command, an option first, a typo
    for which click suggests a name) builds them all as before."""
    before = (app.registered_commands, app.registered_groups)
    if not args or args[0].startswith("-"):
        return before
    name = args[0]
    commands = [c for c in app.registered_commands if (c.name or typer.main.get_command_name(c.callback.__name__ if c.callback else "")) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if len(commands) + len(groups) == 1:
        app.registered_commands, app.registered_groups = commands, groups
    return before


def main() -> None:
    saved = _only_the_command_named(sys.argv[1:])
    try:
        app()
    except SpendpilotError as exc:  # anything not mapped by a command
        err.print(Text(f"error: {exc}", style="red"))
        sys.exit(int(exc.exit_code))
    except Exception as exc:
        line = _store_failure(exc)
        if line is None:
            raise
        err.print(Text(f"error: {line}", style="red"), soft_wrap=True)
        sys.exit(int(ExitCode.FAILURE))
    finally:
        app.registered_commands, app.registered_groups = saved


if __name__ == "__main__":
    main()

"""How ``spendpilot spend`` shows a ``SpendResult``: a rich table, JSON or CSV. Formatting only.

The table rounds to cents for reading; JSON and CSV carry the exact decimals the lake summed,
so a spreadsheet's total matches the lake's to the last digit.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from rich.table import Table
from rich.text import Text

from spendpilot.csv_safe import Cell, write_rows
from spendpilot.domain.money import format_money, per_unit
from spendpilot.lake.spend import Granularity, Source, SpendResult, SpendRow

_SPARKS = "▁▂▃▄▅▆▇█"
_EIGHTHS = " ▏▎▍▌▋▊▉"
BAR_WIDTH = 12
MAX_BUCKET_COLUMNS = 8
"""A time series with more buckets than this shows a sparkline instead of one column each."""

_METRIC_WORDS = {
    "EffectiveCost": "EffectiveCost (amortised, after discounts)",
    "BilledCost": "BilledCost (as invoiced)",
    "ListCost": "ListCost (before discounts)",
}


def sparkline(values: Sequence[Decimal]) -> str:
    """One block per value, scaled between the smallest and largest."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    if not span:
        return _SPARKS[0 if not high else len(_SPARKS) // 2] * len(values)
    return "".join(_SPARKS[int((v - low) / span * (len(_SPARKS) - 1))] for v in values)


def share_bar(share: Decimal, width: int = BAR_WIDTH) -> str:
    """A horizontal bar ``share`` (0 to 1) of ``width`` cells long, in eighths of a cell."""
    if share <= 0:
        return ""
    eighths = int(min(share, Decimal(1)) * width * 8)
    return ("█" * (eighths // 8) + _EIGHTHS[eighths % 8]).rstrip()


def _plain(amount: Decimal | None) -> str:
    """An exact decimal without trailing zeros or exponent (``12.5``, ``0``), '' for None."""
    if amount is None:
        return ""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _rate(amount: Decimal | None, currency: str, unit: str) -> str:
    if amount is None:
        return "unknown"
    places = Decimal("0.01") if abs(amount) >= 1 else Decimal("0.000001")
    return per_unit(amount.quantize(places, rounding=ROUND_HALF_UP).normalize(), currency, unit)


def _pct(value: Decimal | None) -> Text:
    if value is None:
        return Text("new", style="dim")
    return Text(f"{value:+.1f}%", style="red" if value > 0 else "green" if value < 0 else "")


def header_line(result: SpendResult) -> str:
    """Period, which cost, where from and the per-currency totals: what the numbers mean."""
    period = f"{result.start} → {result.end} ({result.days} days"
    period += ", ending at the latest data)" if result.end == result.latest_data else ")"
    totals = " · ".join(format_money(t.amount, t.currency) for t in result.totals) or "nothing"
    source = "FOCUS billing" if result.source is Source.FOCUS else "LLM usage"
    metric = _METRIC_WORDS.get(result.metric, result.metric)
    by = f" by {', '.join(result.group_by)}" if result.group_by else ""
    line = f"Spend {period} · {metric} · {source}{by} · total {totals}"
    if result.previous_start is not None:
        line += f" · compared with {result.previous_start} → {result.previous_end}"
    return line


def total_lines(result: SpendResult) -> list[str]:
    """Per-currency change against the previous period (only when comparing)."""
    if result.previous_start is None:
        return []
    return [
        f"{t.currency}: {format_money(t.amount, t.currency)} vs {format_money(t.previous or 0, t.currency)} "
        f"({format_money(t.delta or 0, t.currency)}, {'new' if t.delta_pct is None else f'{t.delta_pct:+.1f}%'})"
        for t in result.totals
    ]


def spend_table(result: SpendResult) -> Table:
    if result.granularity is Granularity.TOTAL:
        return _totals_table(result)
    return _series_table(result)


def _key_cells(row: SpendRow, keys: Sequence[str]) -> list[Text]:
    cells = [Text(row.keys[k]) for k in keys]  # names from a bill never become markup
    if cells and row.groups > 1:
        cells[0].append(f" ({row.groups} groups)", style="dim")
    return cells


def _totals_table(result: SpendResult) -> Table:
    table = Table(header_style="bold", expand=False)
    for key in result.group_by:
        table.add_column(key)
    table.add_column("Amount", justify="right")
    compare = result.previous_start is not None
    if compare:
        table.add_column("Previous", justify="right")
        table.add_column("Change", justify="right")
        table.add_column("Δ%", justify="right")
    table.add_column("Share", justify="right")
    table.add_column("", no_wrap=True)
    llm = result.source is Source.LLM_USAGE
    if llm:
        for name in ("Requests", "Tokens", "Per request", "Per 1k tokens"):
            table.add_column(name, justify="right")
    for row in result.rows:
        cells: list[Text | str] = [*_key_cells(row, result.group_by), format_money(row.amount, row.currency)]
        if compare:
            cells += [format_money(row.previous or 0, row.currency),
                      format_money(row.delta or 0, row.currency), _pct(row.delta_pct)]
        cells += [f"{row.share * 100:.1f}%", Text(share_bar(row.share), style="cyan")]
        if llm:
            cells += [f"{row.requests or 0:,}", f"{row.tokens or 0:,}",
                      _rate(row.cost_per_request, row.currency, "req"),
                      _rate(row.cost_per_1k_tokens, row.currency, "1k tok")]
        table.add_row(*cells)
    return table


def _series_table(result: SpendResult) -> Table:
    """One line per group and currency: each bucket (or a sparkline when there are many), total."""
    groups: dict[tuple[tuple[str, ...], str], dict[date, SpendRow]] = {}
    for row in result.rows:
        key = (tuple(row.keys.values()), row.currency)
        groups.setdefault(key, {})[row.bucket or result.start] = row
    table = Table(header_style="bold", expand=False)
    for name in result.group_by:
        table.add_column(name)
    wide = len(result.buckets) <= MAX_BUCKET_COLUMNS
    if wide:
        for bucket in result.buckets:
            table.add_column(_bucket_label(bucket, result), justify="right")
    table.add_column(f"Trend ({result.granularity.value})", no_wrap=True)
    table.add_column("Total", justify="right")
    for (_, currency), by_bucket in groups.items():
        first = next(iter(by_bucket.values()))
        values = [by_bucket[b].amount if b in by_bucket else Decimal(0) for b in result.buckets]
        cells: list[Text | str] = list(_key_cells(first, result.group_by))
        if wide:
            cells += [format_money(v, currency) for v in values]
        cells += [Text(sparkline(values), style="cyan"), format_money(sum(values, Decimal(0)), currency)]
        table.add_row(*cells)
    return table


def _bucket_label(bucket: date, result: SpendResult) -> str:
    """The bucket's name, with the days it covers when the period cuts it short (a partial
    month would otherwise read as a drop in spend)."""
    if result.granularity is Granularity.MONTH:
        label = f"{bucket:%Y-%m}"
        last = (bucket.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    elif result.granularity is Granularity.WEEK:
        label, last = f"wk {bucket:%m-%d}", bucket + timedelta(days=6)
    else:
        return f"{bucket:%m-%d}"
    covered = (min(last, result.end) - max(bucket, result.start)).days + 1
    full = (last - bucket).days + 1
    return label if covered >= full else f"{label} ({covered} d)"


def spend_json(result: SpendResult) -> str:
    return result.model_dump_json(indent=2)


def spend_csv(result: SpendResult) -> str:
    """Long format, one line per row: group keys, bucket, currency, exact amounts.

    Written through ``csv_safe``: group keys are tag values and names anyone can set, so a key a
    spreadsheet would run as a formula gets one leading ``'``; the amounts (negative deltas too)
    stay plain numbers."""
    llm = result.source is Source.LLM_USAGE
    header = [*result.group_by]
    if result.granularity is not Granularity.TOTAL:
        header.append(result.granularity.value)
    header += ["currency", "amount", "previous_amount", "delta", "delta_pct", "share", "groups"]
    if llm:
        header += ["requests", "tokens", "cost_per_request", "cost_per_1k_tokens"]
    lines: list[list[Cell]] = [list(header)]
    for row in result.rows:
        line: list[Cell] = [row.keys[k] for k in result.group_by]
        if result.granularity is not Granularity.TOTAL:
            line.append(row.bucket.isoformat() if row.bucket else "")
        line += [row.currency, _plain(row.amount), _plain(row.previous), _plain(row.delta),
                 _plain(row.delta_pct), _plain(row.share), str(row.groups)]
        if llm:
            line += [str(row.requests), str(row.tokens), _plain(row.cost_per_request),
                     _plain(row.cost_per_1k_tokens)]
        lines.append(line)
    out = io.StringIO()
    write_rows(out, lines)
    return out.getvalue()

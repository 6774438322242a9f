"""The ingest summary of one OTLP delivery as lines of text (the CLI prints them; tests read them)."""

from __future__ import annotations

from spendpilot.lake.otlp.store import OtlpIngestReport


def summary_lines(report: OtlpIngestReport) -> list[tuple[str, str]]:
    """``(style, text)`` pairs: the headline first, then skips, restatement, totals, problems.

    The headline's four counts always add up (spans read = stored + skipped + quarantined).
    """
    r = report
    lines = [("", f"{r.source}: OTLP JSON traces · spans read {r.spans_read:,} · GenAI requests "
                  f"stored {r.spans_stored:,} · skipped {r.spans_skipped:,} · "
                  f"quarantined {r.spans_quarantined:,}")]
    for reason, count in r.skipped.items():
        lines.append(("cyan", f"    skipped {count:,} × {reason}"))
    if r.rows_replaced:
        lines.append(("cyan", f"    replaced {r.rows_replaced:,} previously stored requests: "
                              "re-delivered spans (same trace and span id) are stored once"))
    if r.features:
        totals = "; ".join(
            f"{f.feature} {f.requests:,} requests, {f.input_tokens:,} in "
            f"({f.cache_read_input_tokens:,} cached), {f.output_tokens:,} out"
            for f in r.features
        )
        lines.append(("", f"    per feature: {totals}"))
    for reason, count in r.reasons.items():
        lines.append(("yellow", f"    {count:,} × {reason}"))
    if r.examples:
        lines.append(("dim", "    first quarantined spans (file:line span id):"))
        lines += [("", f"      {e.message}") for e in r.examples]
    if r.quarantine_file:
        lines.append(("dim", f"    all quarantined spans (Parquet): {r.quarantine_file.resolve()}"))
    return lines

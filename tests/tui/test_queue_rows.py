"""The queue's rows drawn off the event loop: column widths over every row, the target cut with
an ellipsis, amounts right-aligned, wide characters measured in cells, control characters kept
out of the line, and the risk and status styles carried by their own segments."""

from __future__ import annotations

from decimal import Decimal

from rich.cells import cell_len
from rich.style import Style

from spendpilot.domain import ProposalStatus, ProposalSummary, Risk
from spendpilot.tui.queue_model import prepare
from spendpilot.tui.queue_rows import (
    COLUMNS,
    TARGET_WIDTH,
    column_widths,
    measure_widths,
    row_cells,
)

from .fakes import make_proposal


def _text(segments: tuple) -> str:
    return "".join(s.text for s in segments)


def test_rows_share_column_widths_measured_over_every_row() -> None:
    rows = prepare(ProposalSummary.of(p) for p in (
        make_proposal("p-1", "120"),
        make_proposal("p-long-id-2", "98765", name="x" * 40, risk=Risk.HIGH),
    ))
    lines = [_text(rows.line(e)) for e in rows]
    assert all(cell_len(line) == rows.width for line in [*lines, _text(rows.header)])
    big, small = lines  # biggest saving first
    assert big.split()[0] == "p-long-id-2" and small.startswith(" p-1 ")
    assert "x" * (TARGET_WIDTH - len("ec2_instance:") - 1) + "…" in big  # cut to the column
    # Amounts are right-aligned: both rows end their expected-saving cell in the same column.
    assert big.index("$98,765") + len("$98,765") == small.index("$120") + len("$120")


def test_wide_and_control_characters_keep_the_row_one_line_and_aligned() -> None:
    rows = prepare(ProposalSummary.of(p) for p in (
        make_proposal("p-1", "100", name="訓練ボックス"),  # two cells a character
        make_proposal("p-2", "200", name="a\nb\tc\x1bd"),
    ))
    lines = [_text(rows.line(e)) for e in rows]
    assert all(cell_len(line) == rows.width for line in lines)
    assert "\n" not in lines[0] and "\x1b" not in lines[0] and "ec2_instance:a b c d " in lines[0]
    assert "ec2_instance:訓練ボック… " in lines[1]  # cut at a cell boundary: 13 + 5 × 2 + 1 = 24 cells


def test_risk_and_status_carry_their_own_styles() -> None:
    rows = prepare([ProposalSummary.of(make_proposal("p-1", "100", risk=Risk.HIGH, status=ProposalStatus.FAILED))])
    styled = {s.text.strip(): s.style for s in rows.line(rows[0]) if s.style is not None}
    assert styled == {"high": Style.parse("bold red"), "failed": Style.parse("red")}


def _summary(proposal_id: str, expected: str, low: str, high: str, *, currency: str = "USD",
             name: str = "box", action: str = "stop_instance", status: ProposalStatus = ProposalStatus.PENDING) -> ProposalSummary:
    return ProposalSummary(
        id=proposal_id, rule="idle_gpu_instance", action=action, target_label=f"ec2_instance:{name}",
        target_id=f"i-{proposal_id}", currency=currency, expected=Decimal(expected), low=Decimal(low),
        high=Decimal(high), risk=Risk.MEDIUM, status=status,
    )


def test_the_cheap_width_pass_agrees_with_measuring_every_formatted_cell() -> None:
    """``measure_widths`` formats only each money column's extremes; every column but the range
    must be exactly what measuring every formatted cell gives, and the range never narrower."""
    summaries = [
        _summary("p-1", "999.5", "799.6", "1099.45"),  # rounds up to $1,000 / $1,099: a comma appears
        _summary("p-2", "-12345.4", "-12345.4", "-9"),  # a negative saving: the minus sign counts
        _summary("p-3", "7", "5", "8", currency="CHF", name="訓練ボックス"),  # "CHF 7", wide characters
        _summary("p-longest-id\n", "100", "80", "110", action="switch_to_spot", status=ProposalStatus.APPROVED),
        _summary("p-5", "0.4", "0.2", "0.6", currency="EUR", name="x" * 40),
    ]
    exact = column_widths([row_cells(p) for p in summaries])
    cheap = measure_widths(summaries)
    range_column = [c.key for c in COLUMNS].index("range")
    assert cheap[:range_column] + cheap[range_column + 1:] == exact[:range_column] + exact[range_column + 1:]
    assert cheap[range_column] >= exact[range_column]
    # When one proposal holds both the widest low and the widest high, the range is exact too.
    ordinary = [_summary(f"p-{i}", str(i * 997), str(i * 800), str(i * 1100)) for i in range(1, 40)]
    assert measure_widths(ordinary) == column_widths([row_cells(p) for p in ordinary])
    assert measure_widths([]) == column_widths([])


def test_only_rows_that_are_shown_get_drawn_and_each_once() -> None:
    rows = prepare(_summary(f"p-{i:04d}", str(i), str(i), str(i)) for i in range(1000))
    assert rows.drawn_count == 0  # preparing formats nothing
    first = rows.line(rows[0])
    assert rows.line(rows[0]) is first and rows.drawn_count == 1
    assert _text(first).split()[:2] == ["p-0999", "stop_instance"]
    assert cell_len(_text(rows.line(rows[999]))) == rows.width and rows.drawn_count == 2

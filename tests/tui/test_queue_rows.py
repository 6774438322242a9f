"""The queue's rows drawn off the event loop: column widths over every row, the target cut with
an ellipsis, amounts right-aligned, wide characters measured in cells, control characters kept
out of the line, and the risk and status styles carried by their own segments."""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style

from spendpilot.domain import ProposalStatus, ProposalSummary, Risk
from spendpilot.tui.queue_model import prepare
from spendpilot.tui.queue_rows import TARGET_WIDTH

from .fakes import make_proposal


def _text(segments: tuple) -> str:
    return "".join(s.text for s in segments)


def test_rows_share_column_widths_measured_over_every_row() -> None:
    rows = prepare(ProposalSummary.of(p) for p in (
        make_proposal("p-1", "120"),
        make_proposal("p-long-id-2", "98765", name="x" * 40, risk=Risk.HIGH),
    ))
    lines = [_text(e.line) for e in rows]
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
    lines = [_text(e.line) for e in rows]
    assert all(cell_len(line) == rows.width for line in lines)
    assert "\n" not in lines[0] and "\x1b" not in lines[0] and "ec2_instance:a b c d " in lines[0]
    assert "ec2_instance:訓練ボック… " in lines[1]  # cut at a cell boundary: 13 + 5 × 2 + 1 = 24 cells


def test_risk_and_status_carry_their_own_styles() -> None:
    rows = prepare([ProposalSummary.of(make_proposal("p-1", "100", risk=Risk.HIGH, status=ProposalStatus.FAILED))])
    styled = {s.text.strip(): s.style for s in rows[0].line if s.style is not None}
    assert styled == {"high": Style.parse("bold red"), "failed": Style.parse("red")}

"""CSV that is safe to open in a spreadsheet, and still exact: the one rule every report CSV uses.

**Why.** ``spendpilot spend --csv`` and ``spendpilot chargeback --csv`` are handed to finance, who
open them in Excel, LibreOffice Calc or Google Sheets. Those programs read a cell that begins with
``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(...)`` exfiltrates the sheet, DDE payloads
start programs), and the text in our reports comes from places anyone can write: cloud tags,
resource and service names, OTel span attributes (feature, team), prompt-derived labels. This is
"CSV Injection" (also "Formula Injection"; CWE-1236).

**The rule** follows the OWASP page https://owasp.org/www-community/attacks/CSV_Injection (source
``OWASP/www-community``, ``pages/attacks/CSV_Injection.md``, read 2026-12-03), which lists the
characters no cell may begin with: ``=`` ``+`` ``-`` ``@``, tab (0x09), carriage return (0x0D)
and line feed (0x0A), and recommends prefixing a single quote so the cell is read as text.

* A text cell is prefixed with one ``'`` when it begins with one of those characters, or when
  that character follows leading spaces or quote marks (`` =1+2`` with a space, ``"=1+2``: some
  importers trim spaces or drop a stray quote before deciding), or when it begins with ``'``
  itself (so the prefix is never ambiguous, see *Undoing it*).
* OWASP also warns that a separator or quote inside a value can start a new cell in front of a
  dangerous character. Every field is written with RFC 4180 quoting (Python's ``csv``: a value
  holding ``,``, ``"``, CR or LF is double-quoted, inner quotes doubled), so a reader that
  splits on commas sees one cell per value. Known limit: a spreadsheet that splits a comma file
  on ``;`` or tabs (some locales) and ignores the quotes could still cut ``x;=1+2`` in two; open
  the file with comma as the separator.

**Numbers stay numbers.** A credit, refund or negative ``--compare`` delta such as ``-12.50`` must
stay a number, or finance's sums break. The decision: a cell is *never* prefixed when it is a
number, judged by value, not by which column it sits in: a ``Decimal`` (written in fixed point,
never ``0E-12``), ``int`` or ``float``, or text that is exactly a plain decimal
(``-?digits[.digits]``, what ``spend_output._plain`` writes). Such a cell is a number literal to
every spreadsheet, not a formula, so it is safe as it is. Judging by
value means a writer cannot forget to mark a money column; the price is that a *tag value* that is
exactly ``-2`` is also written bare (and a spreadsheet shows the number -2, which is what it says).
``-2+3`` is not a plain decimal and is prefixed.

**Undoing it.** A tool reading these CSVs gets the original text back with :func:`unescape_cell`:
a cell that begins with ``'`` had exactly one ``'`` added, so remove that one; any other cell is
as written. (Because a text that itself began with ``'`` is prefixed too, this is exact for every
text.) Spreadsheets that honour the prefix show the text without it.

**Not escaped, on purpose.** The FOCUS export (``spendpilot chargeback --focus-out``) is a data
interchange file for other FinOps tools and is ingested again by spendpilot: FOCUS consumers
expect the raw values (a ``'`` in ``ServiceName`` or ``Tags`` would be a different value), and
re-ingest must give back the same names and totals. The lake's own scratch CSVs (Kubernetes
allocation rows, token FOCUS rows, Cost Explorer rows) and the demo/eval input fixtures are
written only to be ingested and are never opened by a person. Those writers keep ``csv`` as is;
open the FOCUS export in a spreadsheet only via an import that reads every column as text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TextIO

PREFIX = "'"
"""The one character put in front of a text cell that a spreadsheet would read as a formula."""

FORMULA_STARTS = frozenset("=+-@\t\r\n")
"""OWASP's list of characters no cell may begin with."""

_LEADING_NOISE = " \u00a0\"'"
"""Skipped before looking for a formula character: spaces, no-break spaces and quote marks."""

_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # ASCII digits only: "-٣" is not a number to Excel

Cell = str | Decimal | int | float | date | None
"""What a row may hold; ``None`` is written as an empty cell."""


def is_plain_number(text: str) -> bool:
    """True for ``12``, ``-12.50``, ``0.0001``: text every spreadsheet reads as a number."""
    return _PLAIN_NUMBER.fullmatch(text) is not None


def escape_cell(value: Cell) -> str:
    """The cell's text, with one ``'`` in front when a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")  # fixed point: DuckDB's zero is Decimal("0E-12"), written "0.000000000000"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = value if isinstance(value, str) else str(value)
    if not text or is_plain_number(text):
        return text
    if text[0] == PREFIX or text[0] in FORMULA_STARTS:
        return PREFIX + text
    rest = text.lstrip(_LEADING_NOISE)
    if rest and rest[0] in FORMULA_STARTS:
        return PREFIX + text
    return text


def unescape_cell(text: str) -> str:
    """The original text of a cell read back from one of these CSVs (see the module docstring)."""
    return text[1:] if text.startswith(PREFIX) else text


def write_rows(out: TextIO, rows: Iterable[Iterable[Cell]]) -> None:
    """Write each row as one ``\\n``-terminated CSV line of escaped cells (header rows too: column
    names can be tag keys)."""
    # Python's writer quotes a field only for the characters of its line terminator (plus the
    # delimiter and quote): with "\n" a lone carriage return in a tag value went out bare and broke
    # the row. Writing with "\r\n" quotes both, and the terminator is swapped back to "\n".
    line = io.StringIO()
    writer = csv.writer(line, lineterminator="\r\n")
    for row in rows:
        line.seek(0)
        line.truncate()
        writer.writerow([escape_cell(c) for c in row])
        out.write(line.getvalue()[:-2] + "\n")

"""Every CSV a person opens in a spreadsheet is formula-safe and still exact (``spendpilot.csv_safe``).

The lake is built through the real ingest with team tags and service names that a spreadsheet
would run as formulas, next to a credit (a legit negative amount) and a previous period whose
``--compare`` deltas are negative. Each writer is run as a user runs it (``run_cli``), its output
read back with ``csv.reader``, and checked with a formula test written here independently of the
module (the OWASP character list), so a bug in ``csv_safe`` cannot hide itself.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.lake.focus_rows import FOCUS_HEADER, USAGE_HEADER, focus_row, usage_row, write_csv

from spendpilot.csv_safe import escape_cell, unescape_cell, write_rows

HYPERLINK = '=HYPERLINK("http://x","y")'
HOSTILE_TEAMS = [HYPERLINK, "+cmd", "@SUM(A1)", "-2+3", "\t=1+2", " =1+2", "'=quoted", "a;=1+2,b"]
"""Tag values anyone can set; each (but the last, which only holds separators) would be a formula."""
HOSTILE_SERVICE = "=cmd|'/c calc'!A1"
STORED_TEAMS = {t.strip(" ") for t in HOSTILE_TEAMS}
"""As the lake keeps them: tag values are trimmed of spaces at ingest (" =1+2" is "=1+2")."""

_FORMULA = re.compile(r"[ \u00a0\"']*[=+\-@\t\r\n]")
_NUMBER = re.compile(r"-?\d+(\.\d+)?(E[+-]?\d+)?", re.IGNORECASE)


def _spreadsheet_would_run(cell: str) -> bool:
    """What a spreadsheet reads as a formula: a cell starting (after spaces/quotes) with one of
    OWASP's characters, unless the cell is just a number (``-12.5`` is a number, not a formula)."""
    return not cell.startswith("'") and _FORMULA.match(cell) is not None and _NUMBER.fullmatch(cell) is None


def _cells(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows, "no CSV"
    return rows


def _assert_safe(rows: list[list[str]]) -> None:
    running = [c for row in rows for c in row if _spreadsheet_would_run(c)]
    assert running == [], f"cells a spreadsheet would run as formulas: {running}"


# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [*HOSTILE_TEAMS, HOSTILE_SERVICE, "-", "=", "\r", "\n-1", '"=1', "'", "-\u0663"])
def test_hostile_text_gets_one_quote_and_comes_back(text: str) -> None:
    escaped = escape_cell(text)
    if text == "a;=1+2,b":
        assert escaped == text  # a separator inside is the writer's quoting job, not a prefix
    else:
        assert escaped == "'" + text
    assert unescape_cell(escaped) == text
    out = io.StringIO()
    write_rows(out, [["before", text, "after"]])
    [[before, cell, after]] = _cells(out.getvalue())
    assert (before, unescape_cell(cell), after) == ("before", text, "after")
    _assert_safe([[cell]])


@pytest.mark.parametrize("value", [Decimal("-12.50"), Decimal("-0.000001"), -3, "-12.5", "-7", "0", "12.25"])
def test_numbers_stay_numbers(value: Decimal | int | str) -> None:
    assert escape_cell(value) == str(value)
    assert Decimal(escape_cell(value)) == Decimal(str(value))


def test_decimals_are_written_in_fixed_point() -> None:
    """DuckDB's DECIMAL(38, 12) zero comes back as ``Decimal("0E-12")``; exact, but not what a
    person (or a strict number parser) expects in a cost column."""
    assert [escape_cell(Decimal(x)) for x in ("0E-12", "-1.5E+2", "-12.500000000000")] == [
        "0.000000000000", "-150", "-12.500000000000"]


@pytest.mark.parametrize("text", ["ml", "Amazon EC2", "2026-03-09", "(unallocated)", "a-b", "x=y", "", "- 2", "-1.", ".5-"])
def test_ordinary_text_is_untouched_or_quoted_only_when_it_must(text: str) -> None:
    escaped = escape_cell(text)
    assert escaped == ("'" + text if text.startswith("-") else text)  # "- 2", "-1." are not numbers
    assert unescape_cell(escaped) == text


# --- the writers, as a user runs them ------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One USD lake: a row per hostile team (1.25 each, Sept 20), a credit of -12.50 for team
    ``ml`` and a hostile service name, and a bigger previous period (Sept 10) so deltas are negative."""
    home = tmp_path_factory.mktemp("csv-safe-home")
    rows = []
    for i, team in enumerate(HOSTILE_TEAMS):
        rows.append(focus_row(i, ChargePeriodStart="2024-09-20 00:00:00", ChargePeriodEnd="2024-09-20 01:00:00",
                              BilledCost="1.25", EffectiveCost="1.25", ListCost="1.25",
                              Tags=json.dumps({"team": team})))
    rows.append(focus_row(20, ChargePeriodStart="2024-09-21 00:00:00", ChargePeriodEnd="2024-09-21 01:00:00",
                          ChargeCategory="Credit", ServiceName=HOSTILE_SERVICE, BilledCost="-12.50",
                          EffectiveCost="-12.50", ListCost="0", Tags=json.dumps({"team": "ml"})))
    for i, team in enumerate(HOSTILE_TEAMS):
        rows.append(focus_row(30 + i, ChargePeriodStart="2024-09-10 00:00:00", ChargePeriodEnd="2024-09-10 01:00:00",
                              BilledCost="4", EffectiveCost="4", ListCost="4", Tags=json.dumps({"team": team})))
    run_cli("ingest", str(write_csv(home / "bill.csv", rows, FOCUS_HEADER)), "--home", str(home),
            env={"SPENDPILOT_HOME": str(home)}, check=True)
    return home


def _run(home: Path, *args: str) -> str:
    return run_cli(*args, "--home", str(home), env={"SPENDPILOT_HOME": str(home)}, check=True).stdout


def test_spend_csv_is_safe_and_exact(hostile_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "spend.csv"
    _run(hostile_home, "spend", "--by", "service,team", "--from", "2024-09-16", "--to", "2024-09-25",
         "--compare", "--csv", "--output", str(target))
    rows = _cells(target.read_text(encoding="utf-8"))
    _assert_safe(rows)
    header, body = rows[0], rows[1:]
    table = [dict(zip(header, row, strict=True)) for row in body]
    teams = {unescape_cell(r["team"]) for r in table}
    assert STORED_TEAMS | {"ml"} <= teams
    hyperlink = next(r for r in table if r["team"] == "'" + HYPERLINK)
    assert (hyperlink["amount"], hyperlink["previous_amount"], hyperlink["delta"]) == ("1.25", "4", "-2.75")
    credit = next(r for r in table if unescape_cell(r["service"]) == HOSTILE_SERVICE)
    assert credit["service"] == "'" + HOSTILE_SERVICE and credit["team"] == "ml"
    assert credit["amount"] == "-12.5"  # bare: a spreadsheet sums it as a number
    assert sum(Decimal(r["amount"]) for r in table) == Decimal("1.25") * len(HOSTILE_TEAMS) - Decimal("12.50")
    assert all(not r["delta"].startswith("'") for r in table)
    separator = next(r for r in table if r["team"] == "a;=1+2,b")
    assert separator["amount"] == "1.25"
    assert '"a;=1+2,b"' in target.read_text(encoding="utf-8")  # one quoted cell for a comma reader


def test_chargeback_csv_is_safe_and_exact(hostile_home: Path) -> None:
    text = _run(hostile_home, "chargeback", "--csv", "--from", "2024-09-16", "--to", "2024-09-25")
    rows = _cells(text)
    _assert_safe(rows)
    header, body = rows[0], rows[1:]
    assert header[:5] == ["team", "layer", "currency", "billed_cost", "effective_cost"]
    owners = {unescape_cell(r[0]): r for r in body}
    assert STORED_TEAMS | {"ml"} <= set(owners)
    assert owners[HYPERLINK][0] == "'" + HYPERLINK and owners["-2+3"][0] == "'-2+3"
    credit = owners["ml"][4]
    assert credit.startswith("-12.5") and Decimal(credit) == Decimal("-12.50")  # the credit: a bare number
    total = sum(Decimal(r[4]) for r in body)
    chargeback = json.loads(_run(hostile_home, "chargeback", "--json", "--from", "2024-09-16", "--to", "2024-09-25"))
    [usd] = chargeback["currencies"]
    assert total == Decimal(usd["chargeback_effective"]) == Decimal("1.25") * len(HOSTILE_TEAMS) - Decimal("12.50")


def test_focus_export_stays_raw_and_reingests_the_same(hostile_home: Path, tmp_path: Path) -> None:
    """``--focus-out`` is interchange data, deliberately not escaped: names and totals come back
    identical through ``spendpilot ingest``."""
    out = tmp_path / "focus.csv"
    first = json.loads(_run(hostile_home, "chargeback", "--json", "--from", "2024-09-16", "--to", "2024-09-25",
                            "--focus-out", str(out)))
    exported = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert HOSTILE_SERVICE in {r["ServiceName"] for r in exported}
    assert {json.loads(r["Tags"]).get("team") for r in exported} >= STORED_TEAMS
    fresh = tmp_path / "fresh"
    run_cli("ingest", str(out), "--home", str(fresh), env={"SPENDPILOT_HOME": str(fresh)}, check=True)
    again = json.loads(_run(fresh, "chargeback", "--json", "--from", "2024-09-16", "--to", "2024-09-25"))
    assert {x["owner"] for x in again["lines"]} == {x["owner"] for x in first["lines"]}
    assert again["currencies"][0]["chargeback_effective"] == first["currencies"][0]["chargeback_effective"]


def test_spend_csv_of_llm_usage_neutralises_feature_names(tmp_path: Path) -> None:
    """Feature names come from usage exports and OTel span attributes: the LLM columns
    (requests, tokens, unit costs) stay numbers next to them, per day."""
    home = tmp_path / "home"
    features = [HYPERLINK, "@SUM(A1)", "-2+3", "support-bot"]
    usage = [usage_row(i, feature=f, day="2025-05-02", cost="0.25") for i, f in enumerate(features)]
    run_cli("ingest", "--llm-usage", str(write_csv(tmp_path / "usage.csv", usage, USAGE_HEADER)), "--home", str(home),
            env={"SPENDPILOT_HOME": str(home)}, check=True)
    text = _run(home, "spend", "--by", "feature,model", "--from", "2025-05-01", "--to", "2025-05-03", "--daily", "--csv")
    rows = _cells(text)
    _assert_safe(rows)
    table = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert {unescape_cell(r["feature"]) for r in table} == set(features)
    assert {r["feature"] for r in table} == {"'" + HYPERLINK, "'@SUM(A1)", "'-2+3", "support-bot"}
    for r in table:
        assert (r["day"], r["model"], r["amount"], r["requests"], r["tokens"]) == (
            "2025-05-02", "gpt-4.1", "0.25", "100", "12000")
        assert Decimal(r["cost_per_request"]) == Decimal("0.0025")

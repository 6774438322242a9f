"""Bad billing and usage inputs, one compact table row each.

Every case is a file (its name decides the format) and what must become of it:

* ``Refused(...)``: one clear line naming the file (and the column or problem), exit code 2,
  nothing written;
* ``Accounted(read, stored, reasons)``: every record read is stored or quarantined with a
  reason (``read == stored + quarantined``), and the quarantine reasons include ``reasons``.

Inputs are built from a valid row (``tests.lake.focus_rows``) with one thing broken, so each
case shows exactly what it attacks.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tests.lake.cur_files import CUR2_CSV, LEGACY_CSV, as_parquet, read_rows
from tests.lake.focus_rows import FOCUS_HEADER, USAGE_HEADER, csv_text, focus_row, usage_row

BATCH = 122_880  # rows the validator reads per batch


@dataclass(frozen=True)
class Refused:
    mentions: tuple[str, ...] = ()
    """Words the one-line message must contain besides the file name."""


@dataclass(frozen=True)
class Accounted:
    read: int
    stored: int
    reasons: tuple[str, ...] = ()
    """Substrings each of which some quarantine reason must contain."""


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    build: Callable[[], bytes]
    expect: Refused | Accounted
    usage: bool = False
    cli: bool = False
    """Also run through the real CLI (a subset, to keep the suite fast)."""
    tags: tuple[str, ...] = field(default_factory=tuple)


# --- builders ---------------------------------------------------------------------------------------


def focus(*rows: dict[str, str], header: list[str] = FOCUS_HEADER, newline: str = "\n") -> bytes:
    return csv_text(rows, header, newline).encode()


def rows(n: int = 3, **changes: str) -> list[dict[str, str]]:
    return [focus_row(i, **changes) for i in range(n)]


def one_bad(column: str, value: str, n: int = 3) -> Callable[[], bytes]:
    """``n`` valid rows, the second with ``column`` set to ``value``."""
    return lambda: focus(*[focus_row(i, **({column: value} if i == 1 else {})) for i in range(n)])


def edit_line(index: int, edit: Callable[[str], str], n: int = 5, tags: bool = True
              ) -> Callable[[], bytes]:
    """``n`` rows as CSV lines with line ``index`` (0 = header) edited as text."""

    def build() -> bytes:
        lines = csv_text([focus_row(i, **({} if tags else {"Tags": "NULL"})) for i in range(n)]
                         ).splitlines()
        lines[index] = edit(lines[index])
        return ("\n".join(lines) + "\n").encode()

    return build


def header_line(header: list[str] = FOCUS_HEADER) -> str:
    return ",".join(header)


def parquet(columns: dict[str, pa.Array]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()


def parquet_rows(n: int = 3, **typed: pa.Array) -> Callable[[], bytes]:
    """``n`` valid rows as an all-text Parquet file, with some columns replaced by ``typed``."""

    def build() -> bytes:
        valid = [focus_row(i) for i in range(n)]
        columns = {name: pa.array([r[name] for r in valid]) for name in FOCUS_HEADER}
        columns.update(typed)
        return parquet(columns)

    return build


def usage_csv(*rows: dict[str, str], header: list[str] = USAGE_HEADER) -> bytes:
    return csv_text(rows, header).encode()


def jsonl(*records: object, raw: tuple[str, ...] = ()) -> bytes:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records] + list(raw)
    return ("\n".join(lines) + "\n").encode()


def usage_record(i: int = 0, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {k: v for k, v in usage_row(i).items()}
    for name in ("requests", "input_tokens", "cached_input_tokens", "output_tokens"):
        row[name] = int(str(row[name]))
    row["cost"] = 0.25
    row.update(changes)
    return row


def whole_batch_bad_csv() -> bytes:
    header, bad, good = csv_text([focus_row(0, BilledCost="n/a"), focus_row(1)]).splitlines()
    return (header + "\n" + (bad + "\n") * (BATCH + 7) + good + "\n").encode()


def whole_batch_bad_parquet() -> bytes:
    bad, good = focus_row(0, EffectiveCost="n/a"), focus_row(1)
    return parquet({n: pa.array([bad[n]] * (BATCH + 7) + [good[n]]) for n in FOCUS_HEADER})


def gz(data: bytes) -> bytes:
    return gzip.compress(data)


NOT_ISO = ("ISO 8601",)
RANGE = ("out of range",)
QUOTE = ("unterminated or stray quote",)
D = Decimal

FOCUS_CASES: list[Case] = [
    # --- whole files that are not FOCUS CSV: refused, nothing written
    Case("csv-zero-byte-file", "empty.csv", lambda: b"", Refused(("empty file",))),
    Case("csv-missing-required-column", "no_cost.csv",
         lambda: focus(*rows(), header=[h for h in FOCUS_HEADER if h != "BilledCost"]),
         Refused(("BilledCost",))),
    Case("csv-not-focus-at-all", "invoice.csv", lambda: b"invoice,amount\nINV-1,12.50\n",
         Refused(("missing mandatory column",))),
    Case("csv-semicolon-delimiter", "semicolons.csv",
         lambda: focus(*rows()).replace(b",", b";"), Refused(("not comma-separated",))),
    Case("csv-tab-delimiter", "tabs.csv",
         lambda: focus(*rows()).replace(b",", b"\t"), Refused(("not comma-separated",))),
    Case("csv-duplicate-header", "dup.csv",
         lambda: focus(*rows(), header=[*FOCUS_HEADER, "BilledCost"]),
         Refused(("more than once", "BilledCost"))),
    Case("csv-duplicate-header-other-case", "dup_case.csv",
         lambda: focus(*rows(), header=[*FOCUS_HEADER, "billedcost"]),
         Refused(("more than once", "BilledCost"))),
    Case("csv-binary-garbage", "garbage.csv", lambda: bytes(range(256)) * 64,
         Refused(("not a readable CSV",))),
    Case("csv-latin1-header", "latin1_header.csv",
         lambda: (header_line() + ",Coût\n").encode("latin-1"), Refused(("not a readable CSV",))),
    Case("csv-gzip-bytes-named-csv", "compressed.csv", lambda: gz(focus(*rows())),
         Refused(("gzip-compressed", ".csv.gz")), cli=True),
    Case("csv-parquet-bytes-named-csv", "really_parquet.csv", parquet_rows(),
         Refused(("Parquet file",))),
    Case("csv-gz-truncated", "truncated.csv.gz",
         lambda: gz(focus(*rows(400)))[:-200], Refused(("could not be read as CSV",))),
    Case("csv-html-error-page", "download.csv",
         lambda: b"<html><body><h1>403 Forbidden</h1></body></html>\n",
         Refused(("missing mandatory column",))),
    Case("xlsx-spreadsheet", "bill.xlsx", lambda: b"PK\x03\x04 not really a workbook",
         Refused(("unsupported file type",))),
    # --- layout: every record stored or quarantined
    Case("csv-header-only", "header_only.csv", lambda: (header_line() + "\n").encode(),
         Accounted(0, 0)),
    Case("csv-header-only-no-newline-crlf", "header_only_crlf.csv",
         lambda: header_line().encode() + b"\r\n", Accounted(0, 0)),
    Case("csv-utf8-bom", "bom.csv", lambda: b"\xef\xbb\xbf" + focus(*rows()), Accounted(3, 3)),
    Case("csv-crlf-line-endings", "crlf.csv", lambda: focus(*rows(), newline="\r\n"),
         Accounted(3, 3)),
    Case("csv-cr-only-line-endings", "mac.csv", lambda: focus(*rows(), newline="\r"),
         Accounted(3, 3)),
    Case("csv-mixed-line-endings", "mixed.csv",
         lambda: focus(*rows(2), newline="\r\n") + focus(*rows(2)).split(b"\n", 1)[1],
         Accounted(4, 4)),
    Case("csv-mixed-line-endings-with-unclosed-quote", "mixed_quote.csv",
         lambda: focus(*rows(2), newline="\r\n") + b'"' + focus(*rows(2)).split(b"\n", 1)[1],
         Accounted(4, 3, QUOTE)),
    Case("csv-blank-lines-between-rows", "blank_lines.csv",
         lambda: focus(*rows()).replace(b"\n", b"\n\n"), Accounted(3, 3)),
    Case("csv-whitespace-only-line", "spaces_line.csv", edit_line(2, lambda _: "   "),
         Accounted(5, 4, ("too few fields",))),
    Case("csv-row-with-extra-field", "extra_field.csv", edit_line(3, lambda s: s + ",surplus"),
         Accounted(5, 4, ("too many fields",))),
    Case("csv-row-with-missing-fields", "short_row.csv",
         edit_line(3, lambda s: s.rsplit(",", 3)[0]), Accounted(5, 4, ("too few fields",))),
    Case("csv-no-trailing-newline", "no_newline.csv", lambda: focus(*rows()).rstrip(b"\n"),
         Accounted(3, 3)),
    Case("csv-huge-field-3mb", "huge_field.csv", one_bad("ResourceId", "x" * 3_000_000),
         Accounted(3, 2, ("line too long",))),
    Case("csv-nul-byte-in-field", "nul.csv", one_bad("ServiceName", "Amazon\x00EC2"),
         Accounted(3, 3)),
    Case("csv-latin1-bytes-in-a-row", "latin1_row.csv",
         lambda: focus(*rows()).replace(b"Amazon EC2", "Amazon Élastic".encode("latin-1"), 1),
         Accounted(3, 2, ("not UTF-8",))),
    Case("csv-legit-multiline-quoted-field", "multiline.csv",
         one_bad("ServiceName", "Amazon\nEC2"), Accounted(3, 3)),
    Case("csv-extra-columns-x-prefixed", "extras.csv",
         lambda: focus(*[{**r, **{f"x_col{i}": str(i) for i in range(300)}} for r in rows()],
                       header=[*FOCUS_HEADER, *[f"x_col{i}" for i in range(300)]]),
         Accounted(3, 3)),
    Case("csv-header-case-and-spaces", "loose_header.csv",
         lambda: focus(*rows()).replace(b"BilledCost", b" billedcost ", 1), Accounted(3, 3)),
    Case("csv-column-named-like-a-partition", "provider_col.csv",
         lambda: focus(*[{**r, "provider": "evil"} for r in rows()],
                       header=[*FOCUS_HEADER, "provider"]), Accounted(3, 3)),
    Case("csv-gzip-valid", "ok.csv.gz", lambda: gz(focus(*rows())), Accounted(3, 3)),
    Case("csv-duplicate-rows", "dup_rows.csv", lambda: focus(*(rows(2) * 2)), Accounted(4, 4)),
    # --- quotes
    Case("csv-unclosed-quote-first-row", "quote_first.csv",
         edit_line(1, lambda s: '"' + s, tags=False), Accounted(5, 4, QUOTE)),
    Case("csv-unclosed-quote-before-a-quoted-row", "quote_before_quoted.csv",
         lambda: edit_line(2, lambda s: '"' + s.replace('"{""team"": ""ml""}"', "NULL"))(),
         Accounted(5, 4, QUOTE), cli=True),
    Case("csv-unclosed-quote-last-row", "quote_last.csv", edit_line(5, lambda s: '"' + s),
         Accounted(5, 4, QUOTE)),
    Case("csv-unclosed-quote-in-last-field", "quote_last_field.csv",
         edit_line(3, lambda s: s.rsplit(",", 1)[0] + ',"{', tags=False), Accounted(5, 4, QUOTE)),
    Case("csv-quote-never-closes-rest-of-file", "quote_swallows.csv",
         edit_line(2, lambda s: s.replace("AWS", '"AWS'), n=40, tags=False),
         Accounted(40, 39, QUOTE)),
    Case("csv-two-unclosed-quotes-pair-across-rows", "quote_pair.csv",
         lambda: edit_line(4, lambda s: s.replace("AWS", 'AWS"'), tags=False)().replace(
             b"Amazon EC2", b'"Amazon EC2', 1), Accounted(5, 4, QUOTE)),  # AWS" is literal text
    Case("csv-text-after-closing-quote", "after_quote.csv",
         edit_line(3, lambda s: s.replace("AWS", '"AWS"x')), Accounted(5, 4, QUOTE)),
    Case("csv-quote-inside-unquoted-field", "inner_quote.csv",
         edit_line(3, lambda s: s.replace("Amazon EC2", 'Amazon "EC2')), Accounted(5, 5)),
    # --- values
    Case("csv-negative-cost-is-a-refund", "refund.csv", one_bad("BilledCost", "-12.50"),
         Accounted(3, 3)),
    Case("csv-cost-nan", "nan.csv", one_bad("BilledCost", "NaN"), Accounted(3, 2, ("not a decimal",))),
    Case("csv-cost-infinity", "inf.csv", one_bad("EffectiveCost", "Infinity"),
         Accounted(3, 2, RANGE)),
    Case("csv-cost-overflow-26-digits", "overflow.csv",
         one_bad("EffectiveCost", "99999999999999999999999999"), Accounted(3, 2, RANGE)),
    Case("csv-cost-one-trillion", "trillion.csv", one_bad("ListCost", "1000000000000"),
         Accounted(3, 2, RANGE)),
    Case("csv-cost-exponent-1e30", "exp30.csv", one_bad("BilledCost", "1e30"),
         Accounted(3, 2, RANGE)),
    Case("csv-cost-thousands-separator", "thousands.csv", one_bad("BilledCost", "1,234.50"),
         Accounted(3, 2, ("not a decimal",))),
    Case("csv-cost-currency-symbol", "dollar.csv", one_bad("BilledCost", "$5.00"),
         Accounted(3, 2, ("not a decimal",))),
    Case("csv-cost-exponent-small", "exp.csv", one_bad("BilledCost", "1.5e2"), Accounted(3, 3)),
    Case("csv-cost-13-decimals", "decimals.csv", one_bad("BilledCost", "0.0000000000001"),
         Accounted(3, 3)),
    Case("csv-currency-lowercase", "usd.csv", one_bad("BillingCurrency", "usd"),
         Accounted(3, 2, ("ISO 4217",))),
    Case("csv-currency-name", "dollars.csv", one_bad("BillingCurrency", "Dollars"),
         Accounted(3, 2, ("ISO 4217",))),
    Case("csv-charge-category-unknown", "refund_cat.csv", one_bad("ChargeCategory", "Refund"),
         Accounted(3, 2, ("allowed values",))),
    Case("csv-charge-category-lowercase", "usage_cat.csv", one_bad("ChargeCategory", "usage"),
         Accounted(3, 2, ("allowed values",))),
    Case("csv-tags-not-json", "tags.csv", one_bad("Tags", "team=ml"),
         Accounted(3, 2, ("JSON object",))),
    Case("csv-tags-json-array", "tags_array.csv", one_bad("Tags", '["ml"]'),
         Accounted(3, 2, ("JSON object",))),
    Case("csv-provider-path-traversal", "traversal.csv", lambda: focus(*rows(2, ProviderName="../../etc")),
         Accounted(2, 2)),
    Case("csv-provider-unicode", "unicode.csv", lambda: focus(*rows(2, ProviderName="Ωmega ☁")),
         Accounted(2, 2)),
    # --- missing values
    Case("csv-null-lowercase-optional", "null_lower.csv", one_bad("CommitmentDiscountId", "null"),
         Accounted(3, 3)),
    Case("csv-null-mixed-case-optional", "null_mixed.csv", one_bad("CommitmentDiscountId", "nUlL"),
         Accounted(3, 3)),
    Case("csv-null-titlecase-required", "null_title.csv", one_bad("ProviderName", "Null"),
         Accounted(3, 2, ("missing value",))),
    Case("csv-null-quoted-required", "null_quoted.csv",
         edit_line(2, lambda s: s.replace("AWS", '"NULL"')), Accounted(5, 4, ("missing value",))),
    Case("csv-empty-required-field", "empty_field.csv", one_bad("BillingAccountId", ""),
         Accounted(3, 2, ("missing value",))),
    Case("csv-every-row-null-required", "all_null.csv",
         lambda: focus(*rows(4, BilledCost="null")), Accounted(4, 0, ("missing value",))),
    # --- dates
    Case("csv-date-us-short-spreadsheet", "d_us.csv", one_bad("BillingPeriodStart", "4/1/25"),
         Accounted(3, 2, NOT_ISO), cli=True),
    Case("csv-date-european-dots", "d_eu.csv", one_bad("ChargePeriodStart", "10.09.2024"),
         Accounted(3, 2, NOT_ISO)),
    Case("csv-date-slashes-year-first", "d_slash.csv", one_bad("ChargePeriodStart", "2024/09/10"),
         Accounted(3, 2, NOT_ISO)),
    Case("csv-date-compact", "d_compact.csv", one_bad("ChargePeriodStart", "20240910"),
         Accounted(3, 2, NOT_ISO)),
    Case("csv-date-month-name", "d_name.csv", one_bad("ChargePeriodStart", "Sep 10, 2024"),
         Accounted(3, 2, NOT_ISO)),
    Case("csv-date-epoch-seconds", "d_epoch.csv", one_bad("ChargePeriodStart", "1725926400"),
         Accounted(3, 2, NOT_ISO)),
    Case("csv-date-year-4", "d_year4.csv", one_bad("BillingPeriodStart", "0004-01-25"),
         Accounted(3, 2, ("not a real billing date",))),
    Case("csv-date-year-9999", "d_9999.csv", one_bad("ChargePeriodEnd", "9999-12-31 00:00:00"),
         Accounted(3, 2, ("not a real billing date",))),
    Case("csv-date-impossible-day", "d_31.csv", one_bad("ChargePeriodStart", "2024-09-31 00:00:00"),
         Accounted(3, 2, ("not a timestamp",))),
    Case("csv-date-offset-out-of-range", "d_tz25.csv",
         one_bad("ChargePeriodStart", "2024-09-02T00:00:00+25:00"), Accounted(3, 2, NOT_ISO)),
    Case("csv-date-offset-valid", "d_tz.csv",
         one_bad("ChargePeriodStart", "2024-09-02T05:30:00+05:30"), Accounted(3, 3)),
    Case("csv-date-lowercase-t-z", "d_lower.csv",
         one_bad("ChargePeriodStart", "2024-09-02t00:00:00z"), Accounted(3, 2, NOT_ISO)),
    Case("csv-charge-end-before-start", "d_order.csv",
         one_bad("ChargePeriodEnd", "2024-09-01 00:00:00"),
         Accounted(3, 2, ("ChargePeriodEnd before ChargePeriodStart",))),
    Case("csv-billing-end-before-start", "d_border.csv",
         one_bad("BillingPeriodEnd", "2024-08-01 00:00:00"),
         Accounted(3, 2, ("BillingPeriodEnd before BillingPeriodStart",))),
    # --- scale
    Case("csv-whole-read-batch-bad", "batch_bad.csv", whole_batch_bad_csv,
         Accounted(BATCH + 8, 1, ("not a decimal",))),
    # --- Parquet
    Case("parquet-typed-valid", "typed.parquet",
         parquet_rows(BilledCost=pa.array([D("1.5")] * 3, pa.decimal128(20, 4)),
                      ChargePeriodStart=pa.array([datetime(2024, 9, 1 + i) for i in range(3)]),
                      ChargePeriodEnd=pa.array([datetime(2024, 9, 1 + i, 1) for i in range(3)])),
         Accounted(3, 3)),
    Case("parquet-missing-required-column", "no_cost.parquet",
         lambda: parquet({n: pa.array([focus_row(0)[n]]) for n in FOCUS_HEADER if n != "ListCost"}),
         Refused(("ListCost",))),
    Case("parquet-truncated", "torn.parquet", lambda: parquet_rows()()[:-100],
         Refused(("not a readable Parquet",))),
    Case("parquet-csv-bytes", "csv_inside.parquet", lambda: focus(*rows()),
         Refused(("not a readable Parquet",))),
    Case("parquet-duplicate-columns", "dup.parquet",
         lambda: parquet_dup(), Refused(("more than once",))),
    Case("parquet-zero-rows", "empty.parquet", parquet_rows(0), Accounted(0, 0)),
    Case("parquet-bool-cost", "bool.parquet",
         parquet_rows(BilledCost=pa.array([True, False, True])), Accounted(3, 0, ("not a decimal",))),
    Case("parquet-nan-and-inf-double-cost", "nan.parquet",
         parquet_rows(EffectiveCost=pa.array([float("nan"), float("inf"), 1.5])),
         Accounted(3, 1, ("not a decimal", "out of range"))),
    Case("parquet-int64-max-cost", "int64.parquet",
         parquet_rows(ListCost=pa.array([2**63 - 1, 1, 2], pa.int64())), Accounted(3, 2, RANGE)),
    Case("parquet-decimal-38-digits", "dec38.parquet",
         parquet_rows(BilledCost=pa.array([D("9" * 38), D(1), D(2)], pa.decimal128(38, 0))),
         Accounted(3, 2, RANGE)),
    Case("parquet-timestamp-1970", "epoch.parquet",
         parquet_rows(ChargePeriodStart=pa.array([datetime(1970, 1, 1)] * 3)),
         Accounted(3, 0, ("not a real billing date",))),
    Case("parquet-timestamp-with-zone", "tz.parquet",
         parquet_rows(ChargePeriodStart=pa.array(
             [datetime(2024, 9, 1)] * 3, pa.timestamp("us", tz="Asia/Kolkata"))),
         Accounted(3, 3)),
    Case("parquet-spreadsheet-date-strings", "dates.parquet",
         parquet_rows(BillingPeriodStart=pa.array(["9/1/24"] * 3)), Accounted(3, 0, NOT_ISO)),
    Case("parquet-null-typed-column", "nulltype.parquet",
         parquet_rows(CommitmentDiscountId=pa.nulls(3)), Accounted(3, 3)),
    Case("parquet-null-strings-required", "nullstr.parquet",
         parquet_rows(ServiceName=pa.array(["null", "NULL", "Amazon EC2"])),
         Accounted(3, 1, ("missing value",))),
    Case("parquet-tags-as-list", "tags_list.parquet",
         parquet_rows(Tags=pa.array([["ml"], ["a", "b"], []])), Accounted(3, 0, ("JSON object",))),
    Case("parquet-tags-as-struct", "tags_struct.parquet",
         parquet_rows(Tags=pa.array([{"team": "ml"}] * 3)), Accounted(3, 3)),
    Case("parquet-whole-read-batch-bad", "batch_bad.parquet", whole_batch_bad_parquet,
         Accounted(BATCH + 8, 1, ("not a decimal",))),
]


def parquet_dup() -> bytes:
    valid = focus_row(0)
    names = [*FOCUS_HEADER, "BilledCost"]
    arrays = [pa.array([valid[n]]) for n in names]
    out = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, names=names), out)
    return out.getvalue()


def usage(*changes: dict[str, str]) -> Callable[[], bytes]:
    """Three valid usage rows (three days), the i-th updated with ``changes[i]``."""
    return lambda: usage_csv(*[usage_row(i, **(changes[i] if i < len(changes) else {}))
                               for i in range(3)])


U = {"usage": True}
USAGE_CASES: list[Case] = [
    Case("usage-csv-missing-required-column", "u_missing.csv",
         lambda: usage_csv(usage_row(0), header=[h for h in USAGE_HEADER if h != "output_tokens"]),
         Refused(("output_tokens",)), **U),
    Case("usage-csv-is-a-focus-file", "u_focus.csv", lambda: focus(*rows()),
         Refused(("missing mandatory column",)), **U),
    Case("usage-csv-header-only", "u_header.csv", lambda: ",".join(USAGE_HEADER).encode() + b"\n",
         Accounted(0, 0), **U),
    Case("usage-csv-negative-tokens", "u_neg.csv", usage({}, {"input_tokens": "-5"}),
         Accounted(3, 2, ("negative count",)), **U),
    Case("usage-csv-fractional-requests", "u_frac.csv", usage({"requests": "1.5"}),
         Accounted(3, 2, ("not an integer",)), **U),
    Case("usage-csv-token-overflow", "u_tok.csv", usage({"output_tokens": "100000000000000000000"}),
         Accounted(3, 2, RANGE), cli=True, **U),
    Case("usage-csv-cost-overflow", "u_cost.csv", usage({"cost": "1e15"}),
         Accounted(3, 2, RANGE), **U),
    Case("usage-csv-day-spreadsheet", "u_day.csv", usage({"day": "5/1/25"}),
         Accounted(3, 2, ("ISO 8601 date",)), **U),
    Case("usage-csv-day-is-a-timestamp", "u_ts.csv", usage({"day": "2025-05-01T00:00:00Z"}),
         Accounted(3, 2, ("ISO 8601 date",)), **U),
    Case("usage-csv-day-year-1900", "u_1900.csv", usage({"day": "1900-05-01"}),
         Accounted(3, 2, ("not a real billing date",)), **U),
    Case("usage-csv-null-feature", "u_null.csv", usage({"feature": "NULL"}, {"feature": "null"}),
         Accounted(3, 1, ("missing value",)), **U),
    Case("usage-csv-unclosed-quote", "u_quote.csv",
         lambda: usage_csv(*[usage_row(i) for i in range(4)]).replace(b"openai", b'"openai', 2),
         Accounted(4, 2, QUOTE), **U),
    Case("usage-csv-latin1-row", "u_latin.csv",
         lambda: usage(*[{}, {"feature": "résumé"}])().replace("résumé".encode(),
                                                                 "résumé".encode("latin-1")),
         Accounted(3, 2, ("not UTF-8",)), **U),
    Case("usage-wrong-extension", "usage.txt", usage(), Refused(("unsupported file type",)), **U),
    Case("usage-jsonl-bad-json-line", "u_bad.jsonl",
         lambda: jsonl(usage_record(0), usage_record(1), raw=('{"day": "2025-05-03", oops',)),
         Accounted(3, 2, ("malformed row",)), **U),
    Case("usage-jsonl-array-line", "u_array.jsonl", lambda: jsonl(usage_record(0), [1, 2, 3]),
         Accounted(2, 1, ("malformed row",)), **U),
    Case("usage-jsonl-scalar-line", "u_scalar.jsonl", lambda: jsonl(usage_record(0), "42"),
         Accounted(2, 1, ("malformed row",)), **U),
    Case("usage-jsonl-missing-field", "u_gap.jsonl",
         lambda: jsonl(usage_record(0), {k: v for k, v in usage_record(1).items() if k != "cost"}),
         Accounted(2, 1, ("missing value",)), **U),
    Case("usage-jsonl-nan-cost", "u_nan.jsonl", lambda: jsonl(usage_record(0), raw=(
        json.dumps(usage_record(1)).replace("0.25", "NaN"),)), Accounted(2, 1, ("not a decimal",)),
         **U),
    Case("usage-jsonl-nested-count", "u_nested.jsonl",
         lambda: jsonl(usage_record(0), usage_record(1, requests=[1])),
         Accounted(2, 1, ("not an integer",)), **U),
    Case("usage-jsonl-huge-integer", "u_huge.jsonl",
         lambda: jsonl(usage_record(0), usage_record(1, input_tokens=10**30)),
         Accounted(2, 1, RANGE), **U),
    Case("usage-jsonl-numbers-as-strings", "u_str.jsonl",
         lambda: jsonl(usage_record(0, requests="12", cost="0.5")), Accounted(1, 1), **U),
    Case("usage-jsonl-bom", "u_bom.jsonl", lambda: b"\xef\xbb\xbf" + jsonl(usage_record(0)),
         Accounted(1, 1), **U),
    Case("usage-jsonl-gzip", "u.jsonl.gz", lambda: gz(jsonl(usage_record(0), usage_record(1))),
         Accounted(2, 2), **U),
    Case("usage-jsonl-zero-byte", "u_empty.jsonl", lambda: b"", Accounted(0, 0), **U),
    Case("usage-jsonl-every-line-garbage", "u_garbage.jsonl", lambda: b"not json\n{broken\n",
         Refused(("no line is a JSON object",)), **U),
    Case("usage-jsonl-other-json", "u_other.jsonl", lambda: jsonl({"a": 1}, {"b": 2}),
         Refused(("missing mandatory column",)), **U),
]

# --- AWS Cost and Usage Reports (issue 7): the samples in tests/data/cur with one thing broken


def cur(sample: Path, edit: Callable[[list[dict[str, str]]], None] = lambda rows: None,
        header: Callable[[list[str]], list[str]] = lambda names: names) -> Callable[[], bytes]:
    """The 13-row CUR sample as CSV, with rows changed by ``edit`` and the header by ``header``."""

    def build() -> bytes:
        names, sample_rows = read_rows(sample)
        edit(sample_rows)
        kept = header(list(names))
        out = io.StringIO()
        writer = csv.DictWriter(out, kept, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(sample_rows)
        return out.getvalue().encode()

    return build


def cur_cell(sample: Path, row: int, column: str, value: str) -> Callable[[], bytes]:
    def edit(sample_rows: list[dict[str, str]]) -> None:
        sample_rows[row][column] = value

    return cur(sample, edit)


def cur_parquet(sample: Path, row: int, column: str, value: str) -> Callable[[], bytes]:
    """The sample as typed Parquet (``tests.lake.cur_files.as_parquet``) with one cell changed."""

    def build() -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "sample.csv"
            source.write_bytes(cur_cell(sample, row, column, value)())
            return as_parquet(source, Path(folder) / "sample.parquet").read_bytes()

    return build


def cur_line(sample: Path, index: int, edit: Callable[[str], str]) -> Callable[[], bytes]:
    def build() -> bytes:
        lines = sample.read_text(encoding="utf-8").splitlines()
        lines[index] = edit(lines[index])
        return ("\n".join(lines) + "\n").encode()

    return build


L, C2 = LEGACY_CSV, CUR2_CSV
LT, COST, START = "lineItem/LineItemType", "lineItem/UnblendedCost", "lineItem/UsageStartDate"
CUR_CASES: list[Case] = [
    Case("cur-legacy-undocumented-line-item-type", "cur_edp.csv", cur_cell(L, 0, LT, "EdpDiscount"),
         Accounted(13, 12, ("lineItem/LineItemType: not a line item type AWS documents",))),
    Case("cur-legacy-line-item-type-other-case", "cur_case.csv", cur_cell(L, 0, LT, "usage"),
         Accounted(13, 12, ("lineItem/LineItemType: not a line item type",))),
    Case("cur2-line-item-type-blank", "cur2_no_type.csv",
         cur_cell(C2, 1, "line_item_line_item_type", ""),
         Accounted(13, 12, ("line_item_line_item_type: missing value",))),
    Case("cur-legacy-cost-with-thousands-comma", "cur_comma.csv", cur_cell(L, 1, COST, "1,100.00"),
         Accounted(13, 12, ("lineItem/UnblendedCost: not a decimal",))),
    Case("cur2-cost-nan", "cur2_nan.csv", cur_cell(C2, 1, "line_item_unblended_cost", "NaN"),
         Accounted(13, 12, ("line_item_unblended_cost: not a decimal",))),
    Case("cur-legacy-cost-astronomical", "cur_huge.csv", cur_cell(L, 1, COST, "1e30"),
         Accounted(13, 12, ("lineItem/UnblendedCost: out of range",))),
    Case("cur-legacy-spreadsheet-date", "cur_date.csv", cur_cell(L, 0, START, "9/10/24 0:00"),
         Accounted(13, 12, ("lineItem/UsageStartDate: not an ISO 8601",))),
    Case("cur2-billing-period-blank", "cur2_period.csv",
         cur_cell(C2, 2, "bill_billing_period_start_date", ""),
         Accounted(13, 12, ("bill_billing_period_start_date: missing value",))),
    Case("cur-legacy-usage-ends-before-it-starts", "cur_backwards.csv",
         cur_cell(L, 0, "lineItem/UsageEndDate", "2024-09-09T23:00:00Z"),
         Accounted(13, 12, ("ChargePeriodEnd before ChargePeriodStart",))),
    Case("cur-legacy-sp-covered-usage-without-effective-cost", "cur_sp.csv",
         cur_cell(L, 2, "savingsPlan/SavingsPlanEffectiveCost", ""),
         Accounted(13, 12, ("EffectiveCost of a SavingsPlanCoveredUsage line",))),
    Case("cur-legacy-ri-fee-with-unreadable-unused-fee", "cur_rifee.csv",
         cur_cell(L, 6, "reservation/UnusedRecurringFee", "n/a"),
         Accounted(13, 12, ("reservation/UnusedRecurringFee: not a decimal",))),
    Case("cur2-lowercase-currency", "cur2_usd.csv", cur_cell(C2, 0, "line_item_currency_code", "usd"),
         Accounted(13, 12, ("line_item_currency_code: not an ISO 4217",))),
    Case("cur2-resource-tags-not-json", "cur2_tags.csv", cur_cell(C2, 0, "resource_tags", "team=ml"),
         Accounted(13, 12, ("resource_tags: not a JSON object",))),
    Case("cur-legacy-unterminated-quote", "cur_quote.csv",
         cur_line(L, 4, lambda line: line.replace("AmazonEC2", '"AmazonEC2', 1)),
         Accounted(13, 12, QUOTE)),
    Case("cur-legacy-row-with-extra-field", "cur_extra.csv",
         cur_line(L, 2, lambda line: line + ",surplus"), Accounted(13, 12, ("too many fields",))),
    Case("cur2-parquet-undocumented-line-item-type", "cur2_edp.parquet",
         cur_parquet(C2, 0, "line_item_line_item_type", "EdpDiscount"),
         Accounted(13, 12, ("line_item_line_item_type: not a line item type",))),
    Case("cur-legacy-gzip", "cur.csv.gz", lambda: gz(cur(L)()), Accounted(13, 13)),
    Case("cur-legacy-header-only", "cur_header.csv",
         lambda: L.read_bytes().split(b"\n", 1)[0] + b"\n", Accounted(0, 0)),
    Case("cur-legacy-missing-currency-column", "cur_no_currency.csv",
         cur(L, header=lambda names: [n for n in names if n != "lineItem/CurrencyCode"]),
         Refused(("not a legacy CUR file", "lineItem/CurrencyCode"))),
    Case("cur2-missing-cost-column", "cur2_no_cost.csv",
         cur(C2, header=lambda names: [n for n in names if n != "line_item_unblended_cost"]),
         Refused(("not a CUR 2.0 file", "line_item_unblended_cost"))),
    Case("cur-legacy-same-column-twice-other-case", "cur_dup.csv",
         cur(L, header=lambda names: [*names, "lineitem/unblendedcost"]),
         Refused(("more than once",))),
    Case("cur-legacy-gzip-truncated", "cur_cut.csv.gz", lambda: gz(cur(L)())[:-200],
         Refused(("could not be read as CSV",))),
]

ALL_CASES = FOCUS_CASES + USAGE_CASES + CUR_CASES

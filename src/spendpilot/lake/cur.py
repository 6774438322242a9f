"""AWS Cost and Usage Reports (CUR 2.0 and legacy CUR) read as FOCUS rows.

A CUR file is recognised from its own header (``detect``) and becomes one SQL projection over its
text columns (``CurMapping.sql``) that yields FOCUS columns; the rows then take the FOCUS path
unchanged: the same validation, quarantine, storage and restatement by (ProviderName,
BillingAccountId, BillingPeriodStart). No row is visited in Python.

Column names and meanings come from AWS's documentation, not from guesses; each source is named in
``docs/ingest-formats.md``, which also holds the mapping table:

* legacy CUR CSV headers (``lineItem/UnblendedCost``): the AWS CUR user guide data dictionary
  (awsdocs/aws-cur-user-guide, commit de5dc1d8; ``savingsPlan/*`` columns from commit b6ae7626);
* the same columns in snake case (``line_item_unblended_cost``): CUR 2.0's table dictionary
  (docs.aws.amazon.com/cur/latest/userguide/table-dictionary-cur2*.html), which is also how legacy
  CUR names its columns in Parquet;
* EffectiveCost per line item type: the amortised-cost rule of AWS's CUR query library
  (awslabs/aws-well-architected-labs, ``300_CUR_Queries/.../amortized_cost_by_charge_type.sql``).

Only the line item types the data dictionary documents are mapped; any other (a newer type, a
typo) is quarantined under ``lineItem/LineItemType`` rather than given a ChargeCategory nobody chose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from spendpilot.errors import IngestError
from spendpilot.lake import _dialect
from spendpilot.lake._csv_records import CsvRecords
from spendpilot.lake._validation import MISSING, NOT_DECIMAL, RowCheck, quote
from spendpilot.lake.ingest import (
    FOCUS_ROW_CHECKS,
    SourcePlan,
    canonical_columns,
    require_columns,
)
from spendpilot.lake.schema import (
    DECIMAL_PRECISION,
    DECIMAL_SCALE,
    FOCUS_BY_NAME,
    FOCUS_COLUMNS,
    focus_arrow_schema,
)

CUR_2 = "CUR 2.0"
LEGACY_CUR = "legacy CUR"

NOT_CUR_HINT = (
    "; nor is it a CUR export (CUR 2.0 has line_item_unblended_cost, legacy CUR "
    "lineItem/UnblendedCost)"
)
"""Appended to the FOCUS refusal, so a user learns every format that was tried."""

CUR_2_ONLY = frozenset({
    "resource_tags", "product", "cost_category", "discount",
    "bill_payer_account_name", "line_item_usage_account_name",
})
"""Columns CUR 2.0 has and legacy CUR does not: its map columns and the two account-name
columns AWS's migration guide lists as additions (docs.aws.amazon.com/cur/latest/userguide/
dataexports-migrate.html). Legacy CUR written as Parquet shares CUR 2.0's snake-case names for
everything else."""


@dataclass(frozen=True)
class CurColumn:
    """One CUR column in both spellings: legacy CSV (``lineItem/UnblendedCost``) and snake case."""

    key: str
    legacy: str | None
    """None: legacy CUR has no such column."""
    snake: str
    numeric: bool = False


_COLUMNS: tuple[CurColumn, ...] = (
    CurColumn("line_item_type", "lineItem/LineItemType", "line_item_line_item_type"),
    CurColumn("unblended_cost", "lineItem/UnblendedCost", "line_item_unblended_cost", True),
    CurColumn("usage_start", "lineItem/UsageStartDate", "line_item_usage_start_date"),
    CurColumn("usage_end", "lineItem/UsageEndDate", "line_item_usage_end_date"),
    CurColumn("period_start", "bill/BillingPeriodStartDate", "bill_billing_period_start_date"),
    CurColumn("period_end", "bill/BillingPeriodEndDate", "bill_billing_period_end_date"),
    CurColumn("payer", "bill/PayerAccountId", "bill_payer_account_id"),
    CurColumn("payer_name", None, "bill_payer_account_name"),
    CurColumn("usage_account", "lineItem/UsageAccountId", "line_item_usage_account_id"),
    CurColumn("usage_account_name", None, "line_item_usage_account_name"),
    CurColumn("currency", "lineItem/CurrencyCode", "line_item_currency_code"),
    CurColumn("product_code", "lineItem/ProductCode", "line_item_product_code"),
    CurColumn("usage_type", "lineItem/UsageType", "line_item_usage_type"),
    CurColumn("operation", "lineItem/Operation", "line_item_operation"),
    CurColumn("az", "lineItem/AvailabilityZone", "line_item_availability_zone"),
    CurColumn("resource_id", "lineItem/ResourceId", "line_item_resource_id"),
    CurColumn("description", "lineItem/LineItemDescription", "line_item_line_item_description"),
    CurColumn("usage_amount", "lineItem/UsageAmount", "line_item_usage_amount", True),
    CurColumn("invoice_id", "bill/InvoiceId", "bill_invoice_id"),
    CurColumn("invoicing_entity", "bill/InvoicingEntity", "bill_invoicing_entity"),
    CurColumn("product_name", "product/ProductName", "product_product_name"),
    CurColumn("servicecode", "product/servicecode", "product_servicecode"),
    CurColumn("region_code", "product/regionCode", "product_region_code"),
    CurColumn("region", "product/region", "product_region"),
    CurColumn("location", "product/location", "product_location"),
    CurColumn("sku", "product/sku", "product_sku"),
    CurColumn("pricing_unit", "pricing/unit", "pricing_unit"),
    CurColumn("public_cost", "pricing/publicOnDemandCost", "pricing_public_on_demand_cost", True),
    CurColumn("public_rate", "pricing/publicOnDemandRate", "pricing_public_on_demand_rate", True),
    CurColumn("sp_arn", "savingsPlan/SavingsPlanARN", "savings_plan_savings_plan_a_r_n"),
    CurColumn("sp_effective", "savingsPlan/SavingsPlanEffectiveCost",
              "savings_plan_savings_plan_effective_cost", True),
    CurColumn("sp_total_commitment", "savingsPlan/TotalCommitmentToDate",
              "savings_plan_total_commitment_to_date", True),
    CurColumn("sp_used_commitment", "savingsPlan/UsedCommitment",
              "savings_plan_used_commitment", True),
    CurColumn("ri_arn", "reservation/ReservationARN", "reservation_reservation_a_r_n"),
    CurColumn("ri_effective", "reservation/EffectiveCost", "reservation_effective_cost", True),
    CurColumn("ri_unused_upfront", "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
              "reservation_unused_amortized_upfront_fee_for_billing_period", True),
    CurColumn("ri_unused_recurring", "reservation/UnusedRecurringFee",
              "reservation_unused_recurring_fee", True),
)
_BY_KEY = {c.key: c for c in _COLUMNS}

REQUIRED_KEYS = (
    "line_item_type", "unblended_cost", "usage_start", "usage_end", "period_start",
    "period_end", "payer", "currency", "product_code",
)
"""Without these no FOCUS row can be built: its cost, its periods, its account, its currency and
the service (``lineItem/ProductCode`` is always filled, so ServiceName never falls to null)."""

CHARGE_CATEGORY: Mapping[str, str] = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "Fee": "Purchase",
    "RIFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "Tax": "Tax",
    "Credit": "Credit",
    "Refund": "Adjustment",
}
"""``lineItem/LineItemType`` (every type the data dictionary documents) → FOCUS ChargeCategory.

Usage lines, including the negation that takes a Savings Plan's discount off the usage it covers,
are Usage; upfront and recurring commitment fees are Purchase; AWS's own FOCUS column description
calls credits "after-the-fact adjustment (e.g., credits)", so Credit is Credit and a Refund, a
correction of an earlier charge, is Adjustment."""

SAVINGS_PLAN_TYPES = ("SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanUpfrontFee",
                      "SavingsPlanRecurringFee")
RESERVATION_TYPES = ("DiscountedUsage", "RIFee")

EFFECTIVE_COST_NEEDS: Mapping[str, tuple[str, ...]] = {
    "SavingsPlanCoveredUsage": ("sp_effective",),
    "SavingsPlanRecurringFee": ("sp_total_commitment", "sp_used_commitment"),
    "DiscountedUsage": ("ri_effective",),
    "RIFee": ("ri_unused_upfront", "ri_unused_recurring"),
}
"""The columns EffectiveCost is computed from, per line item type (see ``_effective_cost``)."""

_TAG_PREFIX = {LEGACY_CUR: "resourcetags/", CUR_2: "resource_tags_"}
_DECIMAL = f"DECIMAL({DECIMAL_PRECISION}, {DECIMAL_SCALE})"
X_COLUMNS = {"x_LineItemType": "line_item_type", "x_UsageType": "usage_type",
             "x_Operation": "operation", "x_ProductCode": "product_code"}
"""CUR columns kept beside the FOCUS ones, under FOCUS's ``x_`` prefix for provider columns."""


def detect(header: Sequence[str]) -> str | None:
    """``CUR 2.0``, ``legacy CUR`` or None (not CUR: read as FOCUS) from the column names alone.

    Legacy CUR's CSV headers are ``category/Name``. Snake-case names are CUR 2.0 when a column only
    CUR 2.0 has is present (``CUR_2_ONLY``), and legacy CUR in Parquet otherwise; the two read the
    same way. A file with a FOCUS ``BilledCost`` is FOCUS whatever else it carries.
    """
    lower = {h.strip().lower() for h in header}
    if "billedcost" in lower:
        return None
    if any(h.startswith("lineitem/") for h in lower):
        return LEGACY_CUR
    if any(h.startswith("line_item_") for h in lower):
        return CUR_2 if lower & CUR_2_ONLY else LEGACY_CUR
    return None


@dataclass
class CurMapping:
    """How one file's columns become FOCUS columns: which header holds each CUR column."""

    kind: str
    """``CUR 2.0`` or ``legacy CUR``."""
    slash: bool
    """Legacy CSV spelling (``lineItem/UnblendedCost``) rather than snake case."""
    found: dict[str, str]
    """CUR column key → the header naming it in this file."""
    tag_columns: dict[str, str]
    """Tag key → column name, for flattened tag columns (``resourceTags/user:team``)."""
    tag_map: str | None
    """The header of CUR 2.0's ``resource_tags`` map column, when present."""
    columns: list[str] | None = None
    """The file's columns as the SQL names them: the header, except that a name equal to an
    earlier one but for letter case gets a ``#2`` suffix (SQL names ignore case, AWS tag keys do
    not: ``resourceTags/user:Team`` beside ``resourceTags/user:team``)."""
    product_map: str | None = None
    """The header of CUR 2.0's ``product`` map column, when present (its ``product_name`` key
    is the service's full name, as AWS's Cloud Intelligence Dashboards query it)."""

    def spelled(self, key: str) -> str:
        """The column's name as this file's format spells it (for messages about absent ones)."""
        column = _BY_KEY[key]
        return column.legacy if self.slash and column.legacy else column.snake

    def ref(self, key: str) -> str:
        """The text of the column in SQL, NULL when the file lacks it."""
        return quote(self.found[key]) if key in self.found else "NULL"

    def _dec(self, key: str) -> str:
        return f"TRY_CAST({self.ref(key)} AS {_DECIMAL})"

    @property
    def sources(self) -> list[str]:
        """Every header the projection reads, in the file's order of keys."""
        names = [self.found[c.key] for c in _COLUMNS if c.key in self.found]
        names += list(self.tag_columns.values())
        names += [m for m in (self.tag_map, self.product_map) if m is not None]
        return names

    def _effective_cost(self) -> str:
        """EffectiveCost (amortised), per AWS's CUR query library amortised-cost rule.

        Commitment-covered usage carries its share of the commitment (``SavingsPlanEffectiveCost``,
        ``reservation/EffectiveCost``); a recurring fee keeps only the unused part of the
        commitment, so used commitment is not counted twice; negations and upfront fees are 0,
        the upfront money being spread over the covered usage; so is an RI's upfront ``Fee``
        (a Fee line with a reservation ARN). Everything else costs what it was billed.
        """
        lt = self.ref("line_item_type")
        ri_arn = self.ref("ri_arn")
        return (
            f"CASE {lt} "
            f"WHEN 'SavingsPlanCoveredUsage' THEN {self.ref('sp_effective')} "
            f"WHEN 'SavingsPlanRecurringFee' THEN CAST({self._dec('sp_total_commitment')} - "
            f"{self._dec('sp_used_commitment')} AS VARCHAR) "
            f"WHEN 'SavingsPlanNegation' THEN '0' "
            f"WHEN 'SavingsPlanUpfrontFee' THEN '0' "
            f"WHEN 'DiscountedUsage' THEN {self.ref('ri_effective')} "
            f"WHEN 'RIFee' THEN CAST({self._dec('ri_unused_upfront')} + "
            f"{self._dec('ri_unused_recurring')} AS VARCHAR) "
            f"WHEN 'Fee' THEN CASE WHEN coalesce({ri_arn}, '') <> '' THEN '0' "
            f"ELSE {self.ref('unblended_cost')} END "
            f"ELSE {self.ref('unblended_cost')} END"
        )

    def _tags(self) -> str:
        """Tags as a JSON object: CUR 2.0's map as written, else the flattened tag columns
        (``resourceTags/user:team`` → key ``user:team``), empty values left out."""
        if self.tag_map is not None:
            return quote(self.tag_map)
        if not self.tag_columns:
            return "NULL"
        entries = ", ".join(
            f"{{'k': {_dialect.literal(key)}, 'v': {quote(header)}}}"
            for key, header in self.tag_columns.items()
        )
        as_json = (f"CAST(to_json(map_from_entries(list_filter([{entries}], "
                   f"lambda e: e.v IS NOT NULL))) AS VARCHAR)")
        return f"nullif({as_json}, '{{}}')"

    def _product_name(self) -> str:
        if self.product_map is None:
            return "NULL"
        return f"json_extract_string(TRY_CAST({quote(self.product_map)} AS JSON), '$.product_name')"

    def _category(self) -> str:
        whens = " ".join(f"WHEN {_dialect.literal(t)} THEN {_dialect.literal(c)}"
                         for t, c in CHARGE_CATEGORY.items())
        return f"CASE {self.ref('line_item_type')} {whens} END"

    def _commitment_id(self) -> str:
        lt = self.ref("line_item_type")
        sp = ", ".join(_dialect.literal(t) for t in SAVINGS_PLAN_TYPES)
        ri = ", ".join(_dialect.literal(t) for t in (*RESERVATION_TYPES, "Fee"))
        return (f"CASE WHEN {lt} IN ({sp}) THEN {self.ref('sp_arn')} "
                f"WHEN {lt} IN ({ri}) THEN {self.ref('ri_arn')} END")

    def focus_columns(self) -> dict[str, str]:
        """FOCUS column → SQL text expression over the CUR columns."""
        r = self.ref
        usage = f"{self._category()} = 'Usage'"
        columns = {
            "BilledCost": r("unblended_cost"),
            "EffectiveCost": self._effective_cost(),
            "ListCost": f"coalesce({r('public_cost')}, {r('unblended_cost')})",
            "ListUnitPrice": r("public_rate"),
            "BillingAccountId": r("payer"),
            "BillingAccountName": r("payer_name"),
            "SubAccountId": r("usage_account"),
            "SubAccountName": r("usage_account_name"),
            "BillingCurrency": r("currency"),
            "BillingPeriodStart": r("period_start"),
            "BillingPeriodEnd": r("period_end"),
            "ChargePeriodStart": r("usage_start"),
            "ChargePeriodEnd": r("usage_end"),
            "ChargeCategory": self._category(),
            "ChargeDescription": r("description"),
            "ServiceName": f"coalesce({r('product_name')}, {self._product_name()}, "
                           f"{r('servicecode')}, {r('product_code')})",
            "RegionId": f"coalesce({r('region_code')}, {r('region')})",
            "RegionName": r("location"),
            "AvailabilityZone": r("az"),
            "ResourceId": r("resource_id"),
            "ConsumedQuantity": f"CASE WHEN {usage} THEN {r('usage_amount')} END",
            "ConsumedUnit": f"CASE WHEN {usage} THEN {r('pricing_unit')} END",
            "PricingQuantity": r("usage_amount"),
            "PricingUnit": r("pricing_unit"),
            "SkuId": r("sku"),
            "CommitmentDiscountId": self._commitment_id(),
            "InvoiceId": r("invoice_id"),
            "InvoiceIssuerName": r("invoicing_entity"),
            "ProviderName": "'AWS'",
            "Tags": self._tags(),
        }
        columns.update({x: r(key) for x, key in X_COLUMNS.items()})
        return columns

    def labels(self) -> dict[str, str]:
        """FOCUS column → the CUR column it is a copy of, to name quarantine reasons after it."""
        copies = {
            "BilledCost": "unblended_cost", "ListCost": "public_cost",
            "ListUnitPrice": "public_rate", "BillingAccountId": "payer",
            "SubAccountId": "usage_account", "BillingCurrency": "currency",
            "BillingPeriodStart": "period_start", "BillingPeriodEnd": "period_end",
            "ChargePeriodStart": "usage_start", "ChargePeriodEnd": "usage_end",
            "ChargeCategory": "line_item_type", "ConsumedQuantity": "usage_amount",
            "PricingQuantity": "usage_amount",
        }
        labels = {focus: self.found.get(key, self.spelled(key)) for focus, key in copies.items()}
        if self.tag_map is not None:
            labels["Tags"] = self.tag_map
        return labels

    def row_checks(self) -> list[RowCheck]:
        """Checks on the CUR columns themselves, made before the mapped columns are checked."""
        lt_name = self.found["line_item_type"]
        lt = quote(lt_name)
        known = ", ".join(_dialect.literal(t) for t in CHARGE_CATEGORY)
        checks = [
            RowCheck(lt_name, MISSING, f"{lt} IS NULL", needs=(lt_name,), early=True),
            RowCheck(lt_name, f"not a line item type AWS documents ({', '.join(CHARGE_CATEGORY)})",
                     f"{lt} NOT IN ({known})", needs=(lt_name,), early=True),
        ]
        for column in _COLUMNS:
            if column.numeric and column.key in self.found:
                name = self.found[column.key]
                number = f"TRY_CAST({quote(name)} AS DOUBLE)"
                checks.append(RowCheck(
                    name, NOT_DECIMAL,
                    f"{quote(name)} IS NOT NULL AND coalesce(isnan({number}), true)",
                    needs=(name,), early=True,
                ))
        for line_type, keys in EFFECTIVE_COST_NEEDS.items():
            for key in keys:
                name = self.found.get(key, self.spelled(key))
                reason = f"{MISSING} (the EffectiveCost of a {line_type} line is computed from it)"
                checks.append(RowCheck(
                    name, reason,
                    f"{lt} = {_dialect.literal(line_type)} AND {self.ref(key)} IS NULL",
                    needs=(lt_name,), early=True,
                ))
        return checks

    def sql(self, text_source: str) -> str:
        """A FROM-clause item yielding the FOCUS columns, then the CUR columns read (as text)."""
        parts = [f"{expression} AS {quote(name)}" for name, expression in self.focus_columns().items()]
        parts += [quote(name) for name in self.sources]
        return f"(SELECT {', '.join(parts)} FROM {text_source})"


def mapping_for(path: Path, header: Sequence[str]) -> CurMapping:
    """Find every CUR column this mapping reads in ``header``; refuse a file missing one it needs."""
    kind = detect(header)
    assert kind is not None, "mapping_for is only called on a CUR header"
    names = canonical_columns(path, header, str.strip)
    read = {s.lower() for c in _COLUMNS for s in (c.legacy, c.snake) if s}
    read |= {"resource_tags", "product"}
    by_lower: dict[str, str] = {}
    for name in names:
        if name.lower() in by_lower and name.lower() in read:  # which one would be read?
            raise IngestError(
                f"{path}: column(s) appear more than once: {by_lower[name.lower()]}, {name}"
            )
        by_lower.setdefault(name.lower(), name)
    slash = any(n.lower().startswith("lineitem/") for n in names)
    found = {}
    for column in _COLUMNS:
        spelling = column.legacy if slash else column.snake
        header_name = by_lower.get(spelling.lower()) if spelling else None
        if header_name is not None:
            found[column.key] = header_name
    prefix = _TAG_PREFIX[LEGACY_CUR if slash else CUR_2]
    columns = _case_distinct(names)
    mapping = CurMapping(kind, slash, found,
                         {n[len(prefix):]: c for n, c in zip(names, columns, strict=True)
                          if n.lower().startswith(prefix)},
                         tag_map=None if slash else by_lower.get("resource_tags"),
                         columns=columns,
                         product_map=None if slash else by_lower.get("product"))
    required = [mapping.spelled(k) for k in REQUIRED_KEYS]
    present = [mapping.spelled(k) for k in REQUIRED_KEYS if k in found]
    require_columns(path, present + [n for n in names if n not in present], required,
                    f"a {kind}")
    return mapping


def _case_distinct(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen[name.lower()] = seen.get(name.lower(), 0) + 1
        out.append(name if count == 1 else f"{name} #{count}")
    return out


def cur_plan(path: Path, fmt: str, header: Sequence[str], schema: pa.Schema | None,
             date_format: str | None = None) -> SourcePlan:
    """How to read a CUR CSV / CSV.gz / Parquet file as FOCUS rows (see ``CurMapping``)."""
    mapping = mapping_for(path, header)
    names = mapping.columns or [h.strip() for h in header]
    if schema is None:
        text_source = _dialect.csv_text_source(path, names)
    else:
        read = set(mapping.sources)
        fields = [f for f, n in zip(schema, names, strict=True) if n in read]
        text_source = _dialect.parquet_text_source(
            path, pa.schema(fields), [n for n in names if n in read])
    focus = list(mapping.focus_columns())
    present = focus + mapping.sources
    extras = [n for n in focus if n not in FOCUS_BY_NAME]
    return SourcePlan(
        path=path,
        fmt=fmt,
        source_sql=text_source,
        present=present,
        known=FOCUS_COLUMNS,
        output=focus_arrow_schema(extras),
        row_checks=[*mapping.row_checks(), *FOCUS_ROW_CHECKS],
        partitioned=True,
        reread=(lambda: CsvRecords(path, names)) if schema is None else None,
        date_format=date_format,
        mapping=mapping.sql,
        labels=mapping.labels(),
        format_name=mapping.kind,
    )

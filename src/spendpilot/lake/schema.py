"""The FOCUS columns the lake knows, how each is typed, and which ones a file or a row must have.

FOCUS (FinOps Open Cost and Usage Specification) 1.0 defines 43 columns; 1.1 and 1.2 add a few.
Three properties drive ingestion:

* ``required``: the file is rejected (``IngestError``) when the column is absent. These are the
  columns every lake query depends on. The spec marks a few more columns Mandatory
  (``focus_level``); real exports sometimes omit them, and rejecting a whole bill for a missing
  ``PublisherName`` would hide real spend, so they are kept when present and stored as null when
  absent.
* ``nullable``: when False, a row with a null here is quarantined.
* ``type``: how the text is parsed. Money and quantities are exact decimals, never floats.
* ``limit``: the largest magnitude a value may have. A value no real bill contains (a cost of
  10^25) is quarantined rather than stored, so one corrupt line cannot make every later sum
  meaningless or overflow (see ``MONEY_LIMIT``). Timestamps must be ISO 8601 and fall in
  ``TIMESTAMP_RANGE``: a spreadsheet's ``4/1/25`` would otherwise be read as the year 4.
* ``allowed`` / ``pattern``: the spec's value constraints, checked only where the spec defines
  them for a column the lake requires (``ChargeCategory``'s allowed values, ``BillingCurrency``'s
  ISO 4217 code format). A row that breaks one is quarantined: a ``ChargeCategory`` of ``Foo``
  or a currency of ``usd`` would otherwise become its own line in every report. Optional
  enumerated columns (``ChargeClass``, ``ChargeFrequency``, ``ServiceCategory``, ...) are stored
  as written, because rejecting a row for them would hide real spend.

Columns that are not listed here (a sample's ``Id``, provider ``x_`` extensions) are stored as
strings so nothing a provider sends is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pyarrow as pa


class ColumnType(StrEnum):
    DECIMAL = "decimal"
    STRING = "string"
    TIMESTAMP = "timestamp"
    JSON = "json"
    DATE = "date"
    INTEGER = "integer"


DECIMAL_PRECISION = 38
DECIMAL_SCALE = 12
"""Money: DECIMAL(38, 12), 26 integer digits and picodollar resolution.

FOCUS exports carry 11 decimals on costs and up to 12 on unit prices; a 13th decimal would be
rounded half-up, far below any amount a bill can charge.
"""
QUANTITY_SCALE = 18
"""Quantities: DECIMAL(38, 18). Exports print usage with up to 15 decimals (the FOCUS sample's
``ConsumedQuantity``), which DECIMAL(38, 12) would round."""

MONEY_LIMIT = 10**12
"""Largest magnitude of a cost or unit price on one row, exclusive: a trillion in the billing
currency. The largest real invoices are a few billion a month for a whole company; one line is
far smaller. The bound also keeps every sum far inside DECIMAL(38, 12) (10^26): overflowing it
would take 10^14 rows at the limit."""
QUANTITY_LIMIT = 10**15
"""Largest magnitude of a quantity on one row, exclusive. Usage is counted in units such as
hours, GB-months, requests or bytes; a petabyte in bytes (10^15) per line is beyond any bill."""
COUNT_LIMIT = 10**15
"""Largest request or token count on one usage row (one day of one feature), exclusive: a
quadrillion tokens a day would cost more than any company's revenue."""
TIMESTAMP_RANGE = ("2000-01-01", "2100-01-01")
"""Timestamps and dates are accepted in ``[start, end)``: cloud billing began in 2006 and no
commitment runs to 2100, so a year outside it is a misread date (``0004-01-25``, ``9999-12-31``)."""

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.DECIMAL: pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
    ColumnType.STRING: pa.string(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    ColumnType.JSON: pa.string(),
    ColumnType.DATE: pa.date32(),
    ColumnType.INTEGER: pa.int64(),
}
"""How each type is stored in Parquet. JSON is kept as its raw text (portable to any engine)."""


_SQL_TYPES = {
    ColumnType.TIMESTAMP: "TIMESTAMPTZ",
    ColumnType.DATE: "DATE",
    ColumnType.INTEGER: "BIGINT",
}


@dataclass(frozen=True)
class Column:
    """One column of an input format the lake validates."""

    name: str
    type: ColumnType
    required: bool = False
    nullable: bool = True
    focus_level: str = "Conditional"
    """The spec's own feature level (Mandatory / Recommended / Conditional), for reference."""
    scale: int = DECIMAL_SCALE
    """Digits after the point, for decimal columns."""
    allowed: tuple[str, ...] = ()
    """The spec's allowed values (case-sensitive); empty when the spec does not enumerate them."""
    pattern: str | None = None
    """A regular expression the whole value must match (the spec's value format)."""
    pattern_reason: str = ""
    """The quarantine reason when ``pattern`` does not match."""
    limit: int | None = None
    """Decimal and integer columns: a value whose magnitude reaches this is quarantined."""

    @property
    def arrow_type(self) -> pa.DataType:
        if self.type is ColumnType.DECIMAL:
            return pa.decimal128(DECIMAL_PRECISION, self.scale)
        return ARROW_TYPES[self.type]

    @property
    def sql_type(self) -> str:
        """The SQL type values are cast to (VARCHAR for text and JSON)."""
        if self.type is ColumnType.DECIMAL:
            return f"DECIMAL({DECIMAL_PRECISION}, {self.scale})"
        return _SQL_TYPES.get(self.type, "VARCHAR")


_D, _S, _T, _J = ColumnType.DECIMAL, ColumnType.STRING, ColumnType.TIMESTAMP, ColumnType.JSON


def _quantity(name: str, focus_level: str = "Conditional") -> Column:
    return Column(name, _D, focus_level=focus_level, scale=QUANTITY_SCALE, limit=QUANTITY_LIMIT)


def _money(name: str, focus_level: str = "Conditional") -> Column:
    return Column(name, _D, focus_level=focus_level, limit=MONEY_LIMIT)


def _core(
    name: str,
    type_: ColumnType,
    *,
    allowed: tuple[str, ...] = (),
    pattern: str | None = None,
    pattern_reason: str = "",
) -> Column:
    """A column the lake cannot do without: must be present, must not be null."""
    return Column(
        name, type_, required=True, nullable=False, focus_level="Mandatory",
        allowed=allowed, pattern=pattern, pattern_reason=pattern_reason,
        limit=MONEY_LIMIT if type_ is ColumnType.DECIMAL else None,
    )


CHARGE_CATEGORIES: tuple[str, ...] = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
"""The FOCUS 1.0 ChargeCategory allowed values."""

CURRENCY_CODE = "[A-Z]{3}"
"""FOCUS Currency Format: an ISO 4217 alphabetic code such as ``USD`` or ``EUR``. The shape is
checked, not membership of the ISO list, which changes over time."""


def _mandatory(name: str, type_: ColumnType) -> Column:
    """Mandatory in the spec, but tolerated when missing or null (see module docstring)."""
    return Column(name, type_, focus_level="Mandatory")


FOCUS_COLUMNS: tuple[Column, ...] = (
    # FOCUS 1.0, in the spec's alphabetical order.
    Column("AvailabilityZone", _S, focus_level="Recommended"),
    _core("BilledCost", _D),
    _core("BillingAccountId", _S),
    _mandatory("BillingAccountName", _S),
    _core(
        "BillingCurrency", _S, pattern=CURRENCY_CODE,
        pattern_reason="not an ISO 4217 currency code (three capital letters, e.g. USD)",
    ),
    _core("BillingPeriodEnd", _T),
    _core("BillingPeriodStart", _T),
    _core("ChargeCategory", _S, allowed=CHARGE_CATEGORIES),
    _mandatory("ChargeClass", _S),
    _mandatory("ChargeDescription", _S),
    Column("ChargeFrequency", _S, focus_level="Recommended"),
    _core("ChargePeriodEnd", _T),
    _core("ChargePeriodStart", _T),
    Column("CommitmentDiscountCategory", _S),
    Column("CommitmentDiscountId", _S),
    Column("CommitmentDiscountName", _S),
    Column("CommitmentDiscountStatus", _S),
    Column("CommitmentDiscountType", _S),
    _quantity("ConsumedQuantity"),
    Column("ConsumedUnit", _S),
    _money("ContractedCost", "Mandatory"),
    _money("ContractedUnitPrice"),
    _core("EffectiveCost", _D),
    _mandatory("InvoiceIssuerName", _S),
    _core("ListCost", _D),
    _money("ListUnitPrice"),
    Column("PricingCategory", _S),
    _quantity("PricingQuantity", "Mandatory"),
    _mandatory("PricingUnit", _S),
    _core("ProviderName", _S),
    _mandatory("PublisherName", _S),
    Column("RegionId", _S),
    Column("RegionName", _S),
    Column("ResourceId", _S),
    Column("ResourceName", _S),
    Column("ResourceType", _S),
    _mandatory("ServiceCategory", _S),
    _core("ServiceName", _S),
    Column("SkuId", _S),
    Column("SkuPriceId", _S),
    Column("SubAccountId", _S),
    Column("SubAccountName", _S),
    Column("Tags", _J),
    # FOCUS 1.1 and 1.2 additions.
    Column("BillingAccountType", _S),
    Column("CapacityReservationId", _S),
    Column("CapacityReservationStatus", _S),
    _quantity("CommitmentDiscountQuantity"),
    Column("CommitmentDiscountUnit", _S),
    Column("InvoiceId", _S),
    Column("PricingCurrency", _S),
    _money("PricingCurrencyContractedUnitPrice"),
    _money("PricingCurrencyEffectiveCost"),
    _money("PricingCurrencyListUnitPrice"),
    Column("ServiceSubcategory", _S),
    Column("SkuMeter", _S),
    Column("SkuPriceDetails", _J),
    Column("SubAccountType", _S),
)

FOCUS_BY_NAME: dict[str, Column] = {c.name: c for c in FOCUS_COLUMNS}
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in FOCUS_COLUMNS if c.required)

PARTITION_KEYS: tuple[str, ...] = ("provider", "billing_period")
"""Hive partition directory names. An input column with one of these names (any case) would
shadow the partition value on read, so it is stored as ``x_<name>`` instead."""

_CANONICAL = {c.name.lower(): c.name for c in FOCUS_COLUMNS}


def canonical_name(name: str) -> str:
    """The spec's spelling of a column header (``billedcost`` → ``BilledCost``), else the header.

    Exports differ in case and stray whitespace; matching on the spec spelling lets one lake
    hold them all. Headers that could shadow a partition key are renamed ``x_<name>``.
    """
    stripped = name.strip()
    known = _CANONICAL.get(stripped.lower())
    if known is not None:
        return known
    if stripped.lower() in PARTITION_KEYS:
        return f"x_{stripped}"
    return stripped


def focus_arrow_schema(extra_columns: list[str] | None = None) -> pa.Schema:
    """The stored schema: every known column typed, then any extra columns as strings."""
    fields = [pa.field(c.name, c.arrow_type) for c in FOCUS_COLUMNS]
    fields += [pa.field(name, pa.string()) for name in extra_columns or []]
    return pa.schema(fields)

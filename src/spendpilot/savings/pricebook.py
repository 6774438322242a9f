"""The price book: what an instance hour or an LLM token costs, and where that number came from.

Every price carries a ``PriceSource`` so a reader of an estimate can see whether it rests on a live
quote or on bundled reference data, and how old that data is. Three bundled files back it
(``savings/data/``, documented in ``PROVENANCE.md`` there):

- ``ec2_prices.yaml``: EC2 on-demand list prices (AWS Price List of 2026-09-24 for us-east-1;
  older regions keep their own source and date) and reference spot ranges;
- ``llm_prices.json``: the OpenAI / Anthropic / Bedrock chat subset of litellm's price file;
- ``model_tiers.yaml``: model family -> tier, and the default cheaper model to route to;
- ``prompt_cache_minimums.yaml``: the smallest prefix each model family caches (optional:
  without it only litellm's ``prompt_cache_min_tokens`` and nothing for OpenAI is known);
- ``sagemaker_hosting_prices.yaml``: SageMaker real-time inference prices for the few ``ml.*``
  types with a sourced price (optional: without the file, no SageMaker type has a price);
- ``ebs_prices.yaml``: EBS volume and snapshot storage list prices, us-east-1 (optional likewise).

Live prices are fetched by the adapters, never here; ``spot`` only judges a live price it is given,
and ``with_live_on_demand`` returns a copy holding on-demand quotes fetched beforehand
(``savings.live_ec2_prices``).
A live spot price is trusted only when it is plausible (5%-100% of on-demand), because emulators
and broken feeds return placeholders (moto answers ``0.00001``) that would turn every spot saving
into nonsense.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from spendpilot.domain.money import DecimalStr
from spendpilot.errors import ConfigError

__all__ = [
    "HourlyPrice",
    "InstanceSpec",
    "PriceBook",
    "PriceSource",
    "SpotPriceRange",
    "MatchKind",
    "Tier",
    "TokenPrice",
]

Tier = Literal["frontier", "mid", "small"]
MatchKind = Literal["exact", "provider_prefix", "snapshot"]

MIN_PLAUSIBLE_SPOT_FRACTION = Decimal("0.05")
"""A live spot price below this fraction of on-demand is treated as a placeholder, not a price."""

LIVE_SPOT_SOURCE_NAME = "EC2 DescribeSpotPriceHistory"

_EC2_FILE = "ec2_prices.yaml"
_LLM_FILE = "llm_prices.json"
_LLM_META_FILE = "llm_prices.source.json"
_TIERS_FILE = "model_tiers.yaml"
_SAGEMAKER_FILE = "sagemaker_hosting_prices.yaml"
_EBS_FILE = "ebs_prices.yaml"
_CACHE_MIN_FILE = "prompt_cache_minimums.yaml"
_SAGEMAKER_ML_FILE = "sagemaker_ml_prices.yaml"

_SPOT_QUANTUM = Decimal("0.0001")
_GPU_FAMILY = re.compile(r"^(?:p|g|inf|trn|dl)\d")


# --------------------------------------------------------------------------- public models


class PriceSource(BaseModel):
    """Where a price came from. ``live`` is True only for a price quoted by the provider just now."""

    model_config = ConfigDict(frozen=True)

    name: str
    as_of: str | None = None
    url: str | None = None
    live: bool = False


class HourlyPrice(BaseModel):
    model_config = ConfigDict(frozen=True)

    instance_type: str
    region: str
    """The region the price is for; differs from the requested one after a fallback."""
    per_hour: DecimalStr
    currency: str = "USD"
    source: PriceSource
    note: str = ""
    """Caveats about this particular price (e.g. a known price cut since ``source.as_of``)."""


class SpotPriceRange(BaseModel):
    model_config = ConfigDict(frozen=True)

    instance_type: str
    region: str
    low: DecimalStr
    typical: DecimalStr
    high: DecimalStr
    currency: str = "USD"
    source: PriceSource
    note: str = ""


class TokenPrice(BaseModel):
    """Price per token for one model, as litellm records it (litellm's prices are USD).

    Every kind of token has its own price, or ``None`` where litellm records none (then a
    caller must say so rather than guess). ``reasoning_per_token`` is the output price unless
    litellm lists a separate one: OpenAI and Anthropic bill reasoning (thinking) tokens as output
    tokens. ``cache_write_per_token`` is Anthropic's 5-minute cache write, ``cache_write_1h``
    its 1-hour one; OpenAI has no cache-write charge (``None``: writes cost the input price).
    """

    model_config = ConfigDict(frozen=True)

    model: str
    """The price-book key the price belongs to (may differ from the name that was asked for)."""
    provider: str
    """litellm's provider: ``openai``, ``anthropic``, ``bedrock`` or ``bedrock_converse``."""
    input_per_token: DecimalStr
    output_per_token: DecimalStr
    cached_input_per_token: DecimalStr | None = None
    cache_write_per_token: DecimalStr | None = None
    """A 5-minute cache write (Anthropic's default TTL)."""
    cache_write_1h_per_token: DecimalStr | None = None
    """A 1-hour cache write, where the provider offers that TTL."""
    batch_input_per_token: DecimalStr | None = None
    batch_output_per_token: DecimalStr | None = None
    batch_cached_input_per_token: DecimalStr | None = None
    reasoning_per_token: DecimalStr | None = None
    reasoning_priced_separately: bool = False
    """True only when litellm lists ``output_cost_per_reasoning_token`` for the model."""
    prompt_cache_min_tokens: int | None = None
    """The smallest prefix the provider caches for this model (``None``: not known)."""
    currency: str = "USD"
    deprecation_date: date | None = None
    matched_by: MatchKind = "exact"
    """How ``model`` was found: ``snapshot`` means a dated name fell back to its undated family,
    whose price may differ from that snapshot's."""
    source: PriceSource


class InstanceSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    instance_type: str
    vcpus: int
    memory_gib: float
    gpus: int
    """GPUs, or ML accelerator chips for Inferentia/Trainium."""
    gpu_model: str | None = None


# --------------------------------------------------------------------------- bundled-file schemas


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SourceSpec(_Strict):
    name: str
    url: str | None = None
    as_of: str | None = None


class _SpotRef(_Strict):
    low: Decimal
    typical: Decimal
    high: Decimal


class _Ec2Instance(_Strict):
    vcpus: int
    memory_gib: float
    gpus: int
    gpu_model: str | None = None
    on_demand: dict[str, Decimal]
    spot_us_east_1: _SpotRef
    note: str = ""


class _Ec2Table(_Strict):
    schema_version: int
    default_region: str
    on_demand_source: _SourceSpec
    region_sources: dict[str, _SourceSpec] = {}
    """Regions whose figures come from another (older) source than ``on_demand_source``."""
    spot_reference_source: _SourceSpec
    spot_bands: dict[str, tuple[Decimal, Decimal, Decimal]]
    instances: dict[str, _Ec2Instance]


class _Family(_Strict):
    maker: Literal["openai", "anthropic"]
    tier: Tier
    route_to: str | None = None


class _HostingPrice(_Strict):
    per_hour: Decimal
    usage_type: str
    quoted_in: str


class _SageMakerTable(_Strict):
    schema_version: int
    source: _SourceSpec
    prices: dict[str, dict[str, _HostingPrice]]


class _ComponentPrice(_Strict):
    per_hour: Decimal
    usage_type: str
    quoted_in: str


class _SageMakerMlTable(_Strict):
    """SageMaker prices by component (``training``, ``notebook``), region and ``ml.*`` type."""

    schema_version: int
    source: _SourceSpec
    components: dict[str, dict[str, dict[str, _ComponentPrice]]]


class _EbsEntry(_Strict):
    per_gb_month: Decimal
    per_iops_month: Decimal | None = None
    included_iops: int = 0
    per_mibps_month: Decimal | None = None
    included_throughput_mibps: int = 0
    quoted_in: str


class _EbsTable(_Strict):
    schema_version: int
    source: _SourceSpec
    volumes: dict[str, dict[str, _EbsEntry]]
    snapshots: dict[str, dict[str, _EbsEntry]]


class StoragePrice(BaseModel):
    """A per-GB-month storage price (an EBS volume type, or snapshot storage), with the prices of
    provisioned performance beyond what is included, where the type has them."""

    model_config = ConfigDict(frozen=True)

    kind: str
    """The volume type (``gp3``) or snapshot tier (``snapshot standard``)."""
    region: str
    per_gb_month: DecimalStr
    per_iops_month: DecimalStr | None = None
    included_iops: int = 0
    per_mibps_month: DecimalStr | None = None
    included_throughput_mibps: int = 0
    currency: str = "USD"
    source: PriceSource
    note: str = ""


class _CacheMinTable(_Strict):
    schema_version: int
    source: _SourceSpec
    openai_minimum: int
    openai_source: _SourceSpec
    families: dict[str, int]


class _TierTable(_Strict):
    schema_version: int
    families: dict[str, _Family]


class _LlmMeta(BaseModel):
    litellm_version: str
    url: str
    attribution: str
    copied_on: str | None = None


class _LlmEntry(BaseModel):
    input_cost_per_token: float
    output_cost_per_token: float
    cache_read_input_token_cost: float | None = None
    cache_creation_input_token_cost: float | None = None
    cache_creation_input_token_cost_above_1hr: float | None = None
    input_cost_per_token_batches: float | None = None
    output_cost_per_token_batches: float | None = None
    cache_read_input_token_cost_batches: float | None = None
    output_cost_per_reasoning_token: float | None = None
    prompt_cache_min_tokens: int | None = None
    litellm_provider: str
    mode: str
    source: str | None = None
    deprecation_date: str | None = None


# --------------------------------------------------------------------------- model-name parsing

_ROUTE_SEGMENTS = frozenset({"openai", "anthropic", "bedrock", "converse", "invoke"})
_REGION_PROFILES = frozenset({"us", "eu", "apac", "au", "jp", "ca", "global", "us-gov"})
_VENDORS = frozenset({"anthropic", "openai"})
_VERSION_SUFFIX = re.compile(r"(?:-v\d+(?::\d+)?|:\d+)$")
_SNAPSHOT_SUFFIX = re.compile(r"[-@](?:\d{4}-\d{2}-\d{2}|20\d{6}|(?:0[1-9]|1[0-2])\d{2})$")
_PROVIDER_GROUP = {
    "openai": "openai",
    "anthropic": "anthropic",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
}


@dataclass(frozen=True)
class _ModelName:
    """A model name split into where it is served (``namespace``) and what it is (``family``).

    ``us.anthropic.claude-opus-4-1-20250805-v1:0`` -> namespace ``us.anthropic.``, family
    ``claude-opus-4-1``. API-route path segments (``openai/``, ``bedrock/``, ``converse/``) are
    dropped because they do not change the price; region path segments are kept because they do.
    """

    namespace: str
    family: str
    fine_tuned: bool


def _parse_model_name(name: str) -> _ModelName:
    segments = name.strip().lower().split("/")
    base = segments[-1]
    namespace = "".join(f"{seg}/" for seg in segments[:-1] if seg not in _ROUTE_SEGMENTS)
    fine_tuned = base.startswith("ft:")
    if fine_tuned:
        base = base[3:].split(":", 1)[0]
    for prefixes in (_REGION_PROFILES, _VENDORS):
        head, dot, rest = base.partition(".")
        if dot and head in prefixes:
            namespace += f"{head}."
            base = rest
    base = _VERSION_SUFFIX.sub("", base)
    base = _SNAPSHOT_SUFFIX.sub("", base)
    return _ModelName(namespace=namespace, family=base, fine_tuned=fine_tuned)


def model_identity(name: str) -> str:
    """What a model name denotes once dated snapshots and API-route prefixes are set aside.

    Usage reports name the snapshot that served a request (``gpt-4.1-2025-04-14``,
    ``claude-sonnet-4-20250514``, ``openai/gpt-4.1``) while a routing config names the alias
    (``gpt-4.1``): both are the same deployment choice, and a check comparing them by string
    would miss real traffic. Where a model is served (a Bedrock region profile, a vendor prefix)
    and fine-tunes stay distinct, because they change what a route change would do.
    """
    parsed = _parse_model_name(name)
    return f"{parsed.namespace}{parsed.family}{' (fine-tuned)' if parsed.fine_tuned else ''}"


def _lookup_candidates(model: str) -> list[tuple[str, MatchKind]]:
    """Names to try for ``model``, in order, each with how it was derived."""
    raw = model.strip()
    candidates: list[tuple[str, MatchKind]] = [(raw, "exact"), (raw.lower(), "exact")]

    name = raw.lower()
    if name.startswith("ft:"):
        # ft:gpt-4o-mini-2024-07-18:org:name:id -> ft:gpt-4o-mini-2024-07-18
        base = name[3:].split(":", 1)[0]
        candidates.append((f"ft:{base}", "provider_prefix"))
    while "/" in name and name.split("/", 1)[0] in _ROUTE_SEGMENTS:
        name = name.split("/", 1)[1]
        candidates.append((name, "provider_prefix"))

    for stripped, _ in list(candidates):
        version = _VERSION_SUFFIX.search(stripped)
        core = stripped[: version.start()] if version else stripped
        if _SNAPSHOT_SUFFIX.search(core):
            undated = _SNAPSHOT_SUFFIX.sub("", core)
            if version:
                candidates.append((undated + version.group(0), "snapshot"))
            candidates.append((undated, "snapshot"))
    return candidates


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _retires_no_sooner(target: date | None, source: date | None) -> bool:
    """True if routing to ``target`` does not bring a retirement date forward."""
    if target is None:
        return True
    return source is not None and target >= source


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


_TIER_RANK = {"small": 1, "mid": 2, "frontier": 3}


# --------------------------------------------------------------------------- the price book


class PriceBook:
    """Reference prices for EC2 instances and LLM tokens, each with its source.

    Build it with ``PriceBook.bundled()`` (cached) or ``PriceBook.from_directory(path)`` for a
    directory holding the same three files. Lookups never do I/O.
    """

    def __init__(
        self,
        *,
        ec2: _Ec2Table,
        llm_prices: dict[str, _LlmEntry],
        llm_meta: _LlmMeta,
        tiers: _TierTable,
        sagemaker: _SageMakerTable | None = None,
        ebs: _EbsTable | None = None,
        cache_minimums: _CacheMinTable | None = None,
        sagemaker_ml: _SageMakerMlTable | None = None,
    ) -> None:
        self._ec2 = ec2
        self._live_on_demand: dict[tuple[str, str], HourlyPrice] = {}
        self._live_failures: dict[tuple[str, str], str] = {}
        self._cache_min = cache_minimums
        self._sagemaker_ml = sagemaker_ml
        self._ebs = ebs
        self._sagemaker = sagemaker
        self._llm = llm_prices
        self._llm_meta = llm_meta
        self._families = tiers.families
        self._route_index: dict[tuple[str, str, str], list[str]] = {}
        for key, entry in llm_prices.items():
            parsed = _parse_model_name(key)
            if parsed.fine_tuned:
                continue
            group = _PROVIDER_GROUP.get(entry.litellm_provider, entry.litellm_provider)
            self._route_index.setdefault((group, parsed.namespace, parsed.family), []).append(key)
        for family, spec in self._families.items():
            if spec.route_to is not None and spec.route_to not in llm_prices:
                raise ConfigError(
                    f"{_TIERS_FILE}: route_to {spec.route_to!r} of family {family!r} is not a "
                    f"model in {_LLM_FILE}; route only to existing keys"
                )

    # -- live EC2 on-demand prices ------------------------------------------------------

    def with_live_on_demand(
        self,
        quotes: dict[tuple[str, str], HourlyPrice],
        failures: dict[tuple[str, str], str] | None = None,
    ) -> PriceBook:
        """A copy whose EC2 on-demand prices are ``quotes`` where given, keyed by (type, region).

        The quotes were fetched beforehand (``savings.live_ec2_prices``), so lookups stay free of
        I/O. ``failures`` names, per (type, region), why no live quote was had: the packaged
        price is then used and its source says so, so a fallback is never silent. Spot ranges
        judge plausibility against whichever on-demand price applies.
        """
        book = copy.copy(self)
        book._live_on_demand = {**self._live_on_demand, **{(t.lower(), r): q for (t, r), q in quotes.items()}}
        book._live_failures = {**self._live_failures, **{(t.lower(), r): f for (t, r), f in (failures or {}).items()}}
        return book

    def ec2_sources(self) -> list[tuple[str, PriceSource]]:
        """(region, source) of the packaged EC2 on-demand table: the default, then each region
        whose figures come from another source (for ``spendpilot prices show``)."""
        default = self._ec2.on_demand_source
        rows = [(self._ec2.default_region, PriceSource(name=default.name, as_of=default.as_of, url=default.url))]
        rows += [
            (region, PriceSource(name=spec.name, as_of=spec.as_of, url=spec.url))
            for region, spec in sorted(self._ec2.region_sources.items())
        ]
        return rows

    def ec2_instance_types(self) -> list[str]:
        """The instance types the packaged EC2 table prices."""
        return sorted(self._ec2.instances)

    def spot_reference_source(self) -> PriceSource:
        spec = self._ec2.spot_reference_source
        return PriceSource(name=spec.name, as_of=spec.as_of, url=spec.url)

    # -- construction -------------------------------------------------------------------

    @classmethod
    def bundled(cls) -> PriceBook:
        """The price book built from the data shipped inside the package (loaded once)."""
        return _bundled_price_book()

    @classmethod
    def for_home(cls, home: Path) -> PriceBook:
        """The bundled price book, with the LLM prices of ``spendpilot prices refresh`` when the
        home holds them (``<home>/prices/``): a refreshed file overrides the bundled one."""
        override = home / LLM_OVERRIDE_DIR
        if not (override / _LLM_FILE).is_file():
            return cls.bundled()
        return cls.from_directory(bundled_data_dir(), llm_dir=override)

    @classmethod
    def from_directory(cls, directory: Path, llm_dir: Path | None = None) -> PriceBook:
        llm_dir = llm_dir or directory
        return cls(
            ec2=_load(directory / _EC2_FILE, _Ec2Table, yaml.safe_load),
            llm_prices=_load_llm_prices(llm_dir / _LLM_FILE),
            llm_meta=_load(llm_dir / _LLM_META_FILE, _LlmMeta, json.loads),
            tiers=_load(directory / _TIERS_FILE, _TierTable, yaml.safe_load),
            sagemaker=(
                _load(directory / _SAGEMAKER_FILE, _SageMakerTable, yaml.safe_load)
                if (directory / _SAGEMAKER_FILE).is_file() else None
            ),
            ebs=_load(directory / _EBS_FILE, _EbsTable, yaml.safe_load) if (directory / _EBS_FILE).is_file() else None,
            cache_minimums=(
                _load(directory / _CACHE_MIN_FILE, _CacheMinTable, yaml.safe_load)
                if (directory / _CACHE_MIN_FILE).is_file() else None
            ),
            sagemaker_ml=(
                _load(directory / _SAGEMAKER_ML_FILE, _SageMakerMlTable, yaml.safe_load)
                if (directory / _SAGEMAKER_ML_FILE).is_file() else None
            ),
        )

    # -- EC2 ----------------------------------------------------------------------------

    def instance(self, instance_type: str) -> InstanceSpec | None:
        key = instance_type.strip().lower()
        entry = self._ec2.instances.get(key)
        if entry is None:
            return None
        return InstanceSpec(
            instance_type=key,
            vcpus=entry.vcpus,
            memory_gib=entry.memory_gib,
            gpus=entry.gpus,
            gpu_model=entry.gpu_model,
        )

    def is_gpu(self, instance_type: str) -> bool:
        """GPU or ML accelerator instance: by the recorded spec, else by family prefix."""
        spec = self.instance(instance_type)
        if spec is not None:
            return spec.gpus > 0
        name = instance_type.strip().lower().removeprefix("ml.")
        return bool(_GPU_FAMILY.match(name))

    def on_demand(self, instance_type: str, region: str) -> HourlyPrice | None:
        """Linux on-demand $/h; for a region without a recorded price, us-east-1's, labelled so."""
        key = instance_type.strip().lower()
        live = self._live_on_demand.get((key, region))
        if live is not None:
            return live
        entry = self._ec2.instances.get(key)
        if entry is None:
            return None
        price_region = region if region in entry.on_demand else self._ec2.default_region
        source_spec = self._ec2.region_sources.get(price_region, self._ec2.on_demand_source)
        name = source_spec.name
        failure = self._live_failures.get((key, region))
        if failure:
            name = f"{name}; packaged table used because {failure}"
        if price_region != region:
            name = f"{name} ({price_region} price used: no reference price for {region})"
        return HourlyPrice(
            instance_type=key,
            region=price_region,
            per_hour=entry.on_demand[price_region],
            source=PriceSource(name=name, as_of=source_spec.as_of, url=source_spec.url),
            note=entry.note,
        )

    def spot(
        self,
        instance_type: str,
        region: str,
        live_price: Decimal | str | None = None,
    ) -> SpotPriceRange | None:
        """Spot $/h: the live price when plausible, otherwise the reference range.

        A live price is plausible between 5% and 100% of the on-demand price; anything else
        (e.g. moto's ``0.00001``) is ignored and the note says so. Without a reference on-demand
        price the plausibility of a live price cannot be judged, so the result is ``None``.
        """
        on_demand = self.on_demand(instance_type, region)
        if on_demand is None:
            return None
        key = on_demand.instance_type
        notes: list[str] = []

        if live_price is not None:
            live = Decimal(str(live_price))
            floor = on_demand.per_hour * MIN_PLAUSIBLE_SPOT_FRACTION
            if floor <= live <= on_demand.per_hour:
                return SpotPriceRange(
                    instance_type=key,
                    region=region,
                    low=live,
                    typical=live,
                    high=live,
                    source=PriceSource(name=LIVE_SPOT_SOURCE_NAME, live=True),
                )
            reason = "< 5% of on-demand" if live < floor else "> on-demand"
            notes.append(f"live price {live_price} ignored: implausible ({reason})")

        entry = self._ec2.instances.get(key)
        if entry is None:  # a live on-demand price for a type the packaged table does not hold
            return None
        reference = entry.spot_us_east_1
        ref_region = self._ec2.default_region
        low, typical, high = reference.low, reference.typical, reference.high
        if on_demand.region != ref_region or on_demand.source.live:
            scale = on_demand.per_hour / entry.on_demand[ref_region]
            low, typical, high = (
                (value * scale).quantize(_SPOT_QUANTUM, rounding=ROUND_HALF_UP)
                for value in (low, typical, high)
            )
            which = "live " if on_demand.source.live else ""
            notes.append(f"scaled from the {ref_region} reference by the {which}on-demand price ratio")
        elif region != ref_region:
            notes.append(f"{ref_region} reference used: no reference price for {region}")
        notes.append("reference range, not live")
        if entry.note:
            notes.append(entry.note)

        source_spec = self._ec2.spot_reference_source
        return SpotPriceRange(
            instance_type=key,
            region=on_demand.region,
            low=low,
            typical=typical,
            high=high,
            source=PriceSource(name=source_spec.name, as_of=source_spec.as_of, url=source_spec.url),
            note="; ".join(notes),
        )

    # -- SageMaker hosting --------------------------------------------------------------

    def sagemaker_hosting(self, instance_type: str, region: str) -> HourlyPrice | None:
        """Real-time inference $/instance-hour of an ``ml.*`` type, or None without a sourced price.

        No fallback: not to another region, not to the EC2 price of the same family.
        """
        table = self._sagemaker
        key = instance_type.strip().lower()
        entry = table.prices.get(region, {}).get(key) if table is not None else None
        if table is None or entry is None:
            return None
        return HourlyPrice(
            instance_type=key,
            region=region,
            per_hour=entry.per_hour,
            source=PriceSource(name=table.source.name, as_of=table.source.as_of, url=table.source.url),
            note=f"usage type {entry.usage_type}; quoted in {entry.quoted_in}",
        )

    def sagemaker_component(self, component: str, instance_type: str, region: str) -> HourlyPrice | None:
        """$/instance-hour of an ``ml.*`` type for one SageMaker component (``training``: a
        training job on demand, ``notebook``: a notebook instance), or None without a sourced
        price. No fallback to another region, component or the EC2 price of the family."""
        table = self._sagemaker_ml
        key = instance_type.strip().lower()
        entry = table.components.get(component, {}).get(region, {}).get(key) if table is not None else None
        if table is None or entry is None:
            return None
        return HourlyPrice(
            instance_type=key, region=region, per_hour=entry.per_hour,
            source=PriceSource(name=table.source.name, as_of=table.source.as_of, url=table.source.url),
            note=f"SageMaker {component}, usage type {entry.usage_type}; quoted in {entry.quoted_in}",
        )

    # -- EBS ----------------------------------------------------------------------------

    def ebs_volume(self, volume_type: str, region: str) -> StoragePrice | None:
        """$/GB-month (and provisioned IOPS / throughput prices) of an EBS volume type, or None
        without a sourced price. No fallback to another region or a similar type."""
        return self._ebs_price("volumes", volume_type.strip().lower(), region)

    def ebs_snapshot(self, region: str, tier: str = "standard") -> StoragePrice | None:
        """$/GB-month of EBS snapshot storage in a tier, or None without a sourced price."""
        return self._ebs_price("snapshots", tier, region)

    def _ebs_price(self, table_name: str, key: str, region: str) -> StoragePrice | None:
        table = self._ebs
        if table is None:
            return None
        entry = getattr(table, table_name).get(region, {}).get(key)
        if entry is None:
            return None
        return StoragePrice(
            kind=key if table_name == "volumes" else f"snapshot {key}",
            region=region, per_gb_month=entry.per_gb_month, per_iops_month=entry.per_iops_month,
            included_iops=entry.included_iops, per_mibps_month=entry.per_mibps_month,
            included_throughput_mibps=entry.included_throughput_mibps,
            source=PriceSource(name=table.source.name, as_of=table.source.as_of, url=table.source.url),
            note=f"quoted in {entry.quoted_in}",
        )

    # -- LLM tokens ---------------------------------------------------------------------

    def token_price(self, model: str) -> TokenPrice | None:
        """Per-token prices: exact key, then without provider prefix, then without snapshot date."""
        resolved = self._resolve(model)
        if resolved is None:
            return None
        key, matched_by = resolved
        entry = self._llm[key]
        url = entry.source if entry.source and entry.source.startswith("http") else None
        meta = self._llm_meta
        output = Decimal(str(entry.output_cost_per_token))
        reasoning = _decimal(entry.output_cost_per_reasoning_token)
        as_of = f"litellm {meta.litellm_version}" + (f", copied {meta.copied_on}" if meta.copied_on else "")
        return TokenPrice(
            model=key,
            provider=entry.litellm_provider,
            input_per_token=Decimal(str(entry.input_cost_per_token)),
            output_per_token=output,
            cached_input_per_token=_decimal(entry.cache_read_input_token_cost),
            cache_write_per_token=_decimal(entry.cache_creation_input_token_cost),
            cache_write_1h_per_token=_decimal(entry.cache_creation_input_token_cost_above_1hr),
            batch_input_per_token=_decimal(entry.input_cost_per_token_batches),
            batch_output_per_token=_decimal(entry.output_cost_per_token_batches),
            batch_cached_input_per_token=_decimal(entry.cache_read_input_token_cost_batches),
            reasoning_per_token=reasoning if reasoning is not None else output,
            reasoning_priced_separately=reasoning is not None,
            prompt_cache_min_tokens=self.prompt_cache_minimum(model),
            deprecation_date=_parse_date(entry.deprecation_date),
            matched_by=matched_by,
            source=PriceSource(
                name=f"{meta.attribution} (litellm {meta.litellm_version})",
                as_of=as_of,
                url=url or meta.url,
            ),
        )

    def prompt_cache_minimum(self, model: str) -> int | None:
        """The smallest prefix (tokens) the provider caches for ``model``, or None if unknown.

        The largest of litellm's ``prompt_cache_min_tokens``, the family's value in
        ``prompt_cache_minimums.yaml`` and, for OpenAI models, OpenAI's 1,024: where sources
        disagree, a proposal must clear every one of them.
        """
        resolved = self._resolve(model)
        entry = self._llm[resolved[0]] if resolved is not None else None
        known: list[int] = []
        if entry is not None and entry.prompt_cache_min_tokens:
            known.append(entry.prompt_cache_min_tokens)
        table = self._cache_min
        if table is not None:
            family = table.families.get(_parse_model_name(model).family)
            if family is not None:
                known.append(family)
            if entry is not None and entry.litellm_provider == "openai":
                known.append(table.openai_minimum)
        return max(known) if known else None

    def tier(self, model: str) -> Tier | None:
        """``frontier`` / ``mid`` / ``small`` for a known family (fine-tunes take their base's)."""
        family = self._families.get(_parse_model_name(model).family)
        return family.tier if family else None

    def mid_tier_for(self, model: str) -> str | None:
        """The price-book key to route ``model``'s traffic to, or ``None``.

        The target is the family's ``route_to`` in ``model_tiers.yaml``, served from the same
        provider and namespace as ``model`` (an ``us.anthropic.*`` Bedrock profile routes to the
        ``us.anthropic.*`` target). No route is offered for fine-tunes, for namespaces without the
        target model, or to a model litellm lists as retiring before ``model`` does.
        """
        parsed = _parse_model_name(model)
        family = self._families.get(parsed.family)
        if family is None or family.route_to is None or parsed.fine_tuned:
            return None
        target_family = _parse_model_name(family.route_to).family

        resolved = self._resolve(model)
        if resolved is not None:
            key = resolved[0]
            entry = self._llm[key]
            group = _PROVIDER_GROUP.get(entry.litellm_provider, entry.litellm_provider)
            namespace = _parse_model_name(key).namespace
            retires = _parse_date(entry.deprecation_date)
        else:
            on_bedrock = bool(parsed.namespace) or model.strip().lower().startswith("bedrock/")
            group = "bedrock" if on_bedrock else family.maker
            namespace = parsed.namespace
            retires = None

        candidates = [
            key
            for key in self._route_index.get((group, namespace, target_family), [])
            if _retires_no_sooner(_parse_date(self._llm[key].deprecation_date), retires)
        ]
        if not candidates:
            return None
        undated = namespace + target_family
        return min(candidates, key=lambda k: ("@" in k, k != undated, len(k), k))

    def _resolve(self, model: str) -> tuple[str, MatchKind] | None:
        for candidate, matched_by in _lookup_candidates(model):
            if candidate in self._llm:
                return candidate, matched_by
        return None


# --------------------------------------------------------------------------- loading


_Schema = TypeVar("_Schema", bound=BaseModel)


def _load(path: Path, schema: type[_Schema], parse: Any) -> _Schema:
    try:
        raw = parse(path.read_text(encoding="utf-8"))
        return schema.model_validate(raw)
    except (OSError, ValueError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"cannot load price data {path}: {exc}") from exc


def _load_llm_prices(path: Path) -> dict[str, _LlmEntry]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {key: _LlmEntry.model_validate(entry) for key, entry in raw.items()}
    except (OSError, ValueError, ValidationError) as exc:
        raise ConfigError(f"cannot load price data {path}: {exc}") from exc


LLM_OVERRIDE_DIR = "prices"
"""Folder under the home where ``spendpilot prices refresh`` keeps a refreshed price file."""


def bundled_data_dir() -> Path:
    """The directory holding the bundled price data (inside the installed package)."""
    return Path(str(resources.files("spendpilot.savings") / "data"))


@lru_cache(maxsize=1)
def _bundled_price_book() -> PriceBook:
    return PriceBook.from_directory(bundled_data_dir())

"""The price book against its real bundled data, plus integrity checks on that data."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from tests.conftest import DATA as TEST_DATA

from spendpilot.errors import ConfigError
from spendpilot.savings.pricebook import PriceBook, bundled_data_dir

DATA = bundled_data_dir()
LITELLM_UPSTREAM = TEST_DATA / "llm-prices" / "litellm_prices_openai_anthropic_bedrock.json"
"""litellm 1.109.1's own entries for these providers, unchanged (see that folder's PROVENANCE.md)."""
TIER_RANK = {"small": 1, "mid": 2, "frontier": 3}
GROUP = {
    "openai": "openai",
    "anthropic": "anthropic",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
}


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook.bundled()


@pytest.fixture(scope="module")
def ec2_yaml() -> dict:
    return yaml.safe_load((DATA / "ec2_prices.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tiers_yaml() -> dict:
    return yaml.safe_load((DATA / "model_tiers.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def llm_json() -> dict:
    return json.loads((DATA / "llm_prices.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def litellm_upstream() -> dict:
    return json.loads(LITELLM_UPSTREAM.read_text(encoding="utf-8"))


def test_bundled_is_loaded_once() -> None:
    assert PriceBook.bundled() is PriceBook.bundled()


# --------------------------------------------------------------------------- EC2 on-demand


def test_g5_xlarge_on_demand_is_the_recorded_list_price_with_its_source(
    book: PriceBook, ec2_yaml: dict
) -> None:
    price = book.on_demand("g5.xlarge", "us-east-1")

    assert price is not None
    assert price.per_hour == Decimal(ec2_yaml["instances"]["g5.xlarge"]["on_demand"]["us-east-1"])
    assert price.per_hour == Decimal("1.006")
    assert price.currency == "USD"
    assert price.region == "us-east-1"
    assert price.source.name == "AWS Price List, AmazonEC2 us-east-1 offer 20260924211011, Linux, shared tenancy"
    assert price.source.as_of == ec2_yaml["on_demand_source"]["as_of"] == "2026-09-24"
    assert price.source.url == (
        "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/us-east-1/index.json"
    )
    assert price.source.live is False


def test_unknown_region_falls_back_to_us_east_1_and_says_so(book: PriceBook) -> None:
    price = book.on_demand("g5.xlarge", "ap-south-1")

    assert price is not None
    assert price.region == "us-east-1"
    assert price.per_hour == Decimal("1.006")
    assert "no reference price for ap-south-1" in price.source.name


def test_recorded_region_is_used_when_present(book: PriceBook) -> None:
    price = book.on_demand("m5.xlarge", "eu-west-1")

    assert price is not None
    assert (price.region, price.per_hour) == ("eu-west-1", Decimal("0.214"))
    assert "no reference price" not in price.source.name


def test_a_region_from_the_older_source_shows_that_source_and_its_date(book: PriceBook) -> None:
    """us-west-2 and eu-west-1 were not re-checked in 2026: their prices keep their 2024-06 date."""
    for region in ("us-west-2", "eu-west-1"):
        price = book.on_demand("m5.xlarge", region)
        assert price is not None and price.region == region
        assert price.source.as_of == "2024-06" and "not re-checked" in price.source.name
    east = book.on_demand("m5.xlarge", "us-east-1")
    assert east is not None and east.source.as_of == "2026-09-24"


def test_pre_cut_p4d_price_of_us_west_2_is_gone_and_the_dated_us_east_1_one_is_used(book: PriceBook) -> None:
    price = book.on_demand("p4d.24xlarge", "us-west-2")
    assert price is not None
    assert (price.region, price.per_hour, price.source.as_of) == ("us-east-1", Decimal("21.957642"), "2026-09-24")
    assert "us-east-1 price used: no reference price for us-west-2" in price.source.name


@pytest.mark.parametrize(
    ("instance_type", "per_hour"),
    [("p4d.24xlarge", "21.957642"), ("p4de.24xlarge", "27.44705"), ("p5.48xlarge", "55.04"), ("p5en.48xlarge", "63.296")],
)
def test_p4_and_p5_prices_are_after_the_june_2025_cut(book: PriceBook, instance_type: str, per_hour: str) -> None:
    price = book.on_demand(instance_type, "us-east-1")
    assert price is not None and price.per_hour == Decimal(per_hour)
    assert price.source.as_of == "2026-09-24"


def test_p4d_and_p5_say_they_are_after_the_2025_price_cut(book: PriceBook) -> None:
    for instance_type in ("p4d.24xlarge", "p5.48xlarge"):
        price = book.on_demand(instance_type, "us-east-1")
        assert price is not None
        assert "June 2025" in price.note


def test_unknown_instance_type_has_no_price(book: PriceBook) -> None:
    assert book.on_demand("x9z.huge", "us-east-1") is None
    assert book.spot("x9z.huge", "us-east-1", Decimal("1")) is None
    assert book.instance("x9z.huge") is None


def test_prices_serialise_as_strings(book: PriceBook) -> None:
    price = book.on_demand("p4d.24xlarge", "us-east-1")
    assert price is not None
    assert json.loads(price.model_dump_json())["per_hour"] == "21.957642"


# --------------------------------------------------------------------------- spot


def test_moto_placeholder_spot_price_is_ignored_for_the_reference_range(
    book: PriceBook, ec2_yaml: dict
) -> None:
    spot = book.spot("g5.xlarge", "us-east-1", live_price=Decimal("0.00001"))

    assert spot is not None
    assert "live price 0.00001 ignored: implausible (< 5% of on-demand)" in spot.note
    reference = ec2_yaml["instances"]["g5.xlarge"]["spot_us_east_1"]
    assert (spot.low, spot.typical, spot.high) == tuple(
        Decimal(reference[k]) for k in ("low", "typical", "high")
    )
    assert spot.source.live is False
    assert "not live" in spot.note


def test_plausible_live_spot_price_is_used_and_marked_live(book: PriceBook) -> None:
    spot = book.spot("g5.xlarge", "us-west-2", live_price=Decimal("0.4123"))

    assert spot is not None
    assert spot.low == spot.typical == spot.high == Decimal("0.4123")
    assert spot.region == "us-west-2"
    assert spot.source.live is True
    assert spot.source.name == "EC2 DescribeSpotPriceHistory"
    assert spot.note == ""


def test_live_spot_price_above_on_demand_is_ignored(book: PriceBook) -> None:
    spot = book.spot("m5.xlarge", "us-east-1", live_price="0.50")

    assert spot is not None
    assert spot.source.live is False
    assert "live price 0.50 ignored: implausible (> on-demand)" in spot.note


def test_live_spot_price_at_the_plausibility_edges(book: PriceBook) -> None:
    on_demand = Decimal("0.192")  # m5.xlarge, us-east-1
    at_floor = book.spot("m5.xlarge", "us-east-1", live_price=on_demand * Decimal("0.05"))
    below = book.spot("m5.xlarge", "us-east-1", live_price=on_demand * Decimal("0.049"))
    at_on_demand = book.spot("m5.xlarge", "us-east-1", live_price=on_demand)

    assert at_floor is not None and at_floor.source.live
    assert below is not None and not below.source.live
    assert at_on_demand is not None and at_on_demand.source.live


def test_reference_spot_range_is_scaled_for_a_recorded_region(book: PriceBook) -> None:
    spot = book.spot("m5.xlarge", "eu-west-1")

    assert spot is not None
    assert spot.region == "eu-west-1"
    ratio = Decimal("0.214") / Decimal("0.192")
    assert abs(spot.typical - Decimal("0.0768") * ratio) < Decimal("0.0001")
    assert "scaled from the us-east-1 reference" in spot.note


# --------------------------------------------------------------------------- instance specs


def test_instance_spec_and_gpu_detection(book: PriceBook) -> None:
    spec = book.instance("g5.12xlarge")

    assert spec is not None
    assert (spec.vcpus, spec.memory_gib, spec.gpus, spec.gpu_model) == (48, 192, 4, "NVIDIA A10G")
    assert book.is_gpu("g5.12xlarge")
    assert book.is_gpu("trn1.32xlarge")
    assert not book.is_gpu("m5.xlarge")


@pytest.mark.parametrize(
    ("instance_type", "expected"),
    [
        ("p5e.48xlarge", True),
        ("g6e.xlarge", True),
        ("dl1.24xlarge", True),
        ("inf1.xlarge", True),
        ("trn2.48xlarge", True),
        ("ml.g5.2xlarge", True),
        ("m7g.large", False),
        ("c7gn.xlarge", False),
        ("x2gd.large", False),
    ],
)
def test_gpu_detection_falls_back_to_the_family_prefix(
    book: PriceBook, instance_type: str, expected: bool
) -> None:
    assert book.instance(instance_type) is None
    assert book.is_gpu(instance_type) is expected


# --------------------------------------------------------------------------- EC2 data integrity

REQUIRED_TYPES = [
    "p3.2xlarge",
    "p3.8xlarge",
    "p3.16xlarge",
    "p4d.24xlarge",
    "p5.48xlarge",
    "g4dn.xlarge",
    "g4dn.2xlarge",
    "g4dn.12xlarge",
    "g5.xlarge",
    "g5.2xlarge",
    "g5.4xlarge",
    "g5.12xlarge",
    "g5.48xlarge",
    "g6.xlarge",
    "g6.12xlarge",
    "inf2.xlarge",
    "trn1.32xlarge",
    "t3.medium",
    "t3.large",
    "m5.large",
    "m5.xlarge",
    "m5.2xlarge",
    "m6i.large",
    "m6i.xlarge",
    "m6i.2xlarge",
    "c5.xlarge",
    "c5.2xlarge",
    "c6i.xlarge",
    "r5.xlarge",
    "r5.2xlarge",
]


def test_every_required_instance_type_is_recorded(ec2_yaml: dict) -> None:
    assert sorted(set(REQUIRED_TYPES) - set(ec2_yaml["instances"])) == []


def test_every_ec2_entry_has_spot_typical_below_on_demand(book: PriceBook, ec2_yaml: dict) -> None:
    for instance_type, entry in ec2_yaml["instances"].items():
        for region in entry["on_demand"]:
            on_demand = book.on_demand(instance_type, region)
            spot = book.spot(instance_type, region)
            assert on_demand is not None and spot is not None
            assert on_demand.region == region
            assert Decimal(0) < spot.low <= spot.typical <= spot.high <= on_demand.per_hour, (
                instance_type,
                region,
            )
            assert spot.typical < on_demand.per_hour, (instance_type, region)


def test_reference_spot_discounts_are_in_the_documented_bands(
    book: PriceBook, ec2_yaml: dict
) -> None:
    for instance_type in ec2_yaml["instances"]:
        on_demand = book.on_demand(instance_type, "us-east-1")
        spot = book.spot(instance_type, "us-east-1")
        assert on_demand is not None and spot is not None
        discount = 1 - spot.typical / on_demand.per_hour
        low, high = (
            (Decimal("0.40"), Decimal("0.70"))
            if book.is_gpu(instance_type)
            else (Decimal("0.50"), Decimal("0.70"))
        )
        assert low <= discount <= high, (instance_type, discount)


def test_reference_spot_values_match_their_family_band(ec2_yaml: dict) -> None:
    """The $/h in the file and the bands in its header must not drift apart."""
    for instance_type, entry in ec2_yaml["instances"].items():
        band = ec2_yaml["spot_bands"][instance_type.split(".")[0]]
        on_demand = Decimal(entry["on_demand"]["us-east-1"])
        for name, fraction in zip(("low", "typical", "high"), band, strict=True):
            value = Decimal(entry["spot_us_east_1"][name])
            tolerance = Decimal("0.005") if value >= 1 else Decimal("0.00005")
            assert abs(value - on_demand * Decimal(fraction)) <= tolerance, (instance_type, name)


def test_every_ec2_entry_has_a_complete_spec(book: PriceBook, ec2_yaml: dict) -> None:
    for instance_type in ec2_yaml["instances"]:
        spec = book.instance(instance_type)
        assert spec is not None
        assert spec.vcpus > 0 and spec.memory_gib > 0
        assert (spec.gpus > 0) == (spec.gpu_model is not None), instance_type
        assert book.is_gpu(instance_type) == (spec.gpus > 0)


# --------------------------------------------------------------------------- LLM token prices


def test_gpt_4o_token_price_equals_litellm(book: PriceBook, litellm_upstream: dict) -> None:
    upstream = litellm_upstream["gpt-4o"]
    price = book.token_price("gpt-4o")

    assert price is not None
    assert price.model == "gpt-4o"
    assert price.provider == "openai"
    assert price.input_per_token == Decimal(str(upstream["input_cost_per_token"]))
    assert price.output_per_token == Decimal(str(upstream["output_cost_per_token"]))
    assert price.cached_input_per_token == Decimal(str(upstream["cache_read_input_token_cost"]))
    assert price.input_per_token == Decimal("0.0000025")
    assert "BerriAI/litellm" in price.source.name
    assert price.source.live is False


def test_bundled_subset_copies_litellm_values_unchanged(
    llm_json: dict, litellm_upstream: dict
) -> None:
    for key, entry in llm_json.items():
        assert entry["mode"] == "chat"
        assert entry["litellm_provider"] in GROUP
        for field, value in entry.items():
            assert litellm_upstream[key][field] == value, (key, field)


@pytest.mark.parametrize(
    ("name", "key", "matched_by"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o-2024-08-06", "exact"),
        ("openai/gpt-4o", "gpt-4o", "provider_prefix"),
        ("gpt-4o-2099-01-01", "gpt-4o", "snapshot"),
        ("claude-sonnet-4-6-20270101", "claude-sonnet-4-6", "snapshot"),
        ("anthropic/claude-haiku-4-5", "claude-haiku-4-5", "provider_prefix"),
        (
            "bedrock/anthropic.claude-opus-4-1-20250805-v1:0",
            "anthropic.claude-opus-4-1-20250805-v1:0",
            "provider_prefix",
        ),
        (
            "bedrock/converse/us.anthropic.claude-opus-4-7",
            "us.anthropic.claude-opus-4-7",
            "provider_prefix",
        ),
        (
            "ft:gpt-4o-mini-2024-07-18:acme:triage:abc123",
            "ft:gpt-4o-mini-2024-07-18",
            "provider_prefix",
        ),
    ],
)
def test_token_price_resolves_prefixes_and_snapshots(
    book: PriceBook, name: str, key: str, matched_by: str
) -> None:
    price = book.token_price(name)

    assert price is not None
    assert (price.model, price.matched_by) == (key, matched_by)


def test_dated_snapshot_with_its_own_price_is_not_collapsed(book: PriceBook) -> None:
    old = book.token_price("gpt-4o-2024-05-13")
    assert old is not None and old.input_per_token == Decimal("0.000005")


def test_unknown_model_has_no_price_tier_or_route(book: PriceBook) -> None:
    assert book.token_price("llama-in-the-basement") is None
    assert book.tier("llama-in-the-basement") is None
    assert book.mid_tier_for("llama-in-the-basement") is None


# --------------------------------------------------------------------------- tiers and routes


@pytest.mark.parametrize(
    ("model", "tier", "route"),
    [
        ("gpt-4o", "frontier", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "frontier", "gpt-4o-mini"),
        ("openai/gpt-4o", "frontier", "gpt-4o-mini"),
        ("gpt-4o-mini", "mid", None),
        ("gpt-4.1", "frontier", "gpt-4.1-mini"),
        ("gpt-4.1-nano", "small", None),
        ("gpt-5", "frontier", "gpt-5-mini"),
        ("o3", "frontier", "gpt-4.1-mini"),
        ("o1-2024-12-17", "frontier", "gpt-4.1-mini"),
        ("claude-opus-4-7", "frontier", "claude-sonnet-4-6"),
        ("claude-sonnet-4-5", "mid", "claude-haiku-4-5"),
        ("claude-haiku-4-5", "small", None),
        (
            "bedrock/anthropic.claude-opus-4-1-20250805-v1:0",
            "frontier",
            "anthropic.claude-sonnet-4-6",
        ),
        (
            "us.anthropic.claude-opus-4-5-20251101-v1:0",
            "frontier",
            "us.anthropic.claude-sonnet-4-6",
        ),
        ("gpt-6-sol", None, None),
    ],
)
def test_tier_and_route(book: PriceBook, model: str, tier: str | None, route: str | None) -> None:
    assert book.tier(model) == tier
    assert book.mid_tier_for(model) == route


def test_fine_tunes_keep_their_base_tier_but_are_never_routed(book: PriceBook) -> None:
    assert book.tier("ft:gpt-4o-2024-08-06:acme::x1") == "frontier"
    assert book.mid_tier_for("ft:gpt-4o-2024-08-06:acme::x1") is None


def test_no_route_to_a_model_that_retires_sooner(book: PriceBook, llm_json: dict) -> None:
    # eu. Haiku 4.5 is listed as retiring 2026-10-15; eu. Sonnet 4.6 has no retirement date.
    assert llm_json["eu.anthropic.claude-haiku-4-5-20251001-v1:0"]["deprecation_date"]
    assert book.mid_tier_for("eu.anthropic.claude-sonnet-4-6") is None


def test_every_route_target_exists_and_is_cheaper_than_its_source(
    book: PriceBook, llm_json: dict, tiers_yaml: dict
) -> None:
    """Data integrity across every model in the bundled prices, in every namespace."""
    targets_used: set[str] = set()
    for source, entry in llm_json.items():
        target = book.mid_tier_for(source)
        if target is None:
            continue
        assert target in llm_json, (source, target)
        cheaper = llm_json[target]
        assert cheaper["input_cost_per_token"] < entry["input_cost_per_token"], (source, target)
        assert cheaper["output_cost_per_token"] < entry["output_cost_per_token"], (source, target)
        assert GROUP[cheaper["litellm_provider"]] == GROUP[entry["litellm_provider"]]
        source_tier, target_tier = book.tier(source), book.tier(target)
        assert source_tier is not None and target_tier is not None
        assert TIER_RANK[target_tier] < TIER_RANK[source_tier], (source, target)
        if cheaper.get("deprecation_date"):
            assert entry.get("deprecation_date"), (source, target)
            assert cheaper["deprecation_date"] >= entry["deprecation_date"], (source, target)
        targets_used.add(target)

    for family, spec in tiers_yaml["families"].items():
        route_to = spec.get("route_to")
        if route_to is None:
            continue
        assert route_to in llm_json, f"{family}: route_to {route_to} is not a bundled model"
        assert route_to in targets_used, f"{family}: route_to {route_to} is never used as a route"


def test_a_route_to_a_missing_model_is_refused_at_load(tmp_path: Path) -> None:
    for path in DATA.iterdir():
        if path.is_file():
            shutil.copy(path, tmp_path / path.name)
    tiers = yaml.safe_load((tmp_path / "model_tiers.yaml").read_text(encoding="utf-8"))
    tiers["families"]["gpt-4o"]["route_to"] = "gpt-4o-nano"
    (tmp_path / "model_tiers.yaml").write_text(yaml.safe_dump(tiers), encoding="utf-8")

    with pytest.raises(ConfigError, match="gpt-4o-nano"):
        PriceBook.from_directory(tmp_path)

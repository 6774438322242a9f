"""Estimates priced by ``pricing:GetProducts`` when it answers, by the dated packaged table when not.

The Price List API is a local server replying in the documented shape (the same replies as
tests/adapters/test_pricing_api.py; see tests/data/aws-pricing/PROVENANCE.md). The sweep's own
wiring (``[prices] ec2_live``) is exercised through ``agent.sweep._estimate_prices`` with real
settings and the real adapter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

from tests.adapters.reply_server import FAST_AWS, Reply, reply_server
from tests.adapters.test_pricing_api import JSON, _product, _reply

from spendpilot.actions.stop_instance import StopInstanceFacts
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.agent.sweep import SweepDeps, _estimate_prices
from spendpilot.config import Settings
from spendpilot.domain import Finding, Resource
from spendpilot.domain.resources import ResourceRef
from spendpilot.savings.live_ec2_prices import instance_types_in, with_live_on_demand
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate

TODAY = date(2026, 12, 3)
P4D = "p4d.24xlarge"


def _idle(instance_type: str = P4D, region: str | None = "us-east-1") -> Finding[StopInstanceFacts]:
    ref = ResourceRef(provider="aws", kind="ec2_instance", id="i-0abc", region=region, name="train-idle")
    return Finding(
        resource=Resource(ref=ref), summary="idle", rule="idle_gpu_instance", action_kind="stop_instance",
        facts=StopInstanceFacts(instance_type=instance_type, region=region),
    )


def _api(url: str) -> Any:
    return AwsAdapter(region="us-east-1", endpoint_url=url, config=FAST_AWS).pricing


def _p4d(price: str) -> str:
    return _product("P4D0000000000000", price, usagetype=f"BoxUsage:{P4D}", itype=P4D)


def _price_evidence(finding: Finding[StopInstanceFacts], prices: PriceBook) -> tuple[str, str, Decimal]:
    est = estimate(finding, prices)
    assert est is not None
    [price] = [e for e in est.inputs if e.label.startswith("On-demand price")]
    return price.value, price.source, est.high.amount


def test_a_quoted_price_is_used_and_its_evidence_says_from_get_products_on_the_day() -> None:
    with reply_server(GetProducts=_reply(_p4d("19.5000000000"))) as server:
        live = with_live_on_demand(PriceBook.bundled(), _api(server.url), {(P4D, "us-east-1")}, TODAY)
    assert server.operations == ["GetProducts"] and live.quoted == [(P4D, "us-east-1")] and live.warnings() == []

    value, source, high = _price_evidence(_idle(), live.prices)
    assert value == "$19.5/h"
    assert source.startswith("from pricing:GetProducts on 2026-12-03 (AWS Price List, sku P4D0000000000000")
    assert "as of 2026-12-03" in source
    assert high == Decimal("14235.00")  # 19.5 x 730 h: the quote, not the table's 21.957642


def test_the_packaged_price_keeps_its_own_date_when_no_live_price_is_asked_for() -> None:
    value, source, high = _price_evidence(_idle(), PriceBook.bundled())
    assert value == "$21.957642/h"
    assert "AWS Price List, AmazonEC2 us-east-1 offer 20260924211011" in source and "as of 2026-09-24" in source
    assert "pricing:GetProducts" not in source
    assert high == Decimal("16029.08")


def test_a_denied_price_list_falls_back_to_the_dated_table_with_a_visible_note() -> None:
    denied = Reply(status=400, content_type=JSON,
                   body=b'{"__type":"AccessDeniedException","message":"not authorized to perform: pricing:GetProducts"}')
    with reply_server(GetProducts=denied) as server:
        live = with_live_on_demand(
            PriceBook.bundled(), _api(server.url), {(P4D, "us-east-1"), ("g5.xlarge", "us-east-1")}, TODAY
        )
    assert server.operations == ["GetProducts"], "after the API itself failed, the other type is not asked"
    assert set(live.failures) == {(P4D, "us-east-1"), ("g5.xlarge", "us-east-1")}
    [warning] = live.warnings()
    assert "g5.xlarge (us-east-1), p4d.24xlarge (us-east-1)" in warning and "denied" in warning

    value, source, _ = _price_evidence(_idle(), live.prices)
    assert value == "$21.957642/h" and "as of 2026-09-24" in source
    assert "packaged table used because pricing:GetProducts failed on 2026-12-03" in source


def test_an_unreachable_price_list_falls_back_too() -> None:
    with reply_server(GetProducts=Reply(behaviour="reset")) as server:
        live = with_live_on_demand(PriceBook.bundled(), _api(server.url), {(P4D, "us-east-1")}, TODAY)
    _, source, _ = _price_evidence(_idle(), live.prices)
    assert "packaged table used because pricing:GetProducts failed on 2026-12-03" in source


def test_a_type_the_price_list_does_not_list_is_priced_from_the_table_and_says_so() -> None:
    with reply_server(GetProducts=_reply()) as server:
        live = with_live_on_demand(PriceBook.bundled(), _api(server.url), {(P4D, "us-east-1")}, TODAY)
    _, source, _ = _price_evidence(_idle(), live.prices)
    assert "pricing:GetProducts on 2026-12-03 lists no Linux on-demand price for it" in source


def test_the_spot_reference_range_follows_a_live_on_demand_price() -> None:
    with reply_server(GetProducts=_reply(_p4d("10.9788210000"))) as server:  # half the table's price
        live = with_live_on_demand(PriceBook.bundled(), _api(server.url), {(P4D, "us-east-1")}, TODAY)
    table = PriceBook.bundled().spot(P4D, "us-east-1")
    spot = live.prices.spot(P4D, "us-east-1")
    assert table is not None and spot is not None
    assert spot.typical == (table.typical / 2).quantize(Decimal("0.0001"))
    assert "by the live on-demand price ratio" in spot.note


def test_findings_name_the_types_to_quote_and_sagemaker_types_are_left_out() -> None:
    findings = [_idle(), _idle("g5.xlarge", None), _idle("ml.g5.xlarge", "us-east-1")]
    assert instance_types_in(findings) == {(P4D, "us-east-1"), ("g5.xlarge", "us-east-1")}


def _deps(settings: Settings) -> SweepDeps:
    return SweepDeps(settings=settings, store=cast(Any, None), prices=PriceBook.bundled(), sources=[],
                     memory=None, model=None, start_remediation=lambda _p: None)


def test_a_sweep_asks_the_price_list_only_when_configured(tmp_path: Any) -> None:
    now = datetime(2026, 12, 3, 9, tzinfo=UTC)
    with reply_server(GetProducts=_reply(_p4d("19.5000000000"))) as server:
        off = Settings(home=tmp_path)
        warnings: list[str] = []
        assert _estimate_prices(_deps(off), [_idle()], now, warnings) is PriceBook.bundled()
        assert server.operations == []

        on = Settings(home=tmp_path, prices={"ec2_live": True, "pricing_endpoint_url": server.url})
        prices = _estimate_prices(_deps(on), [_idle()], now, warnings)
    assert server.operations == ["GetProducts"] and warnings == []
    _, source, _ = _price_evidence(_idle(), prices)
    assert source.startswith("from pricing:GetProducts on 2026-12-03")

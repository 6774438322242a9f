"""``pricing:GetProducts`` against a local server replying in the documented shape.

moto has no Price List API; ``reply_server`` answers boto3's real request with a scripted body in
the AWS JSON protocol, so botocore's parser and our error translation run as against AWS. The
shape follows the AWS CLI's documented example (see tests/data/aws-pricing/PROVENANCE.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tests.adapters.reply_server import FAST_AWS, Reply, reply_server

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.errors import AdapterError

JSON = "application/x-amz-json-1.1"


def _product(sku: str, price: str, usagetype: str = "BoxUsage:g5.xlarge", itype: str = "g5.xlarge") -> str:
    offer = "JRTCKXETXF"
    rate = f"{sku}.{offer}.6YS6EN2CT7"
    doc: dict[str, Any] = {
        "product": {
            "productFamily": "Compute Instance",
            "attributes": {
                "instanceType": itype, "regionCode": "us-east-1", "location": "US East (N. Virginia)",
                "operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used",
                "licenseModel": "No License required", "usagetype": usagetype, "servicecode": "AmazonEC2",
            },
            "sku": sku,
        },
        "serviceCode": "AmazonEC2",
        "terms": {"OnDemand": {f"{sku}.{offer}": {
            "priceDimensions": {rate: {
                "unit": "Hrs", "endRange": "Inf", "beginRange": "0", "appliesTo": [], "rateCode": rate,
                "description": f"${price} per On Demand Linux {itype} Instance Hour",
                "pricePerUnit": {"USD": price},
            }},
            "sku": sku, "effectiveDate": "2025-06-01T00:00:00Z", "offerTermCode": offer, "termAttributes": {},
        }}},
        "version": "20251101000000",
        "publicationDate": "2025-11-01T00:00:00Z",
    }
    return json.dumps(doc)


def _reply(*products: str) -> Reply:
    body = {"FormatVersion": "aws_v1", "PriceList": list(products)}
    return Reply(body=json.dumps(body).encode(), content_type=JSON)


def _aws(url: str) -> AwsAdapter:
    return AwsAdapter(region="eu-west-1", endpoint_url=url, config=FAST_AWS)


def test_the_hourly_on_demand_price_is_read_from_the_price_list_strings() -> None:
    with reply_server(GetProducts=_reply(_product("ABCD1234EFGH5678", "1.0060000000"))) as server:
        price = _aws(server.url).pricing.ec2_on_demand("g5.xlarge", "us-east-1")
    assert server.operations == ["GetProducts"]
    assert price is not None and price.per_hour == Decimal("1.006") and price.currency == "USD"
    assert price.sku == "ABCD1234EFGH5678" and price.effective_date == datetime(2025, 6, 1, tzinfo=UTC)
    assert price.publication_date == datetime(2025, 11, 1, tzinfo=UTC)


def test_the_instance_hour_product_is_chosen_over_other_usage_types() -> None:
    reply = _reply(_product("UNUSED0000000000", "1.0060000000", usagetype="UnusedBox:g5.xlarge"),
                   _product("BOX0000000000000", "1.0060000000"),
                   _product("OTHERTYPE0000000", "2.0120000000", itype="g5.2xlarge"))
    with reply_server(GetProducts=reply) as server:
        price = _aws(server.url).pricing.ec2_on_demand("g5.xlarge", "us-east-1")
    assert price is not None and price.sku == "BOX0000000000000"


def test_no_product_is_no_price() -> None:
    with reply_server(GetProducts=_reply()) as server:
        assert _aws(server.url).pricing.ec2_on_demand("g5.xlarge", "us-east-1") is None


@pytest.mark.parametrize(
    ("products", "message"),
    [
        (["{not json"], "PriceList entry 1 is not JSON"),
        ([_product("ABCD1234EFGH5678", "n/a")], "pricePerUnit.USD is 'n/a', not a number"),
        ([_product("A000000000000000", "1.0060000000"), _product("B000000000000000", "1.1000000000")],
         "has several prices"),
    ],
)
def test_a_price_list_that_cannot_be_read_is_an_error_naming_the_entry(products: list[str], message: str) -> None:
    with reply_server(GetProducts=_reply(*products)) as server, pytest.raises(AdapterError, match=message):
        _aws(server.url).pricing.ec2_on_demand("g5.xlarge", "us-east-1")


def test_a_denied_price_list_is_a_one_line_adapter_error() -> None:
    denied = Reply(status=400, content_type=JSON,
                   body=b'{"__type":"AccessDeniedException","message":"User is not authorized to perform: pricing:GetProducts"}')
    with reply_server(GetProducts=denied) as server, pytest.raises(AdapterError, match="pricing:GetProducts denied"):
        _aws(server.url).pricing.ec2_on_demand("g5.xlarge", "us-east-1")

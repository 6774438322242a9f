"""`spendpilot eval` on a token lever with post-execution usage (realized_route_to_model): the runner
routes two features from gpt-4.1 to gpt-4.1-mini in the emulator, one is routed back by its owner,
the week of usage after is billed on the model each route names then, and the eval reports each
estimate against what the bill showed.

One scenario run (~25 s) through the CLI; the rest talks to the emulator and the price table.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from tests.conftest import run_cli

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.domain import (
    ActionPlan,
    Estimate,
    Evidence,
    Money,
    Proposal,
    ProposalStatus,
    ResourceRef,
    Risk,
)
from spendpilot.errors import ScenarioError
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.model import load_scenario, scenarios_root
from spendpilot.scenarios.realized_eval import models_after, post_execution_usage, route_back

SCENARIO = "realized_route_to_model"


def _hand_worked_monthly(requests: int, tokens_in: int, tokens_out: int) -> Decimal:
    """requests/day x tokens x (gpt-4.1 - gpt-4.1-mini list price), a day x 730 h / 24 h, to the cent."""
    prices = PriceBook.bundled()
    big, mid = prices.token_price("gpt-4.1"), prices.token_price("gpt-4.1-mini")
    assert big is not None and mid is not None
    per_day = requests * (tokens_in * (big.input_per_token - mid.input_per_token)
                          + tokens_out * (big.output_per_token - mid.output_per_token))
    return (per_day * 730 / 24).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_the_list_prices_give_the_hand_worked_truths() -> None:
    # expected.yaml / realized.yaml's comments: $25.92 and $10.24 a day, x 730 / 24
    assert _hand_worked_monthly(30_000, 500, 10) == Decimal("788.40")
    assert _hand_worked_monthly(20_000, 300, 5) == Decimal("311.47")
    spec = load_scenario(scenarios_root() / SCENARIO)
    assert spec.realized is not None
    truths = {e.target: e.realized for e in spec.realized.execute}
    assert truths == {"invoice-tagger": Decimal("788.40"), "faq-router": Decimal("0")}
    assert {p.target: p.saving for p in spec.expected.must_propose} == {
        "invoice-tagger": Decimal("788.40"), "faq-router": Decimal("311.47")}


def test_eval_measures_the_routing_to_the_cent_and_the_routed_back_trap_reads_zero() -> None:
    proc = run_cli("eval", SCENARIO, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    (scenario,) = report["scenarios"]
    assert scenario["passed"] is True and scenario["traps_hit"] == [] and scenario["missed"] == []
    rows = {r["target"]: r for r in report["realized"]}
    assert set(rows) == {"invoice-tagger", "faq-router"}  # contract-review: never proposed, never executed
    routed, back = rows["invoice-tagger"], rows["faq-router"]
    # routed and left routed: the same requests and tokens at gpt-4.1-mini's list price
    assert routed["status"] == "measured" and routed["realized_ok"] is True
    assert Decimal(routed["realized"]) == _hand_worked_monthly(30_000, 500, 10) == Decimal(routed["truth"])
    # the estimate assumes 90 % of the traffic moves (30.4167 days a month): $709.56, 11.1 % under
    assert routed["estimate"] == "709.56" and routed["high"] == "788.40"
    assert routed["error"] == pytest.approx((709.56 - 788.40) / 709.56)
    # routed back the same day: the bill shows no drop, and the eval says so
    assert (back["status"], back["estimate"], back["realized"]) == ("measured", "280.32", "0.00")
    assert back["error"] == 1.0 and back["realized_ok"] is True
    (check,) = report["checks"]
    assert check["rule"] == "frontier_model_simple_tasks"
    assert check["realized_error"] == pytest.approx(((709.56 - 788.40) / 709.56 + 1.0) / 2)
    plain = run_cli("eval", SCENARIO)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    line = next(ln for ln in plain.stdout.splitlines() if "invoice-tagger" in ln and "$788.40" in ln)
    assert "-11.1%" in line and line.rstrip().endswith("ok")


def _advisory_route(feature: str, model: str) -> Proposal:
    ref = ResourceRef(provider="openai", kind="llm_feature", id=feature, name=feature)
    plan = ActionPlan(action="route_to_model", target=ref, change={"advisory": True, "model": model},
                      expected_pre_state={}, rollback_description="route it back",
                      description=f"[advisory] Route {feature} to {model} in the gateway.")
    amount = Money.usd(Decimal("1"))
    return Proposal(id="sp-0000cccc", rule="frontier_model_simple_tasks", action="route_to_model", target=ref,
                    summary="short requests on a frontier model",
                    estimate=Estimate(low=amount, expected=amount, high=amount, formula="x", inputs=[]),
                    plan=plan, risk=Risk.MEDIUM, evidence=[Evidence(label="l", value="v", source="s")],
                    status=ProposalStatus.EXECUTED, fingerprint="fp", evidence_digest="d")


def test_after_traffic_follows_the_routes_and_the_approved_plan_not_the_scenario(aws_endpoint: str,
                                                                                  tmp_path: Path) -> None:
    spec = load_scenario(scenarios_root() / SCENARIO)
    aws = AwsAdapter(region=spec.region, endpoint_url=aws_endpoint)
    for route in spec.resources.llm_features:  # as seeded
        aws.llm_routing.set_route(route.feature, route.model)
    assert set(models_after(spec, [], aws).values()) == {"gpt-4.1"}  # nothing changed: nothing moves
    aws.llm_routing.set_route("invoice-tagger", "gpt-4.1-mini")  # what the executor writes
    aws.llm_routing.set_route("faq-router", "gpt-4.1-mini")
    route_back(spec, aws)  # faq-router's owner undoes it
    assert models_after(spec, [], aws) == {
        "invoice-tagger": "gpt-4.1-mini", "faq-router": "gpt-4.1", "contract-review": "gpt-4.1"}
    # a feature without a route the emulator holds (an advisory / gateway change) uses the model
    # its approved plan names, whichever it is
    unrouted = spec.model_copy(update={"resources": spec.resources.model_copy(update={
        "llm_features": [r for r in spec.resources.llm_features if r.feature != "invoice-tagger"]})})
    assert models_after(unrouted, [_advisory_route("invoice-tagger", "gpt-4.1-nano")], aws)["invoice-tagger"] \
        == "gpt-4.1-nano"
    assert models_after(unrouted, [], aws)["invoice-tagger"] == "gpt-4.1"
    # routed_back naming a feature without a seeded route is refused by file, field and name
    folder = tmp_path / "s"
    shutil.copytree(scenarios_root() / SCENARIO, folder)
    text = (folder / "realized.yaml").read_text()
    (folder / "realized.yaml").write_text(text.replace("routed_back: [faq-router]", "routed_back: [faq-routr]"))
    with pytest.raises(ScenarioError, match=r"realized\.yaml: field 'after_execution\.routed_back': 'faq-routr'"):
        route_back(load_scenario(folder), aws)


def test_post_execution_usage_keeps_requests_and_tokens_and_prices_the_new_model() -> None:
    spec = load_scenario(scenarios_root() / SCENARIO)
    end = datetime(2026, 12, 11, tzinfo=UTC)
    usage = post_execution_usage(spec, {"invoice-tagger": "gpt-4.1-mini"}, days=7, end=end)
    assert sorted({u.day for u in usage}) == [date(2026, 12, 4) + timedelta(days=d) for d in range(7)]
    by_feature = {(u.feature, u.model, u.requests, u.input_tokens, u.output_tokens, u.cost) for u in usage}
    assert by_feature == {
        ("invoice-tagger", "gpt-4.1-mini", 30_000, 15_000_000, 300_000, Decimal("6.48")),  # 15 x $0.40 + 0.3 x $1.60
        ("faq-router", "gpt-4.1", 20_000, 6_000_000, 100_000, Decimal("12.80")),  # 6 x $2 + 0.1 x $8
        ("contract-review", "gpt-4.1", 1_500, 18_000_000, 1_800_000, Decimal("50.40")),  # 18 x $2 + 1.8 x $8
    }

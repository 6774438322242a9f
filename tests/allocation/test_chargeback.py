"""Chargeback on an awkward lake: untagged rows, two currencies, Kubernetes idle capacity, a node
whose bill rows and allocation rows both hold its cost, and tokens whose team comes from a rule.

The lake is written by the real writers (``ingest_file`` for a bill, ``write_allocation`` for the
Kubernetes rows, ``token_focus_rows`` for tokens) and every expectation is checked against the
lake's own totals from the spend explorer (``run_spend_query``), not against our arithmetic.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from tests.allocation.lakes import D1, D2

from spendpilot.allocation.chargeback import (
    UNALLOCATED,
    CurrencySummary,
    Layer,
    export_focus,
    run_chargeback,
)
from spendpilot.allocation.settings import ChargebackSettings
from spendpilot.lake.ingest import ingest_file
from spendpilot.lake.spend import build_query, run_spend_query


def _lake_totals(lake: Path) -> dict[str, Decimal]:
    result = run_spend_query(lake, build_query(group_by=[], start=D1, end=D2))
    return {t.currency: t.amount for t in result.totals}


def test_allocation_reconciles_with_the_lake_to_the_cent_per_currency(awkward_lake: Path) -> None:
    result = run_chargeback(awkward_lake, by="team", start=D1, end=D2)
    lake = _lake_totals(awkward_lake)
    assert set(lake) == {"USD", "EUR"} == {c.currency for c in result.currencies}
    for summary in result.currencies:
        lines = sum((x.effective_cost for x in result.lines if x.currency == summary.currency), Decimal(0))
        replaced = sum((r.effective_cost for r in result.replaced if r.currency == summary.currency), Decimal(0))
        # The explorer counts a node once, as the chargeback does: lake − replaced (lake.k8s_replaced).
        assert lines + replaced == summary.lake_effective
        assert summary.chargeback_effective == lines == lake[summary.currency]
    eur = next(c for c in result.currencies if c.currency == "EUR")
    assert (eur.allocated_effective, eur.unallocated_effective) == (Decimal("80"), Decimal("3.333333"))


def test_kubernetes_rows_replace_the_bill_rows_of_their_nodes_only_on_allocated_days(awkward_lake: Path) -> None:
    result = run_chargeback(awkward_lake, by="team", start=D1, end=D2)
    # D1's node row (an ARN ending in the instance id) is replaced; D2 was not allocated, so it stays.
    assert [(r.cluster, r.currency, r.effective_cost, r.billed_cost) for r in result.replaced] == [
        ("prod-eks", "USD", Decimal("50"), Decimal("55"))]
    layers = {(t.layer, t.currency): t.effective_cost for t in result.layer_totals}
    assert layers[(Layer.KUBERNETES, "USD")] == Decimal("54")
    assert layers[(Layer.CLOUD, "USD")] == Decimal("50") + Decimal("90.10") + Decimal("7.005") + Decimal("12.50")
    assert layers[(Layer.TOKENS, "USD")] == Decimal("4.123456789")


def test_unallocated_lines_say_why_and_rules_are_named(awkward_lake: Path) -> None:
    result = run_chargeback(awkward_lake, by="team", start=D1, end=D2)
    unallocated = {(x.layer, x.currency, x.basis): x.effective_cost for x in result.unallocated()}
    assert unallocated == {
        (Layer.CLOUD, "USD", "no team tag"): Decimal("50") + Decimal("7.005") + Decimal("12.50"),
        (Layer.CLOUD, "EUR", "no team tag"): Decimal("3.333333"),
        (Layer.KUBERNETES, "USD", "Kubernetes workload without a team label"): Decimal("9.75"),
        (Layer.KUBERNETES, "USD", "Kubernetes idle capacity (prod-eks)"): Decimal("14"),
    }
    owned = {(x.owner, x.layer): (x.effective_cost, x.basis) for x in result.lines if x.owner != UNALLOCATED}
    # The token row has feature "chat" and no team; the bill tags chat with one team only: web.
    assert owned[("web", Layer.TOKENS)] == (Decimal("4.123456789"), "inferred from feature: chat")
    assert owned[("ml", Layer.KUBERNETES)] == (Decimal("30.25"), "tag")
    ruled = run_chargeback(awkward_lake, ChargebackSettings(namespace_teams={"web": "frontend-team"},
                                                            feature_teams={"chat": "support"}), start=D1, end=D2)
    owned = {(x.owner, x.layer): (x.effective_cost, x.basis) for x in ruled.lines if x.owner != UNALLOCATED}
    assert owned[("frontend-team", Layer.KUBERNETES)] == (Decimal("9.75"), "namespace rule: web")
    assert owned[("support", Layer.TOKENS)] == (Decimal("4.123456789"), "feature rule: chat")
    usd = next(c for c in ruled.currencies if c.currency == "USD")
    assert usd.unallocated_share == ((Decimal("69.505") + 14) / usd.chargeback_effective).quantize(Decimal("0.0001"))


def test_by_feature_keeps_idle_apart(awkward_lake: Path) -> None:
    result = run_chargeback(awkward_lake, by="feature", start=D1, end=D2)
    features = {x.owner for x in result.lines}
    assert {"chat", "ranker", UNALLOCATED} == features
    assert any(x.basis == "Kubernetes idle capacity (prod-eks)" for x in result.unallocated())


def test_a_summary_that_does_not_reconcile_cannot_exist() -> None:
    with pytest.raises(ValidationError, match="does not reconcile"):
        CurrencySummary(currency="USD", lake_billed=Decimal(10), lake_effective=Decimal(10), replaced_billed=Decimal(0),
                        replaced_effective=Decimal(0), allocated_billed=Decimal(5), allocated_effective=Decimal(5),
                        unallocated_billed=Decimal(5), unallocated_effective=Decimal("4.99"))


def test_the_focus_export_re_ingests_into_an_empty_lake_with_the_same_totals(awkward_lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "export" / "chargeback-focus.csv"
    original, written = export_focus(awkward_lake, out, start=D1, end=D2)
    assert written > 0
    fresh = tmp_path / "fresh-home" / "lake"
    report = ingest_file(out, fresh)
    assert report.rows_quarantined == 0 and report.rows_stored == written
    again = run_chargeback(fresh, by="team", start=D1, end=D2)
    # The fresh lake holds exactly the chargeback total (the replaced node row is not exported).
    assert _lake_totals(fresh) == {c.currency: c.chargeback_effective for c in original.currencies}
    assert {c.currency: (c.chargeback_billed, c.chargeback_effective) for c in again.currencies} == {
        c.currency: (c.chargeback_billed, c.chargeback_effective) for c in original.currencies}

    def by_owner(result: object) -> dict[tuple[str, str, str], Decimal]:
        out: dict[tuple[str, str, str], Decimal] = {}
        for x in result.lines:  # type: ignore[attr-defined]
            key = (x.owner, x.layer.value, x.currency)
            out[key] = out.get(key, Decimal(0)) + x.effective_cost
        return out

    assert by_owner(again) == by_owner(original)
    assert again.replaced == []
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    tags = [json.loads(r["Tags"]) for r in rows]
    assert {t["spendpilot.layer"] for t in tags} == {"cloud", "kubernetes", "tokens"}
    assert any(t.get("team") == "web" and t.get("feature") == "chat" and t["spendpilot.layer"] == "tokens" for t in tags)


def test_an_empty_lake_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    from spendpilot.errors import NoSpendData

    with pytest.raises(NoSpendData, match="no billing data"):
        run_chargeback(tmp_path / "lake")

"""A proposal's queue line: what a list shows, without the evidence, plans and narrative.

Listing 10,000 proposals by parsing each full ``Proposal`` costs most of a second (and a list of
them hundreds of MiB); a queue only needs a dozen fields. ``StateStore.list_summaries`` reads
them with the database's JSON functions, so nothing is parsed in Python. A frozen dataclass,
not a pydantic model: the store builds it from its own typed columns, and 10,000 validations
would cost what this type exists to save.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from spendpilot.domain.status import ProposalStatus, Risk

if TYPE_CHECKING:  # a listing builds summaries from rows and never imports the pydantic models
    from spendpilot.domain.plans import Proposal


@dataclass(frozen=True, slots=True)
class ProposalSummary:
    id: str
    rule: str
    action: str
    target_label: str
    """``kind:name`` (or ``kind:id``), as ``ResourceRef.label()``."""
    target_id: str
    currency: str
    expected: Decimal
    low: Decimal
    high: Decimal
    risk: Risk
    status: ProposalStatus
    location: str = ""
    """"account 111122223333 eu-west-1" (``ResourceRef.location()``): with several accounts the
    same name can be in each, so a list must say which."""

    @property
    def where(self) -> str:
        """The target and, when known, its account and region."""
        return f"{self.target_label} ({self.location})" if self.location else self.target_label

    @classmethod
    def of(cls, p: Proposal) -> ProposalSummary:
        e = p.estimate
        return cls(
            id=p.id, rule=p.rule, action=p.action, target_label=p.target.label(), target_id=p.target.id,
            currency=e.expected.currency, expected=e.expected.amount, low=e.low.amount, high=e.high.amount,
            risk=p.risk, status=p.status, location=p.target.location(),
        )


def summary_order(proposals: Iterable[ProposalSummary]) -> list[ProposalSummary]:
    """Pending first (they are what a human must act on), then the biggest expected saving.

    The id breaks ties so the order is stable between refreshes (a cursor does not jump, a
    ``--limit`` page is the same page twice).
    """
    return sorted(proposals, key=lambda p: (p.status is not ProposalStatus.PENDING, -p.expected, p.id))

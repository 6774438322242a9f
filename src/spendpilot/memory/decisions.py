"""What humans decided about past proposals, so the agent neither nags nor forgets why.

Before queueing a proposal, a sweep applies :func:`reason_to_reconsider` to the latest
rejection of its finding (:meth:`DecisionMemory.should_suppress` is the same rule): if a human
already rejected the same finding (same fingerprint) and neither the plan nor the size of the
prize has moved since (saving within +10%), proposing it again is noise. When the evidence
changes the proposal comes back, saying what changed and quoting the old rejection. The chat uses :meth:`DecisionMemory.similar` for "have we rejected something
like this before, and why?".

Exact questions (suppression, latest rejection) are answered from metadata filters, never
from vector search, so they do not depend on the embedding's quality.

Resource names, tags and evidence values come from cloud APIs and are untrusted: they are
stored and returned as plain data (control characters removed, length capped) and must be
quoted, never obeyed, by whoever shows them to a model.
"""

from __future__ import annotations

import unicodedata
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, EmbeddingFunction
from pydantic import BaseModel

from spendpilot.domain.plans import Decision, Proposal
from spendpilot.memory._store import open_collection
from spendpilot.memory.embedding import HashingEmbeddingFunction

COLLECTION = "decisions"
_FIELD_LIMIT = 500
_EVIDENCE_IN_DOCUMENT = 8


class PastDecision(BaseModel):
    """One remembered human decision; ``distance`` is set only by :meth:`similar`."""

    proposal_id: str
    fingerprint: str
    evidence_digest: str
    decision: Decision
    by: str
    reason: str
    at: datetime
    document: str
    action: str = ""
    rule: str = ""
    target: str = ""
    plan_hash: str = ""
    expected_monthly: Decimal | None = None  # the expected saving the human was shown
    distance: float | None = None


def _as_data(text: object, limit: int = _FIELD_LIMIT) -> str:
    """Untrusted text reduced to one inert line: no control characters, bounded length."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} else ch for ch in str(text)
    )
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def describe_proposal(proposal: Proposal) -> str:
    """The readable text that is embedded: what would change, where, why, on what evidence."""
    ref = proposal.target
    where = "/".join(_as_data(p) for p in (ref.provider, ref.account, ref.region) if p)
    lines = [
        f"Action: {_as_data(proposal.action)} on {_as_data(ref.label())} ({where})",
        f"Rule: {_as_data(proposal.rule)}",
        f"Summary: {_as_data(proposal.summary)}",
    ]
    evidence = proposal.evidence[:_EVIDENCE_IN_DOCUMENT]
    if evidence:
        facts = "; ".join(f"{_as_data(e.label, 80)}: {_as_data(e.value, 120)}" for e in evidence)
        lines.append(f"Evidence: {facts}")
    return "\n".join(lines)


def _from_record(document: str | None, meta: Any, distance: float | None = None) -> PastDecision:
    return PastDecision(
        proposal_id=str(meta["proposal_id"]),
        fingerprint=str(meta["fingerprint"]),
        evidence_digest=str(meta["evidence_digest"]),
        decision=Decision(str(meta["decision"])),
        by=str(meta["by"]),
        reason=str(meta["reason"]),
        at=datetime.fromisoformat(str(meta["at"])),
        document=document or "",
        action=str(meta.get("action", "")),
        rule=str(meta.get("rule", "")),
        target=str(meta.get("target", "")),
        plan_hash=str(meta.get("plan_hash", "")),
        expected_monthly=Decimal(str(meta["expected_monthly"])) if meta.get("expected_monthly") else None,
        distance=distance,
    )


def reason_to_reconsider(past: PastDecision, proposal: Proposal) -> str | None:
    """Why a proposal rejected as ``past`` deserves a new look now; None if the rejection stands."""
    if past.expected_monthly is None:  # remembered before amounts were kept: compare labels
        return None if past.evidence_digest == proposal.evidence_digest else "the evidence changed"
    from spendpilot.proposals.lifecycle import evidence_change

    return evidence_change(proposal, past.plan_hash, past.expected_monthly)


class DecisionMemory:
    """Past approve/reject decisions in the Chroma ``decisions`` collection under ``chroma_dir``.

    Safe to use from several processes at once: each call opens and closes its own client
    under a file lock (see ``spendpilot.memory._store``), so one process sees another's writes.
    """

    def __init__(
        self,
        chroma_dir: Path,
        embedding_function: EmbeddingFunction[Documents] | None = None,
    ) -> None:
        self.chroma_dir = Path(chroma_dir)
        self.embedding_function = embedding_function or HashingEmbeddingFunction()

    def _collection(self) -> AbstractContextManager[Collection]:
        return open_collection(self.chroma_dir, COLLECTION, self.embedding_function)

    def remember(
        self,
        proposal: Proposal,
        decision: str,
        by: str,
        reason: str,
        *,
        at: datetime | None = None,
    ) -> None:
        """Record a human's decision on ``proposal``; recording it again overwrites (idempotent)."""
        verdict = Decision(decision)
        when = (at or datetime.now(UTC)).astimezone(UTC)
        metadata: dict[str, str | float] = {
            "proposal_id": proposal.id,
            "fingerprint": proposal.fingerprint,
            "evidence_digest": proposal.evidence_digest,
            "decision": verdict.value,
            "by": _as_data(by, 200),
            "reason": _as_data(reason, 2000),
            "at": when.isoformat(),
            "at_ts": when.timestamp(),
            "action": _as_data(proposal.action, 200),
            "rule": _as_data(proposal.rule, 200),
            "target": _as_data(proposal.target.label()),
            "plan_hash": proposal.plan_hash,
            "expected_monthly": str(proposal.estimate.expected.amount),
        }
        with self._collection() as collection:
            collection.upsert(
                ids=[f"{proposal.id}:{verdict.value}"],
                documents=[describe_proposal(proposal)],
                metadatas=[metadata],
            )

    def _latest(self, where: dict[str, Any]) -> PastDecision | None:
        with self._collection() as collection:
            found = collection.get(where=where, include=["documents", "metadatas"])
        records = list(zip(found["documents"] or [], found["metadatas"] or [], strict=True))
        if not records:
            return None
        document, meta = max(records, key=lambda r: float(r[1]["at_ts"]))  # type: ignore[arg-type]
        return _from_record(document, meta)

    def rejection_for(self, fingerprint: str) -> PastDecision | None:
        """The most recent rejection of this finding, whatever evidence it was shown."""
        return self._latest(
            {"$and": [{"fingerprint": fingerprint}, {"decision": Decision.REJECT.value}]}
        )

    def should_suppress(self, proposal: Proposal) -> PastDecision | None:
        """The rejection that still stands for ``proposal``, if any.

        A rejection stands until the plan changes or the expected saving grows by more than
        ``SAVING_GROWTH_TO_REPROPOSE`` (see ``reason_to_reconsider``).
        """
        past = self.rejection_for(proposal.fingerprint)
        if past is None or reason_to_reconsider(past, proposal) is not None:
            return None
        return past

    def similar(self, text: str, k: int = 3, *, decision: str | None = None) -> list[PastDecision]:
        """Up to ``k`` past decisions whose description is closest to ``text``, nearest first.

        ``decision`` ("approve"/"reject") narrows the search. ``distance`` is cosine distance
        (0 = same direction, 2 = opposite); what counts as "similar" depends on the embedding.
        """
        if k <= 0:
            return []
        where = {"decision": Decision(decision).value} if decision else None
        with self._collection() as collection:
            available = len(collection.get(where=where, include=[])["ids"])  # type: ignore[arg-type]
            if available == 0:
                return []
            found = collection.query(
                query_texts=[text],
                n_results=min(k, available),
                where=where,  # type: ignore[arg-type]
                include=["documents", "metadatas", "distances"],
            )
        documents = (found["documents"] or [[]])[0]
        metadatas = (found["metadatas"] or [[]])[0]
        distances = (found["distances"] or [[]])[0]
        return [
            _from_record(doc, meta, float(dist))
            for doc, meta, dist in zip(documents, metadatas, distances, strict=True)
        ]

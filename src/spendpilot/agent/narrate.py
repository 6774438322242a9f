"""The reviewer's note on a proposal: built from the numbers, or a model's prose that passed checks.

The note sits next to the Approve key, so it must not be able to talk a reviewer into anything.
Offline it is one deterministic sentence (``narrative_by = "spendpilot"``). With a chat model
the model rewrites the same facts, and its note is kept only if it passes ``check_narrative``:

- **No claims that decide for the human.** A note matching any of ``FORBIDDEN_CLAIMS`` (it says
  the change is approved or authorised, urges approval, calls it safe or risk-free, cites a
  policy, tells the reader to ignore or skip something, links somewhere, or talks about its own
  instructions) is rejected.
- **No numbers that are not in the facts.** Every number in the note (money, percentages,
  counts, hours) must be a number of the facts it was given, compared by value (``$1,234.50``
  = ``1234.5``); a word containing digits that appears verbatim in the facts (an instance type
  such as ``p4d.24xlarge``, an instance id) is a name, not a number. Numbers written as words
  ("three") are not checked.
- **Short**: at most ``MAX_NARRATIVE_CHARS`` characters (the prompt asks for three sentences).

A rejected note is logged with the reason and replaced by the deterministic sentence; a kept
one is stored with ``narrative_by = "model:<name>"`` and shown as "written by the model <name>;
numbers checked" in the TUI and ``spendpilot show``.

Everything inside the ``<proposal_facts>`` fence is data (resource names and tags come from the
cloud account, i.e. from anyone who can tag a resource): ``<``, ``>`` and ``&`` are escaped, so
no value can close the fence or open another.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from spendpilot.domain import Proposal

if TYPE_CHECKING:  # LangChain is imported only when a model writes (the TUI shows credits too)
    from langchain_core.language_models import BaseChatModel

    from spendpilot.agent.llm_usage import UsageTally

log = logging.getLogger(__name__)

BY_SPENDPILOT = "spendpilot"
MODEL_PREFIX = "model:"
MAX_NARRATIVE_CHARS = 800
FENCE = "proposal_facts"

FORBIDDEN_CLAIMS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (why, re.compile(pattern, re.IGNORECASE))
    for why, pattern in (
        ("claims the change is approved", r"\b(?:pre-?|auto-?)?approved\b|\bauthori[sz]ed\b|\bsigned[- ]off\b"),
        ("claims no review is needed", r"\bno (?:further |human )?(?:review|approval|check)s? (?:is |are )?(?:needed|required|necessary)\b"),
        ("urges approval", r"\b(?:should|must|can|may) (?:safely |just |simply )?approve\b|\bapprove (?:it |this )?(?:now|immediately|right away|without)\b"),
        ("claims safety", r"\bsafe(?:ly|ty)?\b|\brisk[- ]?free\b|\b(?:no|zero|without|negligible) risk\b|\bharmless\b|\bguarantee[ds]?\b"),
        ("cites a policy", r"\b(?:by|per|under|according to|complies with|compliant with|allowed by|permitted by|required by) (?:the |our |company |internal |spendpilot(?:'s)? )?polic(?:y|ies)\b|\bpolic(?:y|ies) (?:allows?|permits?|requires?|approves?|mandates?|says)\b|\bcomplian(?:t|ce)\b"),
        ("tells the reader to ignore or skip something", r"\b(?:ignore|disregard|bypass)\b|\bskip (?:the |any |this )?(?:review|reviewer|check|checks|verification|confirmation)\b|\bno need to (?:check|review|verify|look)\b"),
        ("contains a link", r"https?://|\bwww\.|\]\("),
        ("talks about its instructions", r"proposal_facts|system prompt|\b(?:previous|above|prior|earlier|my|these) instructions\b"),
    )
)  # fmt: skip
"""(reason, pattern) pairs: a model's note matching any of them is not shown to the reviewer."""

_NUMBER = re.compile(r"(?<![A-Za-z0-9.,])\d+(?:,\d{3})*(?:\.\d+)?")
_WORD_EDGES = "()[]{}\"'`,;:!?."


@dataclass(frozen=True)
class Facts:
    """What the model is told, as plain text (escaped only when fenced)."""

    text: str

    def fenced(self) -> str:
        return f"<{FENCE}>\n{html.escape(self.text, quote=False)}\n</{FENCE}>"


def plain_narrative(p: Proposal) -> str:
    """The deterministic note: the proposal's own facts in one sentence."""
    e = p.estimate
    return (
        f"{p.summary}. {p.plan.description} Estimated saving {e.expected} per month "
        f"(range {e.low} to {e.high}); risk {p.risk.value}."
    )


def proposal_facts(p: Proposal) -> Facts:
    """Everything the note may mention: the plain sentence, the evidence and the formula."""
    t = p.target
    lines = [plain_narrative(p), f"Target: {t.kind} {t.id}" + (f" named {t.name}" if t.name else ""), "Evidence:"]
    lines += [f"- {item.label}: {item.value} (source: {item.source})" for item in p.evidence + p.estimate.inputs]
    lines.append(f"Formula: {p.estimate.formula}")
    return Facts("\n".join(lines))


def _numbers(text: str) -> set[Decimal]:
    found: set[Decimal] = set()
    for match in _NUMBER.finditer(text):
        try:
            found.add(Decimal(match.group().replace(",", "")).normalize())
        except InvalidOperation:
            continue
    return found


def check_narrative(text: str, facts: Facts) -> str | None:
    """Why ``text`` may not be shown to a reviewer, or None if it may (see the module doc)."""
    if not text.strip():
        return "is empty"
    if len(text) > MAX_NARRATIVE_CHARS:
        return f"is {len(text)} characters long (at most {MAX_NARRATIVE_CHARS})"
    for why, pattern in FORBIDDEN_CLAIMS:
        if match := pattern.search(text):
            return f"{why} ({match.group()!r})"
    known = _numbers(facts.text)
    verbatim = set(facts.text.split())
    for raw in text.split():
        word = raw.strip(_WORD_EDGES)
        if not any(c.isdigit() for c in word) or word in verbatim or raw in verbatim:
            continue
        stray = _numbers(word) - known
        if stray:
            return f"states {word!r}, a number that is not in the facts"
    return None


def _reply_text(content: object) -> str:
    """A chat reply's text, whether the provider sent a string or a list of content blocks."""
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        parts = [b if isinstance(b, str) else str(b.get("text", "")) for b in content if isinstance(b, str | dict)]
        return "".join(parts).strip()
    return str(content).strip()


def narrate_proposal(model: BaseChatModel | None, p: Proposal, tally: UsageTally | None = None) -> Proposal:
    """``p`` with its reviewer's note and who wrote it. A model outage or a rejected note falls
    back to the deterministic sentence: the note is optional, a sweep never fails for it.
    ``tally`` counts the reply's tokens, kept or not (they were spent either way)."""
    plain = plain_narrative(p)
    fallback = p.model_copy(update={"narrative": plain, "narrative_by": BY_SPENDPILOT})
    if model is None:
        return fallback
    from langchain_core.messages import HumanMessage, SystemMessage

    from spendpilot.agent.definitions import load_agent
    from spendpilot.agent.llm import describe_model

    facts = proposal_facts(p)
    name = describe_model(model)
    try:
        definition = load_agent("sweep")
        reply = model.invoke([SystemMessage(content=definition.system_prompt), HumanMessage(content=facts.fenced())])
        if tally is not None:
            tally.add(reply)
        text = _reply_text(reply.content)
    except Exception as exc:  # a model outage must not stop a sweep
        log.warning("narration of %s by %s failed, using the plain text: %s", p.id, name, exc)
        return fallback
    why = check_narrative(text, facts)
    if why is not None:
        log.warning("the note %s wrote for %s %s; showing the plain text instead", name, p.id, why)
        return fallback
    return p.model_copy(update={"narrative": text, "narrative_by": f"{MODEL_PREFIX}{name}"})


def is_model_written(p: Proposal) -> bool:
    return p.narrative_by.startswith(MODEL_PREFIX)


def narrative_credit(p: Proposal) -> str:
    """How the TUI and ``spendpilot show`` label the note: who wrote it, what was checked."""
    if p.narrative_by.startswith(MODEL_PREFIX):
        return f"written by the model {p.narrative_by[len(MODEL_PREFIX):]}; numbers checked against the facts"
    if p.narrative_by == BY_SPENDPILOT:
        return "written by spendpilot from the numbers above"
    return "author not recorded (stored by an older version; may be a model's words)"

"""What a chat question asks, read by plain code: a ``Question`` or the parts it could not read.

The offline copilot (no model configured) must answer the question asked or say it cannot;
the old keyword matcher answered "which team spends most on GPUs?" with spend by service. So
this parser is deliberately strict: every word of the question must be understood, as an
intent, a grouping, a filter, a period or a filler word. A word it does not know (``GPUs``,
``quarter``, ``owns``) is named in ``Question.unsupported`` and the answerer refuses, instead of
answering the part it did understand as if it were the whole.

It is deterministic and has no model: the same words always read the same way, and a test can
list which questions it answers (``docs/copilot-offline.md``).
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from spendpilot.lake.query import UNTAGGED


class Intent(StrEnum):
    SPEND = "spend"
    TOP_SPENDER = "top spender"
    FORECAST = "forecast"
    BUDGET_STATUS = "budget status"
    ANOMALIES = "anomalies"
    PROPOSALS = "proposals"
    EXPLAIN_PROPOSAL = "explain proposal"
    SAVINGS = "realized savings"
    CHARGEBACK = "chargeback"
    UNALLOCATED = "unallocated spend"
    COMPARE_PERIODS = "compare periods"
    UNIT_COST = "unit cost"
    UNKNOWN = "unknown"


class PeriodKind(StrEnum):
    DEFAULT = "default"
    LAST_DAYS = "last days"
    LAST_MONTHS = "last months"
    THIS_MONTH = "this month"
    LAST_MONTH = "last month"
    NEXT_DAYS = "next days"
    NEXT_MONTH = "next month"
    TODAY = "today"


class Period(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: PeriodKind = PeriodKind.DEFAULT
    count: int | None = Field(None, description="Days or months for the LAST_/NEXT_ kinds.")


class QuestionFilter(BaseModel):
    """``key`` in ``values`` as the spend explorer reads it; ``label`` is the user's word."""

    model_config = ConfigDict(frozen=True)

    key: str
    values: tuple[str, ...]
    label: str
    llm_values: tuple[str, ...] | None = Field(
        None, description="The same filter on LLM usage (lower-case provider ids), when it differs.")


class Question(BaseModel):
    text: str
    intent: Intent
    group_by: str | None = Field(None, description="A spend explorer group key, e.g. team or tag:kubernetes.namespace.")
    group_label: str | None = Field(None, description="How the user named the grouping (namespace, team...).")
    filters: list[QuestionFilter] = Field(default_factory=list)
    period: Period = Period()
    compare_with: Period | None = Field(None, description="The second period of a comparison.")
    top: int | None = None
    unit: str | None = Field(None, description="'1k tokens' or 'request' for unit costs.")
    proposal_id: str | None = None
    unsupported: list[str] = Field(default_factory=list, description="Parts it could not map, each named.")
    unknown_words: list[str] = Field(default_factory=list, description="Words it could not read (maybe names).")
    suggestion: str | None = Field(None, description="A question it can answer instead, offered as such.")


# --- vocabulary --------------------------------------------------------------------------------

GROUPINGS: dict[str, tuple[str, str]] = {
    "team": ("team", "team"), "teams": ("team", "team"),
    "feature": ("feature", "feature"), "features": ("feature", "feature"),
    "service": ("service", "service"), "services": ("service", "service"),
    "account": ("account", "account"), "accounts": ("account", "account"),
    "region": ("region", "region"), "regions": ("region", "region"),
    "model": ("model", "model"), "models": ("model", "model"),
    "namespace": ("tag:kubernetes.namespace", "namespace"),
    "namespaces": ("tag:kubernetes.namespace", "namespace"),
    "provider": ("provider", "provider"), "providers": ("provider", "provider"),
    "resource": ("resource", "resource"), "resources": ("resource", "resource"),
}
"""A word → (spend explorer key, the label shown). ``tag <key>`` / ``<key> tag`` add any tag."""

PROVIDERS: dict[str, QuestionFilter] = {
    "openai": QuestionFilter(key="provider", values=("OpenAI",), label="OpenAI", llm_values=("openai",)),
    "anthropic": QuestionFilter(key="provider", values=("Anthropic",), label="Anthropic", llm_values=("anthropic",)),
    "aws": QuestionFilter(key="provider", values=("AWS",), label="AWS"),
    "kubernetes": QuestionFilter(key="provider", values=("Kubernetes",), label="Kubernetes"),
    "k8s": QuestionFilter(key="provider", values=("Kubernetes",), label="Kubernetes"),
    "bedrock": QuestionFilter(key="service", values=("Amazon Bedrock",), label="Amazon Bedrock",
                              llm_values=("bedrock",)),
}
"""Providers as the bill names them (``ProviderName``); Bedrock is an AWS service on the bill and a
provider in LLM usage exports."""

SERVICES: dict[str, tuple[str, ...]] = {
    "sagemaker": ("Amazon SageMaker",),
    "ec2": ("Amazon Elastic Compute Cloud",),
    "s3": ("Amazon Simple Storage Service",),
    "cloudwatch": ("Amazon CloudWatch",),
    "eks": ("Amazon Elastic Kubernetes Service",),
    "ebs": ("Amazon Elastic Block Store",),
    "lambda": ("AWS Lambda",),
}
"""Short service names → the ``ServiceName`` values AWS bills under."""

_MODEL = re.compile(r"^(gpt-[\w.\-]+|o[134](-mini)?|claude-[\w.\-]+|gemini-[\w.\-]+|llama[\w.\-]*|mistral[\w.\-]*"
                    r"|text-embedding-[\w.\-]+)$")
_PROPOSAL_ID = re.compile(r"^sp-[0-9a-f]{8}$")

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FILLER = _words("""
what whats what's how much many do does did we us our i me my you is are was were be been the a an of on in
for to by per show give list tell please all total overall so it its at from over across with and or
which who where there any this that these those can could would should much have has had get got
s currently now right each every biggest largest highest most top more than about some
""")

SPEND_WORDS = _words("spend spends spending spent cost costs costing bill billed billing money paying pay "
                        "expensive expense expenses charges charged")
FORECAST_WORDS = _words("forecast forecasts will predict predicted projected projection expect expected going")
BUDGET_WORDS = _words("budget budgets overspending overspent")
ANOMALY_WORDS = _words("anomaly anomalies spike spikes unusual abnormal")
PROPOSAL_WORDS = _words("proposal proposals pending queue queued recommendation recommendations waste "
                           "opportunities")
SAVE_WORDS = _words("save saving savings saved realized realised")
CHARGEBACK_WORDS = _words("chargeback chargebacks showback allocation allocations allocated allocate unallocated")
"""Words of a chargeback question; "unallocated" asks for the unallocated share in particular."""
COMPARE_WORDS = _words("vs versus compared compare comparison against")
WHY_WORDS = _words("why explain evidence formula")
PROPOSAL_TALK = _words("this that it one proposal selected should i we do recommend recommended suggest suggested "
                       "stop stopping worth safe")
"""Words of a question about the selected proposal ("why should I stop it?")."""
REFUSED_VERBS = _words("approve approved reject execute delete terminate kill ignore disregard forget "
                          "override instructions system prompt pretend act jailbreak")
"""The copilot reads; a question asking it to change something (or to forget its rules) is refused."""

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "twelve": 12}
_TOKEN = re.compile(r"[a-z0-9][a-z0-9.'\-]*[a-z0-9]|[a-z0-9]")


def _tokens(text: str) -> list[str]:
    return [t.removesuffix("'s") for t in _TOKEN.findall(text.lower())]


def _number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _NUMBER_WORDS.get(word)


class _Reader:
    """One pass over the tokens: each rule consumes what it understands; the rest is unsupported."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = _tokens(text)
        self.used = [False] * len(self.words)
        self.unsupported: list[str] = []

    def take(self, i: int, n: int = 1) -> None:
        for k in range(i, min(i + n, len(self.words))):
            self.used[k] = True

    def has(self, vocabulary: frozenset[str]) -> bool:
        return any(w in vocabulary for w in self.words)

    def mark(self, vocabulary: frozenset[str]) -> None:
        for i, w in enumerate(self.words):
            if w in vocabulary:
                self.take(i)

    def word(self, i: int) -> str:
        return self.words[i] if 0 <= i < len(self.words) else ""

    def leftover(self) -> list[str]:
        return [w for w, used in zip(self.words, self.used, strict=True) if not used and w not in FILLER]


def _period(r: _Reader) -> tuple[Period, Period | None]:
    """The first period named and, for a comparison, the second (``this month vs last month``)."""
    found: list[Period] = []
    i = 0
    while i < len(r.words):
        w, nxt = r.words[i], r.word(i + 1)
        after = r.word(i + 2)
        if w in ("last", "past", "previous", "next"):
            ahead = w == "next"
            count = _number(nxt)
            unit, width = (after, 3) if count is not None else (nxt, 2)
            count = count or 1
            if unit in ("day", "days"):
                found.append(Period(kind=PeriodKind.NEXT_DAYS if ahead else PeriodKind.LAST_DAYS, count=count))
            elif unit in ("week", "weeks"):
                found.append(Period(kind=PeriodKind.NEXT_DAYS if ahead else PeriodKind.LAST_DAYS, count=7 * count))
            elif unit in ("month", "months"):
                if ahead:
                    kind = PeriodKind.NEXT_MONTH if width == 2 or count == 1 else PeriodKind.NEXT_DAYS
                    found.append(Period(kind=kind, count=None if kind is PeriodKind.NEXT_MONTH else 30 * count))
                elif width == 2 and w == "last" or (w == "previous" and width == 2):
                    found.append(Period(kind=PeriodKind.LAST_MONTH))
                else:
                    found.append(Period(kind=PeriodKind.LAST_MONTHS, count=count))
            else:
                i += 1
                continue
            r.take(i, width)
            i += width
            continue
        if w == "this" and nxt == "month":
            found.append(Period(kind=PeriodKind.THIS_MONTH))
            r.take(i, 2)
            i += 2
            continue
        if w == "today":
            found.append(Period(kind=PeriodKind.TODAY))
            r.take(i)
        i += 1
    first = found[0] if found else Period()
    return first, found[1] if len(found) > 1 else None


def _grouping(r: _Reader) -> tuple[str | None, str | None]:
    groups: list[tuple[str, str]] = []
    for i, w in enumerate(r.words):
        if w in ("tag", "tags") and r.word(i + 1) and r.word(i + 1) not in FILLER:
            groups.append((f"tag:{r.word(i + 1)}", f"tag {r.word(i + 1)}"))
            r.take(i, 2)
        elif w in GROUPINGS and not r.used[i]:
            groups.append(GROUPINGS[w])
            r.take(i)
    unique = list(dict.fromkeys(groups))
    if len(unique) > 1:
        r.unsupported.append("more than one grouping (" + ", ".join(label for _, label in unique) + ")")
    return unique[0] if unique else (None, None)


def _filters(r: _Reader) -> list[QuestionFilter]:
    found: list[QuestionFilter] = []
    for i, w in enumerate(r.words):
        if w in PROVIDERS:
            found.append(PROVIDERS[w])
        elif w in SERVICES:
            found.append(QuestionFilter(key="service", values=SERVICES[w], label=SERVICES[w][0]))
        elif _MODEL.match(w):
            found.append(QuestionFilter(key="model", values=(w,), label=w))
        elif w == "untagged":
            found.append(QuestionFilter(key="team", values=(UNTAGGED,), label="untagged (no team tag)"))
        else:
            continue
        r.take(i)
    return found


def parse_question(text: str, selected: str | None = None) -> Question:
    """Read ``text``; ``selected`` is the proposal highlighted in the TUI ("this proposal")."""
    r = _Reader(text)
    words = set(r.words)
    if not r.words:
        return Question(text=text, intent=Intent.UNKNOWN, unsupported=["an empty question"])
    refused = sorted(words & REFUSED_VERBS)
    if refused:
        return Question(text=text, intent=Intent.UNKNOWN, unsupported=[
            f"a request to act ({', '.join(refused)}): the copilot only reads spend and proposals; approving, "
            "rejecting or changing anything happens in the queue, by a person"],
            suggestion="show pending proposals")
    period, second = _period(r)
    group_by, group_label = _grouping(r)
    filters = _filters(r)
    proposal_id = next((w for w in r.words if _PROPOSAL_ID.match(w)), None)
    for i, w in enumerate(r.words):
        if _PROPOSAL_ID.match(w):
            r.take(i)
    q = Question(text=text, intent=Intent.UNKNOWN, group_by=group_by, group_label=group_label, filters=filters,
                 period=period, compare_with=second, proposal_id=proposal_id)

    if "gpu" in words or "gpus" in words:
        r.mark(frozenset({"gpu", "gpus"}))
        r.unsupported.append("GPU spend: the lake's bill does not mark which rows are GPU capacity")
        q.suggestion = f"spend by {group_label or 'service'}"
    if words & {"own", "owns", "owner", "owners", "owned"}:
        r.mark(frozenset({"own", "owns", "owner", "owners", "owned"}))
        r.unsupported.append("who owns spend: the lake knows team tags, not owners, and untagged spend has no team")
        q.suggestion = "untagged spend by account"

    if words & WHY_WORDS:
        rest = {w for i, w in enumerate(r.words) if not r.used[i]} - FILLER - WHY_WORDS
        plain = not filters and group_by is None and period.kind is PeriodKind.DEFAULT
        about_proposal = bool(proposal_id) or (plain and rest <= PROPOSAL_TALK and bool(selected or "proposal" in words))
        r.mark(WHY_WORDS | SPEND_WORDS)
        if about_proposal:
            r.mark(PROPOSAL_TALK)
            q.intent, q.proposal_id = Intent.EXPLAIN_PROPOSAL, proposal_id or selected
        else:
            r.unsupported.append("a 'why' question: the reasons behind spend need judgement, which offline "
                                 "mode does not have (it can explain a proposal's evidence)")
            scope = " ".join(f.label for f in filters)
            q.suggestion = f"{scope} spend by resource, last 30 days".strip() if scope else "top 5 services"
    elif r.has(CHARGEBACK_WORDS) or ("each" in words and group_by in ("team", "feature") and not filters
                                      and r.has(SPEND_WORDS)):
        # "what does each team cost?" asks for everything a team is charged (cloud, Kubernetes,
        # tokens, with the unallocated rest): the chargeback, not the bill's team tags alone.
        q.intent = Intent.UNALLOCATED if "unallocated" in words else Intent.CHARGEBACK
        r.mark(CHARGEBACK_WORDS | SPEND_WORDS)
    elif r.has(SAVE_WORDS) and (words & {"saved", "realized", "realised"} or "did" in words):
        r.mark(SAVE_WORDS | frozenset({"did"}))
        q.intent = Intent.SAVINGS
    elif r.has(SAVE_WORDS) or r.has(PROPOSAL_WORDS):
        r.mark(SAVE_WORDS | PROPOSAL_WORDS)
        q.intent = Intent.PROPOSALS
    elif r.has(BUDGET_WORDS):
        r.mark(BUDGET_WORDS)
        q.intent = Intent.BUDGET_STATUS
    elif r.has(ANOMALY_WORDS):
        r.mark(ANOMALY_WORDS)
        q.intent = Intent.ANOMALIES
    elif period.kind in (PeriodKind.NEXT_DAYS, PeriodKind.NEXT_MONTH) or r.has(FORECAST_WORDS):
        r.mark(FORECAST_WORDS | SPEND_WORDS)
        q.intent = Intent.FORECAST
    elif "1k" in words or ("tokens" in words and "per" in words) or ("unit" in words and words & SPEND_WORDS):
        for i, w in enumerate(r.words):
            if w in ("1k", "1000", "thousand", "tokens", "token", "unit", "request", "requests"):
                r.take(i)
        r.mark(SPEND_WORDS)
        q.intent = Intent.UNIT_COST
        q.unit = "request" if words & {"request", "requests"} and not words & {"token", "tokens"} else "1k tokens"
    elif second is not None or r.has(COMPARE_WORDS):
        r.mark(COMPARE_WORDS | SPEND_WORDS)
        q.intent = Intent.COMPARE_PERIODS
    elif words & {"most", "top", "biggest", "largest", "highest", "more"} and (group_by or r.has(SPEND_WORDS)):
        r.mark(SPEND_WORDS)
        q.intent = Intent.TOP_SPENDER
        for i, w in enumerate(r.words):
            if w == "top" and _number(r.word(i + 1)) is not None:
                q.top = _number(r.word(i + 1))
                r.take(i, 2)
        if q.top is None:
            q.top = 1 if words & {"which", "who", "most"} else 5
    elif r.has(SPEND_WORDS) or group_by or filters:
        r.mark(SPEND_WORDS)
        q.intent = Intent.SPEND

    if q.intent is Intent.FORECAST and period.kind not in (PeriodKind.DEFAULT, PeriodKind.NEXT_DAYS,
                                                           PeriodKind.NEXT_MONTH):
        r.unsupported.append(f"a forecast over a past period ({period.kind.value})")
    if q.intent is Intent.COMPARE_PERIODS and q.compare_with is None and period.kind not in (
            PeriodKind.LAST_DAYS, PeriodKind.DEFAULT):
        r.unsupported.append("the second period of the comparison")
    if q.intent in (Intent.SPEND, Intent.TOP_SPENDER, Intent.UNIT_COST, Intent.COMPARE_PERIODS) and (
            period.kind in (PeriodKind.TODAY, PeriodKind.NEXT_DAYS, PeriodKind.NEXT_MONTH)):
        r.unsupported.append(f"spend for {period.kind.value}: the bill holds whole past days only")
    if q.intent in (Intent.CHARGEBACK, Intent.UNALLOCATED) and group_by not in (None, "team", "feature"):
        r.unsupported.append(f"a chargeback by {group_label}: costs are allocated to teams or features")
        q.suggestion = f"spend by {group_label}"
    if q.intent is Intent.TOP_SPENDER and group_by is None:
        r.unsupported.append("what to rank (a team, service, account, model...)")
        q.suggestion = q.suggestion or "top 5 services"
    unknown = list(dict.fromkeys(r.leftover()))
    if unknown:
        r.unsupported.append(_words_part(unknown))
        q.unknown_words = unknown
    if q.intent is Intent.UNKNOWN and not r.unsupported:
        r.unsupported.append("what the question asks for")
    q.unsupported = r.unsupported
    return q


def _words_part(words: list[str]) -> str:
    return "the words " + ", ".join(f"'{w}'" for w in words)


def with_names(question: Question, names: dict[str, QuestionFilter]) -> Question:
    """``question`` with its unknown words read as the names in ``names`` (a team, feature or
    account found in the lake), when every unknown word is one and nothing else was unsupported;
    otherwise ``question`` unchanged. Naming the grouping's own key ("the research team") filters
    by it instead of grouping by it."""
    words = question.unknown_words
    if not words or question.unsupported != [_words_part(words)] or any(w not in names for w in words):
        return question
    filters = [*question.filters, *(names[w] for w in words)]
    group_by, group_label = question.group_by, question.group_label
    if any(f.key == group_by for f in filters):
        group_by = group_label = None
    return question.model_copy(update={"filters": filters, "group_by": group_by, "group_label": group_label,
                                       "unsupported": [], "unknown_words": []})

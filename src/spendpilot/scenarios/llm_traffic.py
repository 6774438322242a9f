"""Generated per-request LLM traffic with planted patterns, for tests, evals and benchmarks.

Each function returns ``LlmRequest`` rows, the shape the per-request table gives the checks:
paraphrased repeats (``prompt_corpus``), conversations whose input grows or stays flat, a
runaway loop, and a busy feature with varied calls. Deterministic for a seed.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from spendpilot.domain import LlmRequest
from spendpilot.scenarios.prompt_corpus import generate_prompts
from spendpilot.scenarios.spans import LlmRequestsSpec


def _messages(system: str, turns: list[tuple[str, str]]) -> str:
    out = [{"role": "system", "content": system}]
    for role, text in turns:
        out.append({"role": role, "content": text})
    return json.dumps(out)


def repeated_questions(feature: str, model: str, start: datetime, *, count: int, duplicate_share: float,
                       days: int = 7, seed: int = 0, provider: str = "openai", with_text: bool = True,
                       intents: list[str] | None = None) -> list[LlmRequest]:
    corpus = generate_prompts(count, duplicate_share, seed=seed, intents=intents)
    rng = random.Random(seed)
    rows = []
    for i, prompt in enumerate(corpus.prompts):
        at = start + timedelta(seconds=days * 86_400 * i / count)
        rows.append(LlmRequest(
            start_time=at, provider=provider, model=model, feature=feature,
            conversation_id=f"{feature}-{i}", input_tokens=400 + rng.randrange(60), output_tokens=180 + rng.randrange(80),
            prompt_prefix_sha256="a" * 64,
            input_messages=_messages("You are a helpful assistant.", [("user", prompt)]) if with_text else None,
        ))
    return rows


def conversations(feature: str, model: str, start: datetime, *, count: int, turns: int, first_input: int,
                  growth_per_turn: int, days: int = 7, seed: int = 0, provider: str = "openai") -> list[LlmRequest]:
    """``count`` conversations of ``turns`` requests; input = first + growth x turn (+-5 %)."""
    rng = random.Random(seed)
    rows = []
    for c in range(count):
        t0 = start + timedelta(seconds=days * 86_400 * c / count)
        for t in range(turns):
            size = first_input + growth_per_turn * t
            rows.append(LlmRequest(
                start_time=t0 + timedelta(seconds=45 * t), provider=provider, model=model, feature=feature,
                conversation_id=f"{feature}-c{c}", input_tokens=int(size * rng.uniform(0.95, 1.05)),
                output_tokens=200 + rng.randrange(100), prompt_prefix_sha256="b" * 64,
            ))
    return rows


def runaway_loop(feature: str, model: str, at: datetime, *, calls: int, per_minute: int,
                 conversation: str = "agent-run-4711", provider: str = "openai") -> list[LlmRequest]:
    """One conversation sending the same call ``calls`` times at ``per_minute``."""
    step = 60.0 / per_minute
    text = _messages("You are a tool-using agent.", [("user", "Find the cheapest flight to Lisbon"),
                                                        ("assistant", "Calling search_flights"), ("user", "tool error: timeout")])
    return [LlmRequest(
        start_time=at + timedelta(seconds=step * i), provider=provider, model=model, feature=feature,
        conversation_id=conversation, input_tokens=2_300, output_tokens=60,
        prompt_prefix_sha256="c" * 64, input_messages=text,
    ) for i in range(calls)]


def busy_varied(feature: str, model: str, at: datetime, *, calls: int, per_minute: int, callers: int = 50,
                seed: int = 0, provider: str = "openai") -> list[LlmRequest]:
    """A busy feature: ``per_minute`` calls a minute in total, from many callers, each different."""
    rng = random.Random(seed)
    corpus = generate_prompts(calls, 0.0, seed=seed)
    step = 60.0 / per_minute
    return [LlmRequest(
        start_time=at + timedelta(seconds=step * i), provider=provider, model=model, feature=feature,
        conversation_id=f"{feature}-u{rng.randrange(callers)}", input_tokens=300 + rng.randrange(3_000),
        output_tokens=100 + rng.randrange(400), prompt_prefix_sha256="d" * 64,
        input_messages=_messages("You answer customers.", [("user", corpus.prompts[i])]),
    ) for i in range(calls)]


def traffic_from_spec(spec: LlmRequestsSpec, now: datetime) -> list[LlmRequest]:
    """Every pattern of a scenario's ``llm_requests.yaml``, oldest first."""
    start = now - timedelta(days=spec.days)
    rows: list[LlmRequest] = []
    for p in spec.patterns:
        burst_at = now - timedelta(hours=p.hours_ago)
        if p.kind == "repeated_questions":
            rows += repeated_questions(p.feature, p.model, start, count=p.count, duplicate_share=p.duplicate_share,
                                       days=spec.days, seed=p.seed, provider=p.provider, intents=p.intents)
        elif p.kind == "conversations":
            rows += conversations(p.feature, p.model, start, count=p.count, turns=p.turns, first_input=p.first_input,
                                  growth_per_turn=p.growth_per_turn, days=spec.days, seed=p.seed, provider=p.provider)
        elif p.kind == "runaway_loop":
            rows += runaway_loop(p.feature, p.model, burst_at, calls=p.count, per_minute=p.per_minute,
                                 conversation=f"{p.feature}-run-{p.seed}", provider=p.provider)
        else:
            rows += busy_varied(p.feature, p.model, burst_at, calls=p.count, per_minute=p.per_minute,
                                callers=p.callers, seed=p.seed, provider=p.provider)
    return sorted(rows, key=lambda r: r.start_time)

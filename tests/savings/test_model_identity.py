"""Usage reports name the snapshot that served a request; routes name the alias."""

from __future__ import annotations

import pytest

from spendpilot.savings.pricebook import model_identity


@pytest.mark.parametrize(
    ("reported", "routed"),
    [
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("openai/gpt-4.1", "gpt-4.1"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("GPT-4.1", "gpt-4.1"),
    ],
)
def test_a_dated_or_prefixed_name_is_the_model_its_alias_names(reported: str, routed: str) -> None:
    assert model_identity(reported) == model_identity(routed)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("gpt-4.1", "gpt-4.1-mini"),  # another model, not a snapshot
        ("ft:gpt-4.1-2025-04-14:acme:tickets:abc123", "gpt-4.1"),  # a fine-tune is its own model
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),  # served elsewhere
    ],
)
def test_other_models_fine_tunes_and_other_places_stay_distinct(a: str, b: str) -> None:
    assert model_identity(a) != model_identity(b)

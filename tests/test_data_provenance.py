"""The copies in tests/data are what their PROVENANCE.md says they are.

Optional: it needs the upstream files, which are not in the repository. Point
``SPENDPILOT_SHARED_DATA`` at a folder laid out like the project's shared data
(``focus-sample/focus_1.0_sample_1000.csv``, ``llm-prices/model_prices_and_context_window.json``);
without it every test here skips, and the default suite reads only tests/data.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from tests.conftest import DATA, FOCUS_SAMPLE

LITELLM_PROVIDERS = {"openai", "anthropic", "bedrock", "bedrock_converse"}


@pytest.fixture(scope="module")
def upstream() -> Path:
    where = os.environ.get("SPENDPILOT_SHARED_DATA", "")
    if not where:
        pytest.skip("SPENDPILOT_SHARED_DATA is not set: no upstream copy to compare tests/data with")
    folder = Path(where)
    if not folder.is_dir():  # asked for and missing: say so rather than pass by skipping
        pytest.fail(f"SPENDPILOT_SHARED_DATA={where} is not a folder")
    return folder


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_focus_sample_is_the_upstream_file_byte_for_byte(upstream: Path) -> None:
    original = upstream / "focus-sample" / "focus_1.0_sample_1000.csv"
    assert _sha256(FOCUS_SAMPLE) == _sha256(original)
    recorded = (FOCUS_SAMPLE.parent / "PROVENANCE.md").read_text(encoding="utf-8")
    assert _sha256(FOCUS_SAMPLE) in recorded, "PROVENANCE.md must record the copied file's sha256"


def test_litellm_subset_is_upstream_filtered_by_provider_and_unchanged(upstream: Path) -> None:
    full = json.loads((upstream / "llm-prices" / "model_prices_and_context_window.json").read_text(encoding="utf-8"))
    expected = {
        key: entry for key, entry in full.items()
        if isinstance(entry, dict) and entry.get("litellm_provider") in LITELLM_PROVIDERS
    }
    copy = json.loads((DATA / "llm-prices" / "litellm_prices_openai_anthropic_bedrock.json").read_text(encoding="utf-8"))
    assert list(copy) == list(expected), "same keys in upstream order"
    assert copy == expected

"""Regenerate ``src/spendpilot/savings/data/llm_prices.json`` from litellm's price file.

The price book needs per-token prices for the providers spendpilot reads usage from (OpenAI,
Anthropic, Amazon Bedrock). litellm's ``model_prices_and_context_window.json`` (MIT License,
BerriAI/litellm) holds ~4,500 entries; this keeps the chat models of those providers, the fields
the price book reads, and nothing else. Values are copied unchanged (floats stay floats; the
price book turns them into ``Decimal`` via ``str``). Entries with no input or output price per
token (provisioned-throughput commitments, per-second or per-image models) are dropped because a
per-token estimate cannot use them.

It also writes ``llm_prices.source.json`` next to it (litellm version, licence, attribution,
entry count), which the price book shows as the source of every token price.

Usage::

    python tools/make_llm_price_subset.py [SOURCE_JSON] [--litellm-version X.Y.Z] [--out PATH]

SOURCE_JSON defaults to ``/work/shared/data/llm-prices/model_prices_and_context_window.json``;
any copy of the file works, e.g. ``litellm/model_prices_and_context_window_backup.json`` from an
installed ``litellm`` wheel; pass that wheel's version. After refreshing, update the version in
``src/spendpilot/savings/data/PROVENANCE.md`` and run ``pytest tests/savings`` (the
route-integrity tests catch renamed, retired or repriced models in ``model_tiers.yaml``).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = Path("/work/shared/data/llm-prices/model_prices_and_context_window.json")
DEFAULT_OUT = REPO / "src" / "spendpilot" / "savings" / "data" / "llm_prices.json"
DEFAULT_LITELLM_VERSION = "1.109.1"

PROVIDERS = frozenset({"openai", "anthropic", "bedrock", "bedrock_converse"})
FIELDS = (
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "cache_creation_input_token_cost_above_1hr",
    "input_cost_per_token_batches",
    "output_cost_per_token_batches",
    "cache_read_input_token_cost_batches",
    "output_cost_per_reasoning_token",
    "prompt_cache_min_tokens",
    "litellm_provider",
    "mode",
    "max_input_tokens",
    "max_output_tokens",
    "supports_prompt_caching",
    "source",
    "deprecation_date",
)


def select(models: dict[str, object]) -> dict[str, dict[str, object]]:
    """Keep priced chat models of the supported providers, with only ``FIELDS``, in source order."""
    subset: dict[str, dict[str, object]] = {}
    for key, entry in models.items():
        if not isinstance(entry, dict):
            continue
        if entry.get("mode") != "chat" or entry.get("litellm_provider") not in PROVIDERS:
            continue
        if entry.get("input_cost_per_token") is None or entry.get("output_cost_per_token") is None:
            continue
        subset[key] = {field: entry[field] for field in FIELDS if field in entry}
    return subset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--litellm-version", default=DEFAULT_LITELLM_VERSION)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--copied-on", default=date.today().isoformat(),
                        help="The day the price file was taken (shown as the prices' date).")
    args = parser.parse_args(argv)

    models = json.loads(args.source.read_text(encoding="utf-8"))
    subset = select(models)
    meta = {
        "litellm_version": args.litellm_version,
        "file": "model_prices_and_context_window.json",
        "url": "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json",
        "license": "MIT",
        "attribution": "model price data from BerriAI/litellm, MIT License",
        "providers": sorted(PROVIDERS),
        "entries": len(subset),
        "copied_on": args.copied_on,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(subset, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    meta_path = args.out.with_name(args.out.stem + ".source.json")
    meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(subset)} of {len(models)} entries to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

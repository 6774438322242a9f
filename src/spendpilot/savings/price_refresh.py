"""``spendpilot prices refresh --from FILE``: take a newer litellm price file without a release.

The file is litellm's ``model_prices_and_context_window.json`` (any release, or an edited copy).
It is validated entry by entry, cut to the same subset the bundled file holds (chat models of
OpenAI, Anthropic and Bedrock with an input and an output price), and written to
``<home>/prices/``, where ``PriceBook.for_home`` prefers it over the bundled one. Nothing is
written when any kept entry is malformed: the error names the model and the field. The result
says what changed, model by model and price by price, so a refresh never moves an estimate
silently.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from spendpilot.errors import ConfigError
from spendpilot.savings.pricebook import (
    LLM_OVERRIDE_DIR,
    PriceBook,
    _LlmEntry,
    bundled_data_dir,
)

PROVIDERS = frozenset({"openai", "anthropic", "bedrock", "bedrock_converse"})
PRICE_FIELDS = tuple(
    name for name in _LlmEntry.model_fields
    if name.endswith(("cost", "_per_token", "_batches", "_above_1hr", "_reasoning_token"))
)
KEPT_FIELDS = (*_LlmEntry.model_fields, "max_input_tokens", "max_output_tokens", "supports_prompt_caching")


@dataclass
class PriceChange:
    model: str
    field: str
    before: Decimal | None
    after: Decimal | None


@dataclass
class RefreshReport:
    source: Path
    written_to: Path
    entries: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[PriceChange] = field(default_factory=list)


def _select(raw: object, source: Path) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: not a litellm price file (expected a JSON object of models)")
    subset: dict[str, dict[str, Any]] = {}
    for key, entry in raw.items():
        if key == "sample_spec" or not isinstance(entry, dict):
            continue
        if entry.get("mode") != "chat" or entry.get("litellm_provider") not in PROVIDERS:
            continue
        if entry.get("input_cost_per_token") is None or entry.get("output_cost_per_token") is None:
            continue
        kept = {name: entry[name] for name in KEPT_FIELDS if name in entry}
        try:
            parsed = _LlmEntry.model_validate(kept)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{source}: model {key!r}, field {where!r}: {first['msg']}; nothing was written") from exc
        for name in PRICE_FIELDS:
            value = getattr(parsed, name)
            if isinstance(value, float) and not (0 <= value < 1):
                raise ConfigError(
                    f"{source}: model {key!r}, field {name!r}: {value} is not a per-token USD price "
                    "(expected 0 <= price < 1); nothing was written"
                )
        subset[key] = kept
    if not subset:
        raise ConfigError(
            f"{source}: no chat model of {', '.join(sorted(PROVIDERS))} with input and output prices; "
            "is this litellm's model_prices_and_context_window.json?"
        )
    return subset


def _prices(entries: dict[str, Any]) -> dict[str, dict[str, Decimal | None]]:
    return {
        key: {name: None if entry.get(name) is None else Decimal(str(entry[name])) for name in PRICE_FIELDS}
        for key, entry in entries.items()
    }


def current_llm_prices(home: Path) -> dict[str, Any]:
    """The LLM price entries in use for ``home``: its refreshed file, else the bundled one."""
    override = home / LLM_OVERRIDE_DIR / "llm_prices.json"
    path = override if override.is_file() else bundled_data_dir() / "llm_prices.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def refresh_prices(source: Path, home: Path, *, litellm_version: str | None = None) -> RefreshReport:
    """Validate ``source``, write its subset into ``home``, and say what changed."""
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"{source}: not JSON ({exc}); nothing was written") from exc
    subset = _select(raw, source)
    before = _prices(current_llm_prices(home))
    after = _prices(subset)

    target = home / LLM_OVERRIDE_DIR
    target.mkdir(parents=True, exist_ok=True)
    meta = {
        "litellm_version": litellm_version or "unknown (refreshed from a file)",
        "file": source.name,
        "url": "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json",
        "license": "MIT",
        "attribution": "model price data from BerriAI/litellm, MIT License",
        "providers": sorted(PROVIDERS),
        "entries": len(subset),
        "copied_on": datetime.now(UTC).date().isoformat(),
    }
    for name, content in (("llm_prices.json", subset), ("llm_prices.source.json", meta)):
        tmp = target / f".{name}.tmp"
        tmp.write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, target / name)
    PriceBook.for_home(home)  # the written files must load, or the refresh is not done

    report = RefreshReport(source=source, written_to=target, entries=len(subset))
    report.added = sorted(set(after) - set(before))
    report.removed = sorted(set(before) - set(after))
    for model in sorted(set(before) & set(after)):
        for name in PRICE_FIELDS:
            old, new = before[model][name], after[model][name]
            if old != new:
                report.changed.append(PriceChange(model, name, old, new))
    return report


def report_lines(report: RefreshReport, limit: int = 50) -> list[str]:
    """The refresh summary a user reads: counts, then each price change per 1M tokens."""
    lines = [
        f"Wrote {report.entries:,} model prices to {report.written_to} (overrides the bundled prices).",
        f"{len(report.added)} added, {len(report.removed)} removed, {len(report.changed)} prices changed.",
    ]
    million = Decimal(1_000_000)

    def per_m(value: Decimal | None) -> str:
        return "-" if value is None else f"${(value * million).normalize():f}/1M"

    for change in report.changed[:limit]:
        lines.append(f"  {change.model} {change.field}: {per_m(change.before)} -> {per_m(change.after)}")
    for model in report.added[: max(0, limit - len(report.changed))]:
        lines.append(f"  + {model}")
    for model in report.removed[: max(0, limit - len(report.changed) - len(report.added))]:
        lines.append(f"  - {model}")
    shown = min(limit, len(report.changed) + len(report.added) + len(report.removed))
    hidden = len(report.changed) + len(report.added) + len(report.removed) - shown
    if hidden > 0:
        lines.append(f"  ... and {hidden} more")
    return lines

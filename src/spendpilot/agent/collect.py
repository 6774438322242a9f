"""Collect a Snapshot from the configured sources, several at once.

Each source is read on its own; one that fails becomes a named ``Gap`` (its name and a one-line
reason) and the others go on. Results are merged in configuration order, whatever order the
reads finish in, so a sweep's snapshot does not depend on thread timing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from spendpilot.adapters.base import Source, SourceContext
from spendpilot.domain import Gap, Snapshot, SourceResult

log = logging.getLogger(__name__)
_MAX_ERROR = 300


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) > _MAX_ERROR:
        text = text[: _MAX_ERROR - 1] + "…"
    return text if type(exc).__name__ in ("AdapterError",) else f"{type(exc).__name__}: {text}"


def collect_snapshot(sources: Sequence[Source], ctx: SourceContext, concurrency: int = 4) -> Snapshot:
    snap = Snapshot(taken_at=ctx.now)

    def read(source: Source) -> SourceResult | Gap:
        try:
            return source.read(ctx)
        except Exception as exc:  # any failure of one source is that source's gap, never the sweep's end
            log.warning("source %s could not be read: %s", source.name, _one_line(exc))
            return Gap(source=source.name, error=_one_line(exc))

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(sources) or 1))) as pool:
        results = list(pool.map(read, sources))
    for source, result in zip(sources, results, strict=True):
        if isinstance(result, Gap):
            snap.gaps.append(result)
        else:
            snap.merge(source.name, result)
    return snap

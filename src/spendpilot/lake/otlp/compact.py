"""Merge the per-request table's small files, so a long-running receiver stays fast.

Every OTLP/HTTP export request is a delivery of its own, and a delivery is a Parquet file: an
application exporting every few seconds would leave thousands of tiny files a day. Each commit
scans the area for re-delivered spans (``store``: trace and span id are a restatement key), and
each query opens every file, so both would slow down with every export (measured: ~4 ms per
file per commit). Merging the small files into one keeps both bounded.

The merge is a commit like any other (``_storage``): under the lake's lock, the merged file is
staged, a journal naming the file to place and the files to remove is written, then carried out.
A crash before the journal leaves the small files as they were; after it, the next ingest or
query finishes the merge. Rows are copied unchanged, so every count stays the same; the merged
file carries no source hash, so re-ingesting an old file adds it again and restatement removes
its spans' earlier rows, as for any re-delivered span.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from spendpilot.lake._storage import (
    JOURNAL,
    PARQUET_COMPRESSION,
    ROW_GROUP_ROWS,
    STAGING_DIR,
    _apply,
    lake_lock,
    recover,
)
from spendpilot.lake.otlp.store import REQUESTS_AREA

SMALL_FILES_LIMIT = 32
"""Merge once this many files below ``ROW_GROUP_ROWS`` rows have accumulated."""


def compact_requests(lake_dir: Path, at_least: int = SMALL_FILES_LIMIT) -> int:
    """Merge the area's small files into one when there are ``at_least``; returns how many."""
    lake_dir = Path(lake_dir)
    area = lake_dir / REQUESTS_AREA
    if not area.is_dir():
        return 0
    with lake_lock(lake_dir):
        recover(lake_dir)
        small = [p for p in sorted(area.glob("*.parquet"))
                 if pq.ParquetFile(p).metadata.num_rows < ROW_GROUP_ROWS]
        if len(small) < max(at_least, 2):
            return 0
        staging = lake_dir / STAGING_DIR / uuid.uuid4().hex
        staging.mkdir(parents=True)
        try:
            merged = pa.concat_tables([pq.read_table(p).replace_schema_metadata(None) for p in small],
                                     promote_options="default")
            staged = staging / "merged.parquet"
            pq.write_table(merged, staged, compression=PARQUET_COMPRESSION,
                           row_group_size=ROW_GROUP_ROWS)
            target = area / f"compacted-{uuid.uuid4().hex[:16]}.parquet"
            ops = [["place", _rel(lake_dir, staged), _rel(lake_dir, target)]]
            ops += [["remove", _rel(lake_dir, p)] for p in small]
            temporary = staging / f"{JOURNAL}.tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(ops, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, staging / JOURNAL)
            _apply(lake_dir, ops)
            (staging / JOURNAL).unlink()
        finally:
            if not (staging / JOURNAL).exists():  # a journal left behind is recover()'s to finish
                shutil.rmtree(staging, ignore_errors=True)
    return len(small)


def _rel(lake_dir: Path, path: Path) -> str:
    return path.relative_to(lake_dir).as_posix()

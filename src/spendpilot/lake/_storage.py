"""Lake files: content hashes, staged writes, and the publish step that makes them visible.

Every ingest writes into a private staging directory inside the lake (same filesystem, so a
rename is atomic). Only when the whole input has been read does ``publish`` rename the staged
files into place; a crash or an error before that leaves nothing a query can see. Files carry
the full SHA-256 of their source in their Parquet metadata, so re-ingesting the same bytes
(under any file name) replaces the earlier files instead of adding to them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from urllib.parse import quote as url_quote

import pyarrow as pa
import pyarrow.parquet as pq

STAGING_DIR = ".staging"
QUARANTINE_DIR = "quarantine"
SOURCE_HASH_KEY = b"spendpilot.source_sha256"
SOURCE_FILE_KEY = b"spendpilot.source_file"
PARQUET_COMPRESSION = "zstd"
ROW_GROUP_ROWS = 122_880
MAX_PENDING_ROWS = 4 * ROW_GROUP_ROWS
"""Bound on rows held for all partitions together (an input spanning many months)."""


def content_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes (hashlib releases the GIL, so this can run beside parsing)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def source_stem(path: Path) -> str:
    """``focus-2024-09.csv.gz`` → ``focus-2024-09``, with unsafe characters replaced."""
    name = path.name
    for suffix in (".csv.gz", ".jsonl.gz", ".csv", ".parquet", ".jsonl", ".ndjson"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "source"


def partition_dir(key: str, value: str) -> str:
    """One hive directory level; the value is percent-encoded so a ``/`` cannot nest."""
    return f"{key}={url_quote(value, safe='')}"


class StagedWrite:
    """All files one ingest produces, staged until ``publish``.

    ``area`` is the lake sub-directory (``focus``, ``llm_usage``); each distinct ``partition``
    (a relative path such as ``provider=AWS/billing_period=2024-09``, or ``""``) gets one
    Parquet file, streamed to as batches arrive.
    """

    def __init__(self, lake_dir: Path, area: str, source: Path, digest: Future[str]) -> None:
        self.lake_dir = lake_dir
        self.area = area
        self.source = source
        self._digest = digest
        self._staging = lake_dir / STAGING_DIR / uuid.uuid4().hex
        self._writers: dict[str, tuple[Path, pq.ParquetWriter]] = {}
        self._pending: dict[str, list[pa.Table]] = {}
        self._quarantine: tuple[Path, pq.ParquetWriter] | None = None

    def _open(self, schema: pa.Schema) -> tuple[Path, pq.ParquetWriter]:
        self._staging.mkdir(parents=True, exist_ok=True)
        metadata = dict(schema.metadata or {})
        metadata[SOURCE_HASH_KEY] = self._digest.result().encode()
        metadata[SOURCE_FILE_KEY] = str(self.source).encode()
        staged = self._staging / f"{uuid.uuid4().hex}.parquet"
        writer = pq.ParquetWriter(
            staged, schema.with_metadata(metadata), compression=PARQUET_COMPRESSION
        )
        return staged, writer

    def write(self, partition: str, table: pa.Table) -> None:
        """Append rows to a partition's file.

        Rows are held until a partition has ``ROW_GROUP_ROWS`` of them, so files get a few large
        row groups (good compression, cheap footers) however small the reader's batches are.
        """
        if table.num_rows == 0:
            return
        if partition not in self._writers:
            self._writers[partition] = self._open(table.schema)
        pending = self._pending.setdefault(partition, [])
        pending.append(table)
        if sum(t.num_rows for t in pending) >= ROW_GROUP_ROWS:
            self._flush(partition)
        elif sum(t.num_rows for p in self._pending.values() for t in p) >= MAX_PENDING_ROWS:
            for name in list(self._pending):
                self._flush(name)

    def _flush(self, partition: str) -> None:
        pending = self._pending.pop(partition, [])
        if pending:
            rows = pa.concat_tables(pending)
            self._writers[partition][1].write_table(rows, row_group_size=rows.num_rows)

    def write_quarantine(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._quarantine is None:
            self._quarantine = self._open(table.schema)
        self._quarantine[1].write_table(table)

    def amend_quarantine(self, amend: Callable[[pa.Table | None], pa.Table]) -> None:
        """Replace the staged quarantine with ``amend(current rows or None)``.

        Used once, after the input has been read, when rows the reader skipped must be merged in
        and row numbers corrected; it reads the (small) quarantine back into memory.
        """
        current = None
        if self._quarantine is not None:
            path, writer = self._quarantine
            writer.close()
            current = pq.read_table(path)
            path.unlink()
            self._quarantine = None
        self.write_quarantine(amend(current))

    @property
    def partitions(self) -> list[str]:
        """Partitions written; an unpartitioned area (``""``) lists none."""
        return sorted(p for p in self._writers if p)

    def publish(self) -> tuple[list[str], Path | None]:
        """Close the staged files, rename them into the lake, then drop older copies.

        Returns the partitions written and the quarantine file. The renames go first, so at no
        moment is this source missing from the lake; an older copy under another stem is
        removed right after.
        """
        for partition in list(self._pending):
            self._flush(partition)
        digest = self._digest.result()
        name = f"{source_stem(self.source)}-{digest[:8]}.parquet"
        placed: set[Path] = set()
        staged: list[tuple[Path, Path]] = []
        for partition, (path, writer) in self._writers.items():
            writer.close()
            staged.append((path, self.lake_dir / self.area / partition / name))
        quarantine_path: Path | None = None
        if self._quarantine is not None:
            self._quarantine[1].close()
            quarantine_path = self.lake_dir / QUARANTINE_DIR / name
            staged.append((self._quarantine[0], quarantine_path))
        for source, target in staged:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            placed.add(target)
        for old in earlier_copies(self.lake_dir, self.area, digest):
            if old not in placed:
                old.unlink(missing_ok=True)
        self.abort()
        return self.partitions, quarantine_path

    def abort(self) -> None:
        """Forget everything staged (idempotent)."""
        self._pending.clear()
        for _, writer in self._writers.values():
            writer.close()
        if self._quarantine is not None:
            self._quarantine[1].close()
        shutil.rmtree(self._staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            self._staging.parent.rmdir()


def earlier_copies(lake_dir: Path, area: str, digest: str) -> list[Path]:
    """Files in ``area`` and the quarantine that came from a source with this exact hash.

    The 8-hex name suffix narrows the search; the full hash in each file's metadata confirms it,
    so two sources whose short hashes collide never replace each other.
    """
    pattern = f"*-{digest[:8]}.parquet"
    candidates = list((lake_dir / area).rglob(pattern)) + list(
        (lake_dir / QUARANTINE_DIR).glob(pattern)
    )
    found = []
    for path in candidates:
        try:
            metadata = pq.read_schema(path).metadata or {}
        except (pa.ArrowException, OSError):
            continue
        if metadata.get(SOURCE_HASH_KEY) == digest.encode():
            found.append(path)
    return found


"""Lake files: content hashes, staged writes, restatement, and the commit that makes them visible.

One ingest run (a file, or every file of a folder) is one ``LakeTransaction``. Each source is
written into a private staging directory inside the lake (same filesystem, so a rename is
atomic); nothing a query can see changes until ``commit``. The commit, under the lake's lock:

1. finishes any earlier commit a crash interrupted (``recover``);
2. plans every change: place the new files; drop earlier copies of the same bytes (files carry
   the full SHA-256 of their source in their Parquet metadata, so a copy under another name is
   found too); and, for an area with a restatement key, remove from older files the rows whose
   key the run brings again (see ``LakeTransaction``);
3. writes that plan as a journal (``commit.json``, written to a temporary name and renamed, so
   it exists whole or not at all), then carries it out and deletes it.

A crash before the journal exists leaves the lake as it was; a crash after it leaves a journal
that the next ingest, or the next query through ``CostLake``, carries out to the end. Every
step is idempotent (a rename whose staged file is gone was done; a delete of a missing file was
done), so replaying a journal twice is harmless. Either way no key is left with both its old
and new rows, or with neither.

**Staging left behind.** A run holds an exclusive advisory lock on its own staging folder for
as long as it lives, and the OS drops that lock when the process dies. So the next ingest can
tell a dead run's folder (lock free: deleted) from a live concurrent run's (lock held: kept);
see ``clean_orphaned_staging``. A folder with a journal is an interrupted commit and is
finished by ``recover`` instead.

**A full disk.** Writing fails with ENOSPC (or EFBIG under a file size limit); the run deletes
everything it staged and the ingest fails with ``StorageFullError``, naming the lake, so the
disk is not left fuller than before and the next ingest is not misled by leftovers.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote as url_quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spendpilot._failpoints import failpoint
from spendpilot.errors import ExitCode, IngestError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one ingest at a time is then up to the user
    fcntl = None  # type: ignore[assignment]

STAGING_DIR = ".staging"
QUARANTINE_DIR = "quarantine"
JOURNAL = "commit.json"
SOURCE_HASH_KEY = b"spendpilot.source_sha256"
SOURCE_FILE_KEY = b"spendpilot.source_file"
PARQUET_COMPRESSION = "zstd"
ROW_GROUP_ROWS = 122_880
MAX_PENDING_ROWS = 4 * ROW_GROUP_ROWS
"""Bound on rows held for all partitions together (an input spanning many months)."""
_KEY_SEPARATOR = "\x1f"


class StorageFullError(IngestError):
    """The lake's disk (or the process's file size limit) ran out while writing.

    Everything the run staged has been deleted, so nothing was stored and no space is held.
    Not bad input: exit code 1, and the same ingest succeeds once there is room.
    """

    exit_code = ExitCode.FAILURE


_FULL = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file size limit exceeded",
}


def storage_full(error: BaseException) -> str | None:
    """What ran out, when ``error`` (or an error it was raised from) is a full disk; else None.

    pyarrow and DuckDB report a failed write with the OS's words rather than an ``errno``, so
    the message is matched too.
    """
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, OSError) and seen.errno in _FULL:
            return _FULL[seen.errno]
        text = str(seen)
        for code, words in _FULL.items():
            if os.strerror(code) in text:
                return words
        seen = seen.__cause__ or seen.__context__
    return None


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


def key_strings(table: pa.Table, columns: Sequence[str]) -> pa.Array:
    """One text per row naming its restatement key (timestamps as integer microseconds)."""
    parts = []
    for name in columns:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64())
        parts.append(pc.cast(column, pa.string()))
    joined = pc.binary_join_element_wise(*parts, _KEY_SEPARATOR)
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


@dataclass
class StagedSource:
    """What one source became in staging, ready for the commit."""

    source: Path
    digest: str
    files: dict[str, Path]
    """Partition (``""`` when unpartitioned) → staged Parquet file."""
    quarantine: Path | None
    keys: dict[str, pa.Array] = field(default_factory=dict)
    """Partition → the distinct restatement keys of the rows stored there."""

    @property
    def name(self) -> str:
        """The file name every lake file of this source gets: ``<stem>-<hash8>.parquet``."""
        return f"{source_stem(self.source)}-{self.digest[:8]}.parquet"


@dataclass
class Committed:
    """What a commit did, per source (by its position in the run)."""

    partitions: dict[int, list[str]] = field(default_factory=dict)
    quarantine: dict[int, Path] = field(default_factory=dict)
    rows_replaced: dict[int, int] = field(default_factory=dict)
    """Rows of earlier sources removed because this source restates their key."""


class StagedWrite:
    """All files one source produces, staged in its run's directory until the commit.

    Each distinct ``partition`` (a relative path such as ``provider=AWS/billing_period=2024-09``,
    or ``""``) gets one Parquet file, streamed to as batches arrive.
    """

    def __init__(self, run: LakeTransaction, source: Path, digest: Future[str]) -> None:
        self._run = run
        self.source = source
        self._digest = digest
        self._writers: dict[str, tuple[Path, pq.ParquetWriter]] = {}
        self._pending: dict[str, list[pa.Table]] = {}
        self._quarantine: tuple[Path, pq.ParquetWriter] | None = None
        self._keys: dict[str, list[pa.Array]] = {}

    def _open(self, schema: pa.Schema) -> tuple[Path, pq.ParquetWriter]:
        metadata = dict(schema.metadata or {})
        metadata[SOURCE_HASH_KEY] = self._digest.result().encode()
        metadata[SOURCE_FILE_KEY] = str(self.source).encode()
        staged = self._run.staging_file()
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
        failpoint("lake_stage_write")
        if partition not in self._writers:
            self._writers[partition] = self._open(table.schema)
        key = self._run.restatement_key
        if key:
            distinct = table.select(list(key)).group_by(list(key)).aggregate([])
            self._keys.setdefault(partition, []).append(key_strings(distinct, key))
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

    def finish(self) -> StagedSource:
        """Close the staged files and hand them to the run for its commit."""
        for partition in list(self._pending):
            self._flush(partition)
        files = {}
        for partition, (path, writer) in self._writers.items():
            writer.close()
            files[partition] = path
        quarantine = None
        if self._quarantine is not None:
            self._quarantine[1].close()
            quarantine = self._quarantine[0]
        keys = {p: pc.unique(pa.concat_arrays(arrays)) for p, arrays in self._keys.items()}
        staged = StagedSource(self.source, self._digest.result(), files, quarantine, keys)
        self._run.sources.append(staged)
        return staged

    def close(self) -> None:
        """Close open writers (their files go with the run's staging directory).

        Never raises: it runs while a failed ingest is cleaning up, possibly on a full disk.
        """
        self._pending.clear()
        writers = [w for _, w in self._writers.values()]
        if self._quarantine is not None:
            writers.append(self._quarantine[1])
        for writer in writers:
            with contextlib.suppress(Exception):
                writer.close()

    def discard(self) -> None:
        """Forget everything written for this source so far (it is about to be read again)."""
        self.close()
        paths = [path for path, _ in self._writers.values()]
        if self._quarantine is not None:
            paths.append(self._quarantine[0])
        for path in paths:
            path.unlink(missing_ok=True)
        self._writers.clear()
        self._quarantine = None
        self._keys.clear()
        self._run.forget(self)



class LakeTransaction:
    """One ingest run into ``area``: every source staged, then one atomic commit.

    **Restatement.** With a ``restatement_key`` (FOCUS: ProviderName, BillingAccountId,
    BillingPeriodStart), the run is the newest export for every key its stored rows carry: rows
    with those keys in files from earlier runs are removed (a file left empty is deleted), and
    their other rows stay. Billing exports are re-delivered, restated, until the month closes;
    without this, each delivery would add the month again. "Newer" means ingested later: FOCUS
    rows carry no export timestamp and file times do not survive a download, so the order of
    ingestion is the one order the user controls. Files of the same run never replace each
    other, so a delivery split into parts must be ingested as one run (a folder). Keys are taken
    from stored rows only: a key whose every new row was quarantined keeps its older rows.
    """

    def __init__(self, lake_dir: Path, area: str, restatement_key: Sequence[str] = ()) -> None:
        self.lake_dir = lake_dir
        self.area = area
        self.restatement_key = tuple(restatement_key)
        self.sources: list[StagedSource] = []
        self._staging = lake_dir / STAGING_DIR / uuid.uuid4().hex
        self._staging_fd: int | None = None
        self._created: Path | None = None
        self._writes: list[StagedWrite] = []
        self.journal_written = False
        """True once the commit point has passed: the run's rows will be in the lake."""

    def _ensure_staging(self) -> None:
        """Create this run's staging folder and hold its lock for the run's lifetime.

        A cleaner (``clean_orphaned_staging``) deletes a folder only while holding its lock, so
        if one deleted ours between its creation and our lock, we notice and take a new name.
        """
        while self._staging_fd is None:
            missing = self._staging
            while not missing.parent.exists():
                missing = missing.parent
            self._staging.mkdir(parents=True, exist_ok=True)
            if self._created is None:
                self._created = missing
            fd = os.open(self._staging, os.O_RDONLY)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                ours = os.path.samestat(os.fstat(fd), os.stat(self._staging))
            except FileNotFoundError:
                ours = False
            if ours:
                self._staging_fd = fd
            else:
                os.close(fd)
                self._staging = self._staging.parent / uuid.uuid4().hex

    def staging_file(self) -> Path:
        """A fresh file name in this run's staging directory (created on first use)."""
        self._ensure_staging()
        return self._staging / f"{uuid.uuid4().hex}.parquet"

    def stage(self, source: Path, digest: Future[str]) -> StagedWrite:
        write = StagedWrite(self, source, digest)
        self._writes.append(write)
        return write

    def forget(self, write: StagedWrite) -> None:
        """Drop a discarded source's writer from the run."""
        if write in self._writes:
            self._writes.remove(write)

    def commit(self) -> Committed:
        """Make every staged source visible at once (see the module docstring).

        A run with nothing to place or remove (header-only exports) changes nothing.
        """
        done = Committed()
        if not self.sources:
            self.abort()
            return done
        with lake_lock(self.lake_dir):
            recover(self.lake_dir)
            ops = self._plan(done)
            failpoint("lake_before_journal")
            if ops:
                self._ensure_staging()
                journal = self._staging / JOURNAL
                temporary = journal.with_suffix(".tmp")
                with open(temporary, "w", encoding="utf-8") as handle:
                    json.dump(ops, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                failpoint("lake_journal_written")
                os.replace(temporary, journal)
                self.journal_written = True
                failpoint("lake_after_journal")
                _apply(self.lake_dir, ops)
                failpoint("lake_after_apply")
                journal.unlink()
        self.abort()
        return done

    def _plan(self, done: Committed) -> list[list[str]]:
        """The journal: ``["place", staged, target]`` and ``["remove", path]``, lake-relative."""
        last = {s.digest: i for i, s in enumerate(self.sources)}
        live = [i for i, s in enumerate(self.sources) if last[s.digest] == i]
        places: list[tuple[Path, Path]] = []
        for i in live:
            source = self.sources[i]
            for partition, staged in source.files.items():
                places.append((staged, self.lake_dir / self.area / partition / source.name))
            if source.quarantine is not None:
                target = self.lake_dir / QUARANTINE_DIR / source.name
                places.append((source.quarantine, target))
                done.quarantine[i] = target
            done.partitions[i] = sorted(p for p in source.files if p)
        placed = {target for _, target in places}
        removals = [
            old
            for digest in last
            for old in earlier_copies(self.lake_dir, self.area, digest)
            if old not in placed
        ]
        if self.restatement_key:
            rewrites, emptied = self._restate(live, skip=placed | set(removals), done=done)
            places += rewrites
            removals += emptied
        rel = self._relative
        return [["place", rel(s), rel(t)] for s, t in places] + [["remove", rel(p)] for p in removals]

    def _restate(self, live: list[int], skip: set[Path], done: Committed
                 ) -> tuple[list[tuple[Path, Path]], list[Path]]:
        """Rewrites (staged copy → old path) and deletions that drop restated rows."""
        rewrites: list[tuple[Path, Path]] = []
        emptied: list[Path] = []
        partitions = sorted({p for i in live for p in self.sources[i].keys})
        for partition in partitions:
            owner: dict[str, int] = {}
            for i in live:
                keys = self.sources[i].keys.get(partition)
                for key in keys.to_pylist() if keys is not None else []:
                    owner.setdefault(key, i)
            new_keys = pa.array(list(owner), pa.string())
            for old in sorted((self.lake_dir / self.area / partition).glob("*.parquet")):
                if old in skip:
                    continue
                try:
                    stored = pq.read_table(old, columns=list(self.restatement_key))
                except (pa.ArrowException, OSError) as exc:
                    raise IngestError(
                        f"{old}: lake file unreadable ({exc}); move it out of the lake and "
                        "ingest again"
                    ) from exc
                keys = key_strings(stored, self.restatement_key)
                hit = pc.fill_null(pc.is_in(keys, value_set=new_keys), False)
                replaced = pc.sum(hit).as_py() or 0
                if not replaced:
                    continue
                counts = pc.value_counts(keys.filter(hit)).flatten()
                for key, count in zip(counts[0].to_pylist(), counts[1].to_pylist(), strict=True):
                    i = owner[key]
                    done.rows_replaced[i] = done.rows_replaced.get(i, 0) + count
                if replaced == len(keys):
                    emptied.append(old)
                else:
                    rewrites.append((self._without(old, new_keys), old))
        return rewrites, emptied

    def _without(self, old: Path, keys: pa.Array) -> Path:
        """A staged copy of ``old`` (metadata kept) without the rows whose key is in ``keys``."""
        reader = pq.ParquetFile(old)
        staged = self.staging_file()
        with pq.ParquetWriter(staged, reader.schema_arrow, compression=PARQUET_COMPRESSION) as out:
            for batch in reader.iter_batches(batch_size=ROW_GROUP_ROWS):
                table = pa.Table.from_batches([batch])
                hit = pc.fill_null(
                    pc.is_in(key_strings(table, self.restatement_key), value_set=keys), False
                )
                kept = table.filter(pc.invert(hit))
                if kept.num_rows:
                    out.write_table(kept, row_group_size=kept.num_rows)
        return staged

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.lake_dir).as_posix()

    def abort(self) -> None:
        """Forget everything staged (idempotent), and any folder the run created for it.

        After the commit point (a journal on disk) the staged files belong to the journal:
        they are left for ``recover`` to finish placing.
        """
        for write in self._writes:
            write.close()
        fd, self._staging_fd = self._staging_fd, None
        try:
            if (self._staging / JOURNAL).exists():
                return
            shutil.rmtree(self._staging, ignore_errors=True)
        finally:
            if fd is not None:
                os.close(fd)
        with contextlib.suppress(OSError):
            self._staging.parent.rmdir()
        created = self._created
        folder = self._staging.parent.parent
        while created is not None and (folder == created or created in folder.parents):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent


def _apply(lake_dir: Path, ops: list[list[str]]) -> None:
    """Carry out a journal; every step may already have been done."""
    for op in ops:
        failpoint("lake_apply_step")
        if op[0] == "place":
            staged, target = lake_dir / op[1], lake_dir / op[2]
            if staged.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, target)
        elif op[0] == "remove":
            (lake_dir / op[1]).unlink(missing_ok=True)


@contextlib.contextmanager
def lake_lock(lake_dir: Path) -> Iterator[None]:
    """Exclusive hold on the lake while a commit plans and applies its changes.

    An advisory lock on the lake directory itself, so the lake holds no lock file; the OS
    releases it when a holder dies.
    """
    lake_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    fd = os.open(lake_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _journals(lake_dir: Path) -> list[Path]:
    return sorted((lake_dir / STAGING_DIR).glob(f"*/{JOURNAL}"))


def recover(lake_dir: Path) -> int:
    """Finish every commit a crash interrupted (call with the lock held); returns how many."""
    journals = _journals(lake_dir)
    for journal in journals:
        try:
            ops = json.loads(journal.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        _apply(lake_dir, ops)
        journal.unlink(missing_ok=True)
        shutil.rmtree(journal.parent, ignore_errors=True)
    return len(journals)


def _staging_folders(lake_dir: Path) -> list[Path]:
    staging = lake_dir / STAGING_DIR
    if not staging.is_dir():
        return []
    return sorted(p for p in staging.iterdir() if p.is_dir())


def _try_hold(folder: Path) -> int | None:
    """A descriptor holding ``folder``'s lock, or None when a live run holds it (or locks are
    unavailable, when no folder can be proven abandoned)."""
    if fcntl is None:
        return None
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def orphaned_staging(lake_dir: Path) -> list[Path]:
    """Staging folders left by runs that died before committing (no live run holds them).

    Read-only. A folder holding a commit journal is not listed: it is an interrupted commit
    (``interrupted_commits``), which the next ingest or query finishes.
    """
    found = []
    for folder in _staging_folders(lake_dir):
        if (folder / JOURNAL).exists():
            continue
        fd = _try_hold(folder)
        if fd is not None:
            os.close(fd)
            found.append(folder)
    return found


def interrupted_commits(lake_dir: Path) -> list[Path]:
    """Journals of commits a crash interrupted (finished by the next ingest or query)."""
    return _journals(lake_dir)


def clean_orphaned_staging(lake_dir: Path) -> list[Path]:
    """Delete the staging folders of dead runs; returns them.

    Each folder is deleted while holding its lock, so a run that is still alive (it holds the
    lock from the moment its folder exists) is never touched, and one that creates its folder
    as we delete it notices (``LakeTransaction._ensure_staging``). Journals are left to
    ``recover``.
    """
    removed = []
    for folder in _staging_folders(lake_dir):
        if (folder / JOURNAL).exists():
            continue
        fd = _try_hold(folder)
        if fd is None:
            continue
        try:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(fd)
    return removed


def prepare(lake_dir: Path) -> list[Path]:
    """Before an ingest: finish interrupted commits and delete dead runs' staging folders.

    Does nothing to a lake that does not exist yet (an ingest refused later writes nothing).
    Returns the folders deleted.
    """
    if not lake_dir.is_dir():
        return []
    with lake_lock(lake_dir):
        recover(lake_dir)
        return clean_orphaned_staging(lake_dir)


def recover_if_needed(lake_dir: Path) -> None:
    """For readers: finish an interrupted commit before reading, so no query sees half of one.

    Costs one directory listing when there is nothing to do. A lake the process cannot write
    to is read as it is.
    """
    if not _journals(lake_dir):
        return
    with contextlib.suppress(OSError), lake_lock(lake_dir):
        recover(lake_dir)


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

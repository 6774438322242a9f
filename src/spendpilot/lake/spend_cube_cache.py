"""The dashboard's spend cube, kept while the lake's bill is unchanged: in memory and on disk.

Reading the cube is one scan of the lake (seconds at 10 M rows); the bill only changes when an
ingest commits. So the cube is keyed on the FOCUS files themselves (each one's path, size,
modification time and inode, after finishing any interrupted commit): the same files give the
same cube. It is kept

* in memory, for the process: the TUI's start-up worker and the dashboard's ``d`` ask the same
  ``SpendCubeCache``, and a second asker waits for the first one's scan instead of scanning too;
* on disk, next to the lake (``<lake>/.cache/spend_cube-<params>.parquet``, a few thousand rows
  with the file fingerprint in its metadata), so the next TUI start reads it in milliseconds.

Any ingest, restatement, deleted or copied file changes the fingerprint, and the cube is read
again. A cube read while an ingest committed (the fingerprint moved during the scan) is used
once and neither kept nor stored. A stored cube that cannot be read, or was written for other
keys, days, team tag or by another format, is ignored and replaced. A lake directory that
cannot be written only loses the disk copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from spendpilot.lake._storage import recover_if_needed
from spendpilot.lake.ingest import FOCUS_AREA
from spendpilot.lake.spend_cube import CUBE_FORMAT, SpendCube, cube_meta, read_cube_table

log = logging.getLogger(__name__)

CACHE_DIR = ".cache"
_FINGERPRINT_KEY = b"spendpilot.lake_fingerprint"


def focus_fingerprint(lake_dir: Path) -> str:
    """A digest of the FOCUS files a query would read now: relative path, size, mtime, inode.

    Every way the bill changes (a new file, a restated file renamed over an old one, a
    removed copy) changes one of these; reading them costs one ``stat`` per file."""
    recover_if_needed(lake_dir)
    digest = hashlib.sha256()
    for path in sorted((lake_dir / FOCUS_AREA).glob("*/*/*.parquet")):
        try:
            st = path.stat()
        except FileNotFoundError:  # removed between the listing and the stat: an ingest is on
            digest.update(b"gone")
            continue
        digest.update(f"{path.relative_to(lake_dir)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
    return digest.hexdigest()


class SpendCubeCache:
    """The spend cubes of one lake. Thread-safe; one per process (the services own it).

    ``scans`` counts the cubes read from the lake and ``loads`` those read from disk, so a test
    or a benchmark can tell which happened without timing it.
    """

    def __init__(self, lake_dir: Path) -> None:
        self.lake_dir = Path(lake_dir)
        self._lock = threading.Lock()
        self._held: dict[str, tuple[str, SpendCube | None]] = {}
        """params digest -> (lake fingerprint, the cube or None when a sum overflowed)."""
        self.scans = 0
        self.loads = 0

    def path(self, keys: Sequence[str], days: int, team_tag: str = "team") -> Path:
        """Where the cube for these parameters is stored."""
        return self.lake_dir / CACHE_DIR / f"spend_cube-{_params(keys, days, team_tag)}.parquet"

    def get(self, keys: Sequence[str], days: int, *, team_tag: str = "team") -> SpendCube | None:
        """The cube for the lake as it is now: held, stored, or read (``SpendCube.build``)."""
        params = _params(keys, days, team_tag)
        with self._lock:
            fingerprint = focus_fingerprint(self.lake_dir)
            held = self._held.get(params)
            if held is not None and held[0] == fingerprint:
                return held[1]
            path = self.path(keys, days, team_tag)
            cube = self._stored(path, fingerprint, keys, days, team_tag)
            if cube is not None:
                self.loads += 1
                self._held[params] = (fingerprint, cube)
                return cube
            table = read_cube_table(self.lake_dir, keys, days, team_tag=team_tag)
            self.scans += 1
            cube = None if table is None else SpendCube.from_table(table)
            if focus_fingerprint(self.lake_dir) != fingerprint:
                log.info("spend cube: the lake changed while it was read; not kept")
                return cube
            self._held[params] = (fingerprint, cube)
            if table is not None:
                self._store(path, table, fingerprint)
            return cube

    @staticmethod
    def _stored(path: Path, fingerprint: str, keys: Sequence[str], days: int, team_tag: str
                ) -> SpendCube | None:
        if not path.is_file():
            return None
        try:
            table = pq.read_table(path)
            meta = cube_meta(table)
            stored_for = (table.schema.metadata or {}).get(_FINGERPRINT_KEY, b"").decode()
        except (OSError, ValueError, pa.ArrowException) as error:
            log.warning("spend cube: ignoring unreadable %s (%s)", path, error)
            return None
        if (stored_for != fingerprint or meta.get("format") != CUBE_FORMAT or meta.get("keys") != list(keys)
                or meta.get("days") != days or meta.get("team_tag") != team_tag):
            return None
        return SpendCube.from_table(table)

    @staticmethod
    def _store(path: Path, table: pa.Table, fingerprint: str) -> None:
        """Write to a private name and rename: a reader sees the old file or the new, whole."""
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            metadata = {**(table.schema.metadata or {}), _FINGERPRINT_KEY: fingerprint.encode()}
            pq.write_table(table.replace_schema_metadata(metadata), tmp)
            os.replace(tmp, path)
        except OSError as error:
            log.warning("spend cube: cannot store it in %s (%s); it will be read again next time",
                        path.parent, error)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def _params(keys: Sequence[str], days: int, team_tag: str) -> str:
    text = json.dumps({"keys": list(keys), "days": days, "team_tag": team_tag, "format": CUBE_FORMAT})
    return hashlib.sha256(text.encode()).hexdigest()[:16]

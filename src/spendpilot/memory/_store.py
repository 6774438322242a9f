"""The one way spendpilot opens Chroma: a fresh local client per operation, under a file lock.

Why not one long-lived client? Chroma's embedded ``PersistentClient`` is not process-safe
(chroma-core/chroma#3792, #3769). A client caches its vector index in memory, keyed by
directory, for the life of the process: writes made by another process (the TUI rejects, the
daemon sweeps) stay invisible to its ``query()``; on chromadb 1.5 a ``get()`` that includes
embeddings even fails with "Error finding id"; and when the stale client persists, it can write
its outdated index over the newer one. Opening a client, doing one operation and closing it
(the last ``close()`` drops the cached system) costs ~15 ms on a laptop, and an exclusive
``flock`` around the whole operation keeps two processes from holding stale state at once.

Telemetry is off and an explicit embedding function is always passed, so Chroma never
reaches the network and never instantiates its downloading default.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import chromadb
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, EmbeddingFunction
from chromadb.config import Settings as ChromaSettings

LOCK_FILE_NAME = "spendpilot-memory.lock"


def chroma_settings() -> ChromaSettings:
    """The settings every spendpilot client uses (Chroma refuses mixed settings per path)."""
    return ChromaSettings(anonymized_telemetry=False, allow_reset=True)


@contextmanager
def _exclusive(chroma_dir: Path) -> Iterator[None]:
    fd = os.open(chroma_dir / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def open_collection(
    chroma_dir: Path,
    name: str,
    embedding_function: EmbeddingFunction[Documents],
) -> Iterator[Collection]:
    """Yield collection ``name`` (created if missing, cosine space) for one short operation.

    Do not keep the collection after the ``with`` block: its client is closed.
    """
    chroma_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(chroma_dir):
        client = chromadb.PersistentClient(path=str(chroma_dir), settings=chroma_settings())
        try:
            yield client.get_or_create_collection(
                name,
                embedding_function=embedding_function,  # type: ignore[arg-type]
                configuration={"hnsw": {"space": "cosine"}},
            )
        finally:
            client.close()  # type: ignore[attr-defined]

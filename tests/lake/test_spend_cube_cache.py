"""The spend cube is read once per state of the lake: kept while its files are unchanged (in
memory and on disk), read again after any ingest. Which happened is told by the cache's
``scans`` / ``loads`` counters and by the stored file, never by timing; every answer is
compared with the explorer's on the lake as it is then."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from spendpilot.errors import NoSpendData
from spendpilot.lake import ingest_file
from spendpilot.lake.spend import SpendQuery, SpendResult, build_query, run_spend_query
from spendpilot.lake.spend_cube_cache import CACHE_DIR, SpendCubeCache

from .focus_rows import focus_row, write_csv

KEYS = ("service", "team")
DAYS = 60
BY_SERVICE = build_query(group_by=["service"], last_days=7, compare=True)
BY_TEAM = build_query(group_by=["team"], last_days=30)


def _ingest(root: Path, name: str, account: str, cost: str, services: tuple[str, ...] = ("Amazon EC2",)) -> None:
    rows = [focus_row(i, BillingAccountId=account, EffectiveCost=cost, ServiceName=services[i % len(services)],
                      Tags='{"team": "%s"}' % ("ml" if i % 2 else "search"))
            for i in range(28)]
    ingest_file(write_csv(root / name, rows), root / "lake")


def _answer(cache: SpendCubeCache, query: SpendQuery) -> SpendResult:
    cube = cache.get(KEYS, DAYS)
    assert cube is not None
    answer = cube.answer(query)
    assert answer is not None
    assert answer == run_spend_query(cache.lake_dir, query)
    return answer


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    _ingest(tmp_path, "first.csv", "acct-1", "1.50")
    return tmp_path


def test_an_unchanged_lake_is_read_once_then_from_memory_then_from_disk(root: Path) -> None:
    cache = SpendCubeCache(root / "lake")
    first = _answer(cache, BY_SERVICE)
    assert (cache.scans, cache.loads) == (1, 0)
    stored = cache.path(KEYS, DAYS)
    before = stored.stat()

    assert _answer(cache, BY_SERVICE) == first
    assert (cache.scans, cache.loads) == (1, 0)  # held in memory

    restarted = SpendCubeCache(root / "lake")  # the next TUI start
    assert _answer(restarted, BY_SERVICE) == first
    assert _answer(restarted, BY_TEAM)
    assert (restarted.scans, restarted.loads) == (0, 1)
    after = stored.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)  # not rewritten


def test_an_ingest_makes_it_read_again_and_the_answers_change(root: Path) -> None:
    cache = SpendCubeCache(root / "lake")
    before = _answer(cache, BY_SERVICE)
    stored = cache.path(KEYS, DAYS).stat()

    _ingest(root, "second.csv", "acct-2", "2.25", services=("Amazon EC2", "Amazon S3"))
    after = _answer(cache, BY_SERVICE)
    assert after != before
    assert {r.keys["service"] for r in after.rows} == {"Amazon EC2", "Amazon S3"}
    assert (cache.scans, cache.loads) == (2, 0)
    rewritten = cache.path(KEYS, DAYS).stat()
    assert (rewritten.st_mtime_ns, rewritten.st_ino) != (stored.st_mtime_ns, stored.st_ino)

    restarted = SpendCubeCache(root / "lake")
    assert _answer(restarted, BY_SERVICE) == after
    assert (restarted.scans, restarted.loads) == (0, 1)  # the new state was stored


def test_a_restated_bill_is_read_again(root: Path) -> None:
    """The same account and billing period ingested again replaces the earlier rows: the file
    set changes although no file is added for a new period."""
    cache = SpendCubeCache(root / "lake")
    before = _answer(cache, BY_TEAM)
    _ingest(root, "restated.csv", "acct-1", "4.00")
    after = _answer(cache, BY_TEAM)
    assert after != before
    assert cache.scans == 2


def test_a_stored_cube_for_other_parameters_or_unreadable_is_not_trusted(root: Path) -> None:
    cache = SpendCubeCache(root / "lake")
    assert cache.get(KEYS, DAYS) is not None
    assert cache.get(KEYS, 30) is not None  # another window: its own file, its own scan
    assert cache.scans == 2
    assert cache.path(KEYS, 30) != cache.path(KEYS, DAYS)

    cache.path(KEYS, DAYS).write_bytes(b"not parquet")
    restarted = SpendCubeCache(root / "lake")
    _answer(restarted, BY_SERVICE)
    assert (restarted.scans, restarted.loads) == (1, 0)
    assert SpendCubeCache(root / "lake").get(KEYS, DAYS) is not None  # the file was replaced
    assert cache.path(KEYS, DAYS).read_bytes()[:4] == b"PAR1"


def test_a_lake_it_cannot_write_to_still_answers(root: Path) -> None:
    (root / "lake" / CACHE_DIR).write_text("a file where the cache folder would go")
    cache = SpendCubeCache(root / "lake")
    _answer(cache, BY_TEAM)
    _answer(cache, BY_TEAM)
    assert (cache.scans, cache.loads) == (1, 0)  # kept in memory all the same
    assert SpendCubeCache(root / "lake").get(KEYS, DAYS) is not None


def test_callers_at_once_share_one_scan(root: Path) -> None:
    """The TUI's start-up worker and the dashboard's ``d`` may ask together."""
    cache = SpendCubeCache(root / "lake")
    found: list[object] = []
    threads = [threading.Thread(target=lambda: found.append(cache.get(KEYS, DAYS))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.scans == 1
    assert len(found) == 3 and found[0] is not None and all(f is found[0] for f in found)


def test_an_empty_lake_says_so_every_time(tmp_path: Path) -> None:
    cache = SpendCubeCache(tmp_path / "lake")
    for _ in range(2):
        with pytest.raises(NoSpendData):
            cache.get(KEYS, DAYS)
    assert not (tmp_path / "lake" / CACHE_DIR).exists()

"""CUR exports read from S3 through their manifests; a delivery already read is not fetched again.

``spendpilot ingest s3://bucket/prefix/`` lists the prefix once and finds the manifests of two
delivery layouts (AWS's own documentation, cited in ``docs/aws-billing.md``):

* **CUR 2.0 (Data Exports)**: ``<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/[<id>/]
  <export>-Manifest.json``, whose ``dataFiles`` are full ``s3://`` URIs and whose ``executionId``
  names the delivery. With "create new report" several manifests exist for one period: the one
  written last wins.
* **Legacy CUR**: ``<prefix>/<report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json`` (the copy in
  the date-range folder, which AWS overwrites with each update; the copies in ``<assemblyId>/``
  folders are history), whose ``reportKeys`` are keys in ``bucket`` and whose ``assemblyId``
  names the delivery.

**What is fetched.** A ledger in the lake (``SOURCES_DIR/s3-cur.json``) records, per manifest,
its ETag, its delivery id and the key and ETag of every data file read. A manifest whose ETag and
whose files' ETags (all from the one listing) are unchanged is skipped without a single GET. A
changed one is read, and if its delivery differs (a new assembly, a new execution, a data file
with a new ETag) every data file it lists is fetched and ingested as one run: the lake replaces a
billing period's rows per (provider, billing account, period) as a whole (``RESTATEMENT_KEY``), so
reading only the changed parts of a restated period would drop the rest of it.

**Order of writes.** The ledger is written after the lake's commit. A crash between the two
re-reads that delivery next time, which restates the same rows with themselves: harmless.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field, ValidationError

from spendpilot.errors import AdapterError, IngestError
from spendpilot.lake.cur import CUR_2, LEGACY_CUR
from spendpilot.lake.ingest import (
    FOCUS_AREA,
    RESTATEMENT_KEY,
    IngestReport,
    check_date_format,
    focus_plan,
    run_plans,
)

SOURCES_DIR = "sources"
LEDGER_FILE = "s3-cur.json"

_CUR2_MANIFEST = re.compile(
    r"^(?P<base>(?:.*/)?(?P<export>[^/]+))/metadata/BILLING_PERIOD=(?P<period>\d{4}-\d{2})/"
    r"(?:[^/]+/)?(?P=export)-Manifest\.json$"
)
_LEGACY_MANIFEST = re.compile(
    r"^(?P<base>(?:.*/)?(?P<report>[^/]+))/(?P<period>\d{8}-\d{8})/(?P=report)-Manifest\.json$"
)


@dataclass(frozen=True)
class S3Object:
    """One listed object: enough to tell whether it changed since it was read."""

    key: str
    etag: str
    modified: datetime | None = None


@dataclass
class Delivery:
    """One manifest's delivery: which export, which billing period, which files."""

    kind: str
    """``CUR 2.0`` or ``legacy CUR``."""
    bucket: str
    manifest: S3Object
    export: str
    """The export (CUR 2.0) or report (legacy) folder, relative to the bucket."""
    period: str
    """``2024-09`` (CUR 2.0) or ``20240901-20241001`` (legacy), as the path spells it."""
    delivery_id: str = ""
    """``executionId`` or ``assemblyId``; empty until the manifest is read."""
    files: list[S3Object] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.manifest.key}"


class _Cur2Manifest(BaseModel):
    executionId: str = Field(min_length=1)  # noqa: N815 - AWS's field name
    dataFiles: list[str]  # noqa: N815


class _LegacyManifest(BaseModel):
    assemblyId: str = Field(min_length=1)  # noqa: N815
    reportKeys: list[str]  # noqa: N815
    bucket: str | None = None


class LedgerEntry(BaseModel):
    """What was read from one manifest, the last time it was read."""

    manifest_etag: str
    delivery_id: str
    files: dict[str, str]
    """``s3://bucket/key`` → the ETag it had when read."""


class S3IngestResult(BaseModel):
    """What one ``ingest s3://…`` did: deliveries read and skipped, files fetched, rows stored."""

    url: str
    manifests_found: int = 0
    read: list[str] = Field(default_factory=list)
    """Manifest URIs whose delivery was ingested."""
    unchanged: list[str] = Field(default_factory=list)
    """Manifest URIs skipped: their delivery was read before and nothing in it changed."""
    files_fetched: list[str] = Field(default_factory=list)
    reports: list[IngestReport] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    """The ``s3://`` URI of each report's file, in the order of ``reports``."""


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` → (``bucket``, ``some/prefix/``); a prefix names a folder."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise IngestError(f"{url}: not an s3://bucket/prefix URL")
    prefix = parsed.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parsed.netloc, prefix


def is_s3_url(text: str) -> bool:
    """True for ``s3://…``, and for the ``s3:/…`` a ``Path`` turns it into."""
    return text.startswith("s3://") or text.startswith("s3:/")


def normalise_s3_url(text: str) -> str:
    """``s3:/bucket/prefix`` (what ``Path('s3://bucket/prefix')`` prints) → ``s3://bucket/prefix``."""
    return text if text.startswith("s3://") else "s3://" + text[len("s3:/"):]


def _call(s3: Any, operation: str, target: str, call: Callable[[], Any]) -> Any:
    """One S3 call; a refusal or an unreachable endpoint is an ``AdapterError`` naming ``target``."""
    try:
        return call()
    except (ClientError, BotoCoreError) as exc:
        raise _translated(s3, operation, target, exc) from exc


def _translated(s3: Any, operation: str, target: str, exc: Exception) -> AdapterError:
    from spendpilot.adapters.aws.errors import adapter_error

    error = adapter_error(exc, service="s3", operation=operation, region=str(s3.meta.region_name),
                          endpoint=str(s3.meta.endpoint_url))
    return AdapterError(f"{error} [{target}]")


def list_objects(s3: Any, bucket: str, prefix: str) -> dict[str, S3Object]:
    """Every object under ``prefix``, by key (one paginated ListObjectsV2)."""
    objects: dict[str, S3Object] = {}

    def pages() -> Iterator[dict[str, Any]]:
        yield from s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)

    for page in _call(s3, "ListObjectsV2", f"s3://{bucket}/{prefix}", lambda: list(pages())):
        for item in page.get("Contents", []):
            objects[item["Key"]] = S3Object(item["Key"], item["ETag"], item.get("LastModified"))
    return objects


def find_deliveries(bucket: str, objects: dict[str, S3Object]) -> list[Delivery]:
    """The manifests in a listing, one per (export, billing period): the last written wins."""
    latest: dict[tuple[str, str, str], Delivery] = {}
    for obj in objects.values():
        for kind, pattern in ((CUR_2, _CUR2_MANIFEST), (LEGACY_CUR, _LEGACY_MANIFEST)):
            match = pattern.match(obj.key)
            if match is None:
                continue
            delivery = Delivery(kind, bucket, obj, match["base"], match["period"])
            slot = (kind, delivery.export, delivery.period)
            held = latest.get(slot)
            if held is None or (obj.modified, obj.key) > (held.manifest.modified, held.manifest.key):
                latest[slot] = delivery
    return sorted(latest.values(), key=lambda d: (d.export, d.period))


def _read_json(s3: Any, bucket: str, key: str) -> Any:
    body = _call(s3, "GetObject", f"s3://{bucket}/{key}",
                 lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IngestError(f"s3://{bucket}/{key}: not a JSON manifest ({exc})") from exc


def _data_file(uri_or_key: str, bucket: str) -> tuple[str, str]:
    if uri_or_key.startswith("s3://"):
        parsed = urlparse(uri_or_key)
        return parsed.netloc, parsed.path.lstrip("/")
    return bucket, uri_or_key


def read_manifest(s3: Any, delivery: Delivery, objects: dict[str, S3Object]) -> None:
    """Fill ``delivery_id`` and ``files`` from the manifest; a file it lists must exist."""
    raw = _read_json(s3, delivery.bucket, delivery.manifest.key)
    try:
        if delivery.kind == CUR_2:
            cur2 = _Cur2Manifest.model_validate(raw)
            delivery.delivery_id = cur2.executionId
            listed = [_data_file(f, delivery.bucket) for f in cur2.dataFiles]
        else:
            legacy = _LegacyManifest.model_validate(raw)
            delivery.delivery_id = legacy.assemblyId
            listed = [_data_file(k, legacy.bucket or delivery.bucket) for k in legacy.reportKeys]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'manifest'}: {e['msg']}"
                             for e in exc.errors())
        raise IngestError(f"{delivery.uri}: not a {delivery.kind} manifest ({problems})") from exc
    others = sorted({b for b, _ in listed} - {delivery.bucket})
    if others:
        raise IngestError(f"{delivery.uri}: lists data files in another bucket ({', '.join(others)}); "
                          "point the ingest at the bucket that holds them")
    files = []
    for _, key in listed:
        obj = objects.get(key)
        if obj is None:  # outside the listed prefix, or not (yet) there
            try:
                head = s3.head_object(Bucket=delivery.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    raise IngestError(f"{delivery.uri}: lists s3://{delivery.bucket}/{key}, which does "
                                      "not exist (a delivery still being written, or one deleted)") from exc
                raise _translated(s3, "HeadObject", f"s3://{delivery.bucket}/{key}", exc) from exc
            obj = S3Object(key, head["ETag"])
        files.append(obj)
    delivery.files = files


def _ledger_path(lake_dir: Path) -> Path:
    return Path(lake_dir) / SOURCES_DIR / LEDGER_FILE


def load_ledger(lake_dir: Path) -> dict[str, LedgerEntry]:
    """Manifest URI → what was read from it; an unreadable ledger is an error, never "read nothing"."""
    path = _ledger_path(lake_dir)
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {uri: LedgerEntry.model_validate(entry) for uri, entry in raw.items()}
    except (ValueError, AttributeError, ValidationError) as exc:
        raise IngestError(f"{path}: the record of S3 files already read is damaged ({exc}); "
                          "delete it to read every delivery again (restatement keeps the lake right)") from exc


def _save_ledger(lake_dir: Path, ledger: dict[str, LedgerEntry]) -> None:
    path = _ledger_path(lake_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps({u: e.model_dump() for u, e in sorted(ledger.items())}, indent=1),
                         encoding="utf-8")
    os.replace(temporary, path)


def _unchanged(entry: LedgerEntry | None, delivery: Delivery, objects: dict[str, S3Object]) -> bool:
    """The manifest and every file read from it are as they were (ETags from the listing)."""
    if entry is None or entry.manifest_etag != delivery.manifest.etag:
        return False
    prefix = f"s3://{delivery.bucket}/"
    for uri, etag in entry.files.items():
        current = objects.get(uri[len(prefix):]) if uri.startswith(prefix) else None
        if current is None or current.etag != etag:
            return False
    return True


def _same_delivery(entry: LedgerEntry | None, delivery: Delivery) -> bool:
    return entry is not None and entry.delivery_id == delivery.delivery_id and entry.files == {
        f"s3://{delivery.bucket}/{f.key}": f.etag for f in delivery.files
    }


def ingest_s3(url: str, lake_dir: Path, s3: Any, *, date_format: str | None = None,
              download_dir: Path | None = None) -> S3IngestResult:
    """Ingest the CUR deliveries under ``url`` that were not read before (see the module doc).

    ``s3`` is a boto3 S3 client (its endpoint decides where "S3" is). Each delivery is fetched and
    committed as a run of its own, in (export, period) order, and recorded once committed; a file
    that cannot be read stops the call there: its delivery stores nothing, the ones committed
    before it stay (and are not fetched again), the rest are read next time.
    """
    check_date_format(date_format)
    bucket, prefix = parse_s3_url(url)
    objects = list_objects(s3, bucket, prefix)
    deliveries = find_deliveries(bucket, objects)
    result = S3IngestResult(url=url, manifests_found=len(deliveries))
    if not deliveries:
        raise IngestError(
            f"{url}: no CUR manifest found ({len(objects)} objects listed; expected "
            "<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json (CUR 2.0) or "
            "<report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json (legacy CUR))"
        )
    ledger = load_ledger(lake_dir)
    to_read: list[Delivery] = []
    for delivery in deliveries:
        entry = ledger.get(delivery.uri)
        if _unchanged(entry, delivery, objects):
            result.unchanged.append(delivery.uri)
            continue
        read_manifest(s3, delivery, objects)
        if _same_delivery(entry, delivery):  # the manifest was rewritten, its delivery was not
            assert entry is not None
            entry.manifest_etag = delivery.manifest.etag
            result.unchanged.append(delivery.uri)
            continue
        if not delivery.files:
            result.unchanged.append(delivery.uri)  # nothing delivered yet for this period
            continue
        to_read.append(delivery)
    _save_ledger(lake_dir, ledger)
    for delivery in to_read:  # one run per delivery: a long history needs one delivery's disk at a time
        _ingest_delivery(s3, delivery, lake_dir, date_format, download_dir, result)
        ledger[delivery.uri] = LedgerEntry(
            manifest_etag=delivery.manifest.etag, delivery_id=delivery.delivery_id,
            files={f"s3://{delivery.bucket}/{f.key}": f.etag for f in delivery.files},
        )
        result.read.append(delivery.uri)
        _save_ledger(lake_dir, ledger)
    return result


STALE_DOWNLOAD_SECONDS = 24 * 3600
"""A scratch folder untouched this long was left by a killed ingest (a live one writes to it)."""


def _remove_stale_downloads(parent: Path) -> None:
    now = time.time()
    for folder in parent.glob("download-*"):
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > STALE_DOWNLOAD_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # removed by another ingest while we looked
            continue


def _ingest_delivery(s3: Any, delivery: Delivery, lake_dir: Path, date_format: str | None,
                     download_dir: Path | None, result: S3IngestResult) -> None:
    """Fetch every data file of ``delivery`` and commit them as one run (they restate together)."""
    scratch_parent = download_dir or Path(lake_dir) / SOURCES_DIR
    scratch_parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_downloads(scratch_parent)
    with tempfile.TemporaryDirectory(prefix="download-", dir=scratch_parent) as scratch:
        plans = []
        local_names: dict[str, str] = {}
        try:
            for obj in delivery.files:
                uri = f"s3://{delivery.bucket}/{obj.key}"
                local = Path(scratch) / obj.key
                local_names[str(local)] = uri
                local.parent.mkdir(parents=True, exist_ok=True)
                _call(s3, "GetObject", uri,
                      functools.partial(s3.download_file, delivery.bucket, obj.key, str(local)))
                result.files_fetched.append(uri)
                plan = focus_plan(local, date_format)
                if plan.format_name != delivery.kind and not (
                        delivery.kind == LEGACY_CUR and plan.format_name == CUR_2):
                    raise IngestError(f"{uri}: listed in the {delivery.kind} manifest {delivery.uri} "
                                      f"but read as {plan.format_name}")
                plan.source_name = uri
                plans.append(plan)
            reports = run_plans(plans, Path(lake_dir), area=FOCUS_AREA, restatement_key=RESTATEMENT_KEY)
        except IngestError as exc:  # name the object in S3, not the scratch copy about to be deleted
            message = str(exc)
            for local_name, uri in local_names.items():
                message = message.replace(local_name, uri)
            raise type(exc)(message) from exc
    result.reports += reports
    result.sources += [p.origin for p in plans]


def summary_lines(result: S3IngestResult) -> Sequence[str]:
    """What the CLI prints about the S3 side of an ingest (the per-file lines come after)."""
    return [
        f"{result.url}: {result.manifests_found} manifest(s); {len(result.read)} delivery(ies) read, "
        f"{len(result.unchanged)} unchanged since last read; {len(result.files_fetched)} file(s) fetched",
    ]


class S3IngestOutput(BaseModel):
    """``ingest_s3``'s result with the lines the CLI prints first."""

    summary: list[str]
    sources: list[str]
    reports: list[IngestReport]


def ingest_s3_from_settings(url: str, settings: Any, *, date_format: str | None = None) -> S3IngestOutput:
    """``ingest_s3`` with an S3 client built from ``[aws]`` (region, endpoint; boto3's credentials)."""
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", region_name=settings.aws.region, endpoint_url=settings.aws.endpoint_url,
                          config=Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=60))
    result = ingest_s3(normalise_s3_url(url), settings.lake_dir, client, date_format=date_format)
    return S3IngestOutput(summary=list(summary_lines(result)), sources=result.sources,
                          reports=result.reports)

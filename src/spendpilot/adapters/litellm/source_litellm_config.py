"""A LiteLLM proxy ``config.yaml``: read as a source, changed as a target, comments kept.

LiteLLM's documented config shape (docs.litellm.ai/docs/proxy/configs, config_settings):
``model_list`` (each ``model_name`` with ``litellm_params``: ``model``, ``rpm``, ``tpm``, any
completion parameter such as ``max_tokens``), ``litellm_settings`` (``cache``, ``cache_params``,
``max_budget``, ``budget_duration``, ``default_team_settings``), ``router_settings`` and
``general_settings``.

**Edits** are paths into the YAML (``ConfigEdit``); a path segment ``{"team_id": "search"}``
selects (or appends) the list item with that key. They are applied with ruamel.yaml's round-trip
mode, so comments, key order and quoting survive. Not preserved: the indentation of the whole file
is normalised to ruamel's detected mapping/sequence indent, and a comment on a value that is
replaced moves with the old value's line end only when the value is a scalar.

**Writing** is atomic (a temporary file in the same folder, fsync, ``os.replace``) and the
previous text is kept beside the file as ``config.yaml.spendpilot-<sha8>.bak`` for rollback.
The file's SHA-256 is the drift check: an approval applies only to the bytes the sweep read.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from spendpilot.adapters.base import Source, SourceContext, SourceSettings, register_source
from spendpilot.domain import Resource, ResourceRef, SourceResult
from spendpilot.errors import AdapterError

KIND = "litellm_config"


class ConfigEdit(BaseModel):
    """Set ``value`` at ``path`` (keys, or ``{key: value}`` selecting a list item by that key)."""

    path: list[str | dict[str, str]] = Field(min_length=1)
    value: Any


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_SEQ_ITEM = re.compile(r"^( *)- ", re.MULTILINE)
_KEY_LINE = re.compile(r"^( *)[^\s#-][^:]*:\s*(#.*)?$")


def _yaml(text: str = "") -> Any:
    """A round-trip YAML whose list indentation follows ``text``'s first list ("  - " or "- ")."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    offset = 0
    lines = text.splitlines()
    for n, line in enumerate(lines):
        m = _SEQ_ITEM.match(line)
        if not m:
            continue
        parent = next((k for k in reversed(lines[:n]) if _KEY_LINE.match(k)), None)
        parent_indent = len(_KEY_LINE.match(parent).group(1)) if parent else 0  # type: ignore[union-attr]
        offset = max(0, len(m.group(1)) - parent_indent)
        break
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    return yaml


def edited_text(text: str, edits: Sequence[ConfigEdit], *, where: str = "config.yaml") -> str:
    """``text`` with ``edits`` applied, comments and order kept (module docstring)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import YAMLError

    yaml = _yaml(text)
    try:
        doc = yaml.load(text) if text.strip() else CommentedMap()
    except YAMLError as exc:
        raise AdapterError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise AdapterError(f"{where}: the top level must be a mapping (model_list, litellm_settings, ...)")
    for edit in edits:
        node: Any = doc
        trail: list[str] = []
        for step, nxt in zip(edit.path, [*edit.path[1:], None], strict=True):
            last = nxt is None
            if isinstance(step, dict):
                (key, want), = step.items()
                trail.append(f"[{key}={want}]")
                if not isinstance(node, list):
                    raise AdapterError(f"{where}: {'.'.join(trail)} is not a list")
                match = next((item for item in node if isinstance(item, dict) and str(item.get(key)) == want), None)
                if match is None:
                    match = CommentedMap([(key, want)])
                    node.append(match)
                node = match
                if last:
                    raise AdapterError(f"{where}: a path cannot end in a list selector")
                continue
            trail.append(step)
            if not isinstance(node, dict):
                raise AdapterError(f"{where}: {'.'.join(trail[:-1])} is not a mapping")
            if last:
                node[step] = edit.value
            else:
                if node.get(step) is None:
                    node[step] = CommentedSeq() if isinstance(nxt, dict) else CommentedMap()
                node = node[step]
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def unified_diff(before: str, after: str, name: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{name}", tofile=f"b/{name}"))


class LiteLLMConfigFile:
    """The write side: read, hash, replace atomically, keep the previous version."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read_text(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AdapterError(f"cannot read LiteLLM config {self.path}: {exc.strerror or exc}") from exc

    def backup_path(self, sha256: str) -> Path:
        return self.path.with_name(f"{self.path.name}.spendpilot-{sha256[:8]}.bak")

    def replace(self, new_text: str, *, expected_sha256: str) -> str:
        """Write ``new_text`` if the file still hashes to ``expected_sha256``; returns the new hash."""
        current = self.read_text()
        if current is None or sha256_text(current) != expected_sha256:
            raise AdapterError(f"{self.path} changed since it was read; nothing written")
        backup = self.backup_path(expected_sha256)
        if not backup.exists():
            backup.write_text(current, encoding="utf-8")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(new_text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, self.path.stat().st_mode & 0o777)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256_text(new_text)


class LiteLLMConfigSettings(SourceSettings):
    kind: str = KIND
    path: Path = Field(description="The LiteLLM proxy's config.yaml that spendpilot may propose changes to.")


class LiteLLMConfigSource:
    def __init__(self, settings: LiteLLMConfigSettings) -> None:
        self.name = settings.name or f"litellm {settings.path.name}"
        self.file = LiteLLMConfigFile(settings.path.expanduser())

    def ref(self) -> ResourceRef:
        return ResourceRef(provider="litellm", kind=KIND, id=str(self.file.path), name=self.file.path.name)

    def read(self, ctx: SourceContext) -> SourceResult:
        text = self.file.read_text()
        if text is None:
            raise AdapterError(f"LiteLLM config {self.file.path} does not exist")
        edited_text(text, [], where=str(self.file.path))  # refuse a file we could not edit later
        doc = _yaml().load(text) or {}
        models = [str(m.get("model_name")) for m in doc.get("model_list") or [] if isinstance(m, dict)]
        resource = Resource(ref=self.ref(), attributes={
            "path": str(self.file.path), "sha256": sha256_text(text), "text": text, "model_names": models,
        })
        return SourceResult(resources=[resource], summary=f"LiteLLM config, {len(models)} model entries")

    def target_for(self, ref: ResourceRef) -> object | None:
        """This file, for the config itself or for a feature whose proposal changes it
        (provider ``litellm``, the file's path in ``account``)."""
        mine = str(self.file.path)
        if (ref.kind == KIND and ref.id == mine) or (ref.provider == "litellm" and ref.account == mine):
            return self.file
        return None


@register_source(KIND, settings=LiteLLMConfigSettings,
                 description="A LiteLLM proxy config.yaml: proposals change it (routing, max_tokens, cache, limits).")
def litellm_config_sources(settings: LiteLLMConfigSettings, home: Path) -> Sequence[Source]:
    return [LiteLLMConfigSource(settings)]

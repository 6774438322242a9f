"""Agent definitions are data: ``agents/*.md`` with YAML front-matter and a system prompt body.

A FinOps team edits the prompt, the tools an agent may call, or its schedule without code.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from spendpilot.errors import ConfigError


class AgentDefinition(BaseModel):
    name: str
    description: str
    tools: list[str] = Field(default_factory=list)
    model_tier: str = "mid"
    schedule: str | None = None
    system_prompt: str
    path: Path


def agents_dir() -> Path:
    repo = Path(__file__).resolve().parents[3] / "agents"
    if repo.is_dir():
        return repo
    return Path(str(resources.files("spendpilot") / "_bundled" / "agents"))


def load_agent(name: str, folder: Path | None = None) -> AgentDefinition:
    path = (folder or agents_dir()) / f"{name}.md"
    if not path.is_file():
        raise ConfigError(f"no agent definition {path}")
    text = path.read_text()
    if not text.startswith("---"):
        raise ConfigError(f"{path}: missing YAML front-matter (a block between '---' lines)")
    _, front, body = text.split("---", 2)
    try:
        meta = yaml.safe_load(front) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: front-matter is not valid YAML: {exc}") from exc
    return AgentDefinition(**meta, system_prompt=body.strip(), path=path)

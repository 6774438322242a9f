"""Select any LangChain chat model from ``[llm] model = "provider:model"``; None means offline.

Provider packages are optional extras (``pip install 'spendpilot[openai]'``). The form
``python:package.module:factory`` calls a factory returning a chat model, for custom gateways
and for scripted models in tests.
"""

from __future__ import annotations

import importlib

from langchain_core.language_models import BaseChatModel

from spendpilot.config import LlmSettings
from spendpilot.errors import ConfigError

_PROVIDERS: dict[str, tuple[str, str, str]] = {
    # provider: (module, class, extra)
    "openai": ("langchain_openai", "ChatOpenAI", "openai"),
    "anthropic": ("langchain_anthropic", "ChatAnthropic", "anthropic"),
    "bedrock": ("langchain_aws", "ChatBedrockConverse", "bedrock"),
    "ollama": ("langchain_ollama", "ChatOllama", "ollama"),
}


def load_chat_model(settings: LlmSettings) -> BaseChatModel | None:
    spec = (settings.model or "").strip()
    if not spec or spec.lower() in ("none", "off"):
        return None
    provider, _, name = spec.partition(":")
    if provider == "python":
        return _from_factory(spec, name)
    if provider not in _PROVIDERS or not name:
        raise ConfigError(
            f'[llm] model = "{spec}": expected "provider:model" with provider one of '
            f"{', '.join(_PROVIDERS)} (or python:module:factory)"
        )
    module_name, cls_name, extra = _PROVIDERS[provider]
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except ImportError as exc:
        raise ConfigError(
            f"[llm] provider {provider!r} needs its package: pip install 'spendpilot[{extra}]'"
        ) from exc
    return cls(model=name, temperature=settings.temperature)


def _from_factory(spec: str, name: str) -> BaseChatModel:
    """``python:module:factory``: trusted code only (the config loader refuses it from a file the
    user did not name), so failures here are the factory author's, reported in one line."""
    module_name, _, attr = name.partition(":")
    if not module_name or not attr:
        raise ConfigError(f'[llm] model = "{spec}": expected python:package.module:factory')
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f'[llm] model = "{spec}": cannot import {name}: {exc}') from exc
    try:
        model = factory()
    except Exception as exc:  # someone else's code: one line, not their traceback
        raise ConfigError(f'[llm] model = "{spec}": the factory failed: {type(exc).__name__}: {exc}') from exc
    if not isinstance(model, BaseChatModel):
        raise ConfigError(
            f'[llm] model = "{spec}": the factory returned {type(model).__name__}, not a LangChain chat model'
        )
    return model


def describe_model(model: BaseChatModel) -> str:
    """A short, printable name for a chat model ("gpt-4.1-mini", "scripted"), for "written by"."""
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value.strip():
            name = value
            break
    else:
        name = model._llm_type
    return " ".join(name.split())[:80]

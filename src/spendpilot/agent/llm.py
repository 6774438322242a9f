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
        module_name, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f'[llm] model = "{spec}": cannot import {name}: {exc}') from exc
        return factory()
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

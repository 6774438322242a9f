"""[llm] model selects any LangChain chat model; None is the default and fully works."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from tests.agent.scripted import ScriptedChatModel

from spendpilot.agent.llm import load_chat_model
from spendpilot.config import LlmSettings, Settings
from spendpilot.errors import ConfigError


def scripted_factory() -> ScriptedChatModel:
    return ScriptedChatModel(replies=[AIMessage(content="hi")])


def test_default_is_offline() -> None:
    assert Settings().llm.model is None
    assert load_chat_model(LlmSettings()) is None


def test_python_factory_form_loads_a_model() -> None:
    model = load_chat_model(LlmSettings(model="python:tests.agent.test_llm_config:scripted_factory"))
    assert isinstance(model, ScriptedChatModel)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("gpt-4o", "provider:model"), ("nosuch:model", "provider one of"), ("openai:gpt-4.1-mini", "spendpilot\\[openai\\]")],
)
def test_bad_or_missing_provider_is_a_clear_config_error(spec: str, message: str) -> None:
    try:
        import langchain_openai  # noqa: F401

        if spec.startswith("openai:"):
            pytest.skip("langchain-openai is installed here")
    except ImportError:
        pass
    with pytest.raises(ConfigError, match=message):
        load_chat_model(LlmSettings(model=spec))


def test_toml_selects_the_model(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "spendpilot.toml"
    cfg.write_text('[llm]\nmodel = "python:tests.agent.test_llm_config:scripted_factory"\n')
    monkeypatch.setenv("SPENDPILOT_CONFIG", str(cfg))
    assert Settings().llm.model == "python:tests.agent.test_llm_config:scripted_factory"

"""The offline embedding: deterministic, normalised, and a good-enough notion of "alike"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from chromadb.utils.embedding_functions import known_embedding_functions

from spendpilot.errors import ConfigError
from spendpilot.memory.embedding import (
    HashingEmbeddingFunction,
    MiniLMEmbeddingFunction,
    get_embedding_function,
)

TEXT = "Action: stop_instance on ec2_instance:ml-train-07 (aws/us-east-1)"


def test_embedding_is_unit_length_and_deterministic() -> None:
    ef = HashingEmbeddingFunction()
    first, empty = ef([TEXT, ""])
    assert first.shape == (384,)
    assert np.linalg.norm(first) == pytest.approx(1.0, abs=1e-5)
    assert np.linalg.norm(empty) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(first, HashingEmbeddingFunction()([TEXT])[0])


def test_embedding_is_identical_in_another_process_with_another_hash_seed() -> None:
    code = (
        "from spendpilot.memory.embedding import HashingEmbeddingFunction as H;"
        f"print(','.join(repr(float(x)) for x in H()([{TEXT!r}])[0]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    other = np.array([float(x) for x in out.strip().split(",")], dtype=np.float32)
    assert np.array_equal(other, HashingEmbeddingFunction()([TEXT])[0])


def test_near_identical_texts_are_closer_than_unrelated_ones() -> None:
    ef = HashingEmbeddingFunction()
    base, near, far = ef(
        [
            "stop idle GPU instance ml-train-07 g5.12xlarge",
            "stop idle GPU instance ml-train-08 g5.12xlarge",
            "route chat summarisation feature to a cheaper model",
        ]
    )
    assert float(base @ near) > 0.7
    assert float(base @ near) > float(base @ far) + 0.4


def test_config_round_trip_and_registration() -> None:
    ef = HashingEmbeddingFunction(dimensions=128)
    assert not ef.is_legacy()
    assert known_embedding_functions[ef.name()] is HashingEmbeddingFunction
    rebuilt = HashingEmbeddingFunction.build_from_config(ef.get_config())
    assert np.array_equal(rebuilt([TEXT])[0], ef([TEXT])[0])
    with pytest.raises(ValueError, match="cannot change"):
        ef.validate_config_update(ef.get_config(), HashingEmbeddingFunction().get_config())


def test_factory_defaults_to_hashing_and_explains_what_minilm_needs(tmp_path: Path) -> None:
    assert isinstance(get_embedding_function(), HashingEmbeddingFunction)
    with pytest.raises(ConfigError, match="local model directory"):
        get_embedding_function("minilm")
    with pytest.raises(ConfigError, match=r"model\.onnx, tokenizer\.json"):
        MiniLMEmbeddingFunction(tmp_path)
    with pytest.raises(ConfigError, match="Unknown embedding"):
        get_embedding_function("openai")

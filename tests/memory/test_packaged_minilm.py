"""The packaged MiniLM embedding: offline, paraphrase-aware, and re-openable from a stored Chroma collection."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spendpilot.memory._store import open_collection
from spendpilot.memory.embedding import (
    HashingEmbeddingFunction,
    PackagedMiniLMEmbeddingFunction,
    get_embedding_function,
)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


def test_paraphrases_are_closer_than_a_different_question_and_hashing_cannot_tell() -> None:
    f = get_embedding_function("minilm_packaged")
    assert isinstance(f, PackagedMiniLMEmbeddingFunction)
    cancel, stop, refund = f(["How do I cancel my subscription?", "how can I stop my plan from renewing",
                              "What is your refund policy for damaged items?"])
    assert _cos(cancel, stop) > _cos(cancel, refund) + 0.2
    h = HashingEmbeddingFunction()
    hc, hs, hr = h(["How do I cancel my subscription?", "how can I stop my plan from renewing",
                    "What is your refund policy for damaged items?"])
    assert _cos(hc, hs) < 0.5  # shared words only: the paraphrase looks unrelated


def test_batches_of_mixed_lengths_embed_each_text_as_alone() -> None:
    f = PackagedMiniLMEmbeddingFunction()
    texts = ["short", "a much longer prompt " * 20, "medium sized prompt here"]
    together = f(texts)
    for text, vector in zip(texts, together, strict=True):
        assert np.allclose(f([text])[0], vector, atol=1e-4)


def test_a_persisted_collection_reopens_with_the_packaged_embedding(tmp_path: Path) -> None:
    f = PackagedMiniLMEmbeddingFunction()
    with open_collection(tmp_path, "prompts", f) as coll:
        coll.add(ids=["a"], documents=["Where is my order 48213?"])
    with open_collection(tmp_path, "prompts", f) as coll:
        found = coll.query(query_texts=["Has order 48213 shipped yet?"], n_results=1)
    assert found["ids"] == [["a"]]
    assert PackagedMiniLMEmbeddingFunction.build_from_config(f.get_config()).model_file == f.model_file

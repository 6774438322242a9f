"""How many prompts a semantic cache would have answered: near-duplicates found through Chroma.

A semantic cache answers a prompt from a stored answer when an earlier prompt is close enough in
meaning. Its hit rate over a window is the share of prompts whose meaning was already asked:
``(prompts - distinct meanings) / prompts``. This module estimates it:

1. Prompts are normalised (Unicode NFKC, case, whitespace); identical ones are one text.
2. Each distinct text is embedded offline (``minilm_packaged`` by default: paraphrases land
   close, not only shared words) and stored in a Chroma collection on disk.
3. Each text's nearest neighbours come from Chroma's index (cosine), among the texts with the
   same literals (a metadata filter; see ``_signature``). Two texts are the same
   question when their similarity is at least ``threshold`` (``literal_threshold`` when they
   share specific literals) **and** they pass two guards against the commonest false hit of
   semantic caches, the same sentence about a different thing:
   - same literals: numbers, quoted text and capitalised names ("translate 'good morning'" vs
     "translate 'good night'" are 0.83 in MiniLM, closer than many true paraphrases);
   - not a substitution: the same words with one to three content words swapped ("a grey wool
     jacket" vs "a grey wool scarf", 0.88).
4. Same-question pairs are joined into groups (union-find); duplicates = prompts - groups.

The threshold is stated with every estimate, because the hit rate depends on it. Grouping is
over the whole window, so this is the hit rate of a cache whose entries live as long as the
window; a shorter time-to-live serves fewer.
"""

from __future__ import annotations

import difflib
import re
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Chroma is imported when an estimate runs, not when checks are registered
    from chromadb.api.types import Documents, EmbeddingFunction

DEFAULT_THRESHOLD = 0.74
"""Cosine similarity (minilm_packaged) from which two prompts count as the same question.
Chosen on generated paraphrases (``benchmarks/semantic_duplicates.py`` prints the error)."""
DEFAULT_LITERAL_THRESHOLD = 0.70
"""The same, for two prompts that carry the same specific literals (an order number, a quoted
phrase, a name): sharing one is evidence of its own, so a little less similarity is asked."""

DEFAULT_NEIGHBOURS = 40
"""Nearest neighbours read per prompt. Many prompts share a template (hundreds of "where is my
order N?"), and they crowd a small neighbour list, hiding the paraphrase with the same N; 10
lost a third of the repeats at 5,000 prompts."""

_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"\b\d[\d,._/-]*\d\b|\b\d\b")
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?:(?<=\s)|^)'([^']+)'(?!\w)")
_NAME = re.compile(r"(?<=[a-z0-9']\s)([A-Z][\w&-]*(?:\s+[A-Z][\w&-]*)*)")
_COURTESY = re.compile(
    r"^(?:(?:hi there|hello|hey|hi|good (?:morning|afternoon|evening))\b[\s,.!]*)?"
    r"(?:(?:quick question|please help|question)\s*:\s*)?"
    r"|[\s,.!]*(?:thanks(?: in advance)?|thank you(?: so much)?|cheers|ty)[\s.!]*$",
    re.IGNORECASE,
)
_NOT_NAMES = {"i", "i'm", "i've", "i'd", "i'll", "tl", "dr", "tl;dr"}
_ADD_BATCH = 2000
_TOKEN = re.compile(r"[\w']+")
_FUNCTION_WORDS = frozenset(["a", "an", "the", "i", "me", "my", "we", "our", "you", "your", "it", "its", "this", "that", "these", "those", "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "can", "could", "would", "should", "will", "shall", "may", "might", "must", "how", "what", "what's", "whats", "where", "when", "why", "which", "who", "whom", "to", "of", "in", "on", "at", "for", "from", "by", "with", "about", "into", "and", "or", "but", "if", "so", "as", "please", "there", "here", "any", "some", "just"])
MAX_SUBSTITUTED_WORDS = 3


def strip_courtesy(text: str) -> str:
    """Drop a leading greeting and a trailing thanks: they change no answer, yet move the vector."""
    return _COURTESY.sub("", text.strip()).strip() or text.strip()


def normalise_prompt(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", strip_courtesy(text))).strip().casefold()


def literals(text: str) -> set[str]:
    """Numbers, quoted passages and capitalised names (not at a sentence start), case-folded."""
    text = unicodedata.normalize("NFKC", text).strip()
    found = {m.group(0).replace(",", "") for m in _NUMBER.finditer(text)}
    found |= {next(g for g in m.groups() if g).casefold() for m in _QUOTED.finditer(text)}
    for m in _NAME.finditer(text):
        name = m.group(1).casefold()
        if name not in _NOT_NAMES and not name.isdigit():
            found.add(name)
    return found


def same_literals(a: str, b: str) -> bool:
    """Every literal of each text appears in the other (case-insensitively, as written)."""
    la, lb = literals(a), literals(b)
    fa, fb = normalise_prompt(a), normalise_prompt(b)
    return all(x in fb for x in la) and all(x in fa for x in lb)


def substitution(a: str, b: str) -> bool:
    """The same sentence with a few content words swapped ("a grey wool jacket" / "a grey wool
    scarf"): a different question about a different thing, however close the vectors are.

    True when the word sequences are equal except for replaced runs of at most
    ``MAX_SUBSTITUTED_WORDS`` words each, with a content (not function) word among them.
    Paraphrases change the frame, not one noun, so they are not caught; a paraphrase that swaps a
    single word for its synonym ("make" / "cook") is, and is then counted as a different question.
    """
    ta, tb = _TOKEN.findall(normalise_prompt(a)), _TOKEN.findall(normalise_prompt(b))
    if ta == tb:
        return False
    matcher = difflib.SequenceMatcher(a=ta, b=tb, autojunk=False)
    content_swap = False
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if i2 - i1 > MAX_SUBSTITUTED_WORDS or j2 - j1 > MAX_SUBSTITUTED_WORDS:
            return False
        if op == "replace" and any(w not in _FUNCTION_WORDS for w in ta[i1:i2] + tb[j1:j2]):
            content_swap = True
    same = sum(size for _, _, size in matcher.get_matching_blocks())
    return content_swap and same >= 0.5 * max(len(ta), len(tb))


_NO_LITERALS = "-"


def _signature(text: str) -> str:
    """Prompts can only be the same question when their literals agree, so neighbours are
    searched among prompts with the same literals (a Chroma ``where`` on this signature). Without
    it, hundreds of "where is my order N?" crowd the neighbour list of each and hide the
    paraphrase that has the same N."""
    found = literals(text)
    return "\x1f".join(sorted(found)) if found else _NO_LITERALS


def same_question(a: str, b: str) -> bool:
    """The guards on top of similarity: same literals, and not a swapped-word look-alike."""
    return same_literals(a, b) and not substitution(a, b)


@dataclass(frozen=True)
class DuplicateEstimate:
    prompts: int
    distinct_texts: int
    groups: int
    threshold: float
    literal_threshold: float
    embedding: str
    seconds: float
    group_of: tuple[int, ...]
    """Group id of each prompt, in input order."""

    @property
    def duplicates(self) -> int:
        return self.prompts - self.groups

    @property
    def share(self) -> float:
        return self.duplicates / self.prompts if self.prompts else 0.0


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def estimate_duplicates(
    prompts: Sequence[str],
    *,
    embedding: EmbeddingFunction[Documents] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    literal_threshold: float = DEFAULT_LITERAL_THRESHOLD,
    store_dir: Path | None = None,
    neighbours: int = DEFAULT_NEIGHBOURS,
) -> DuplicateEstimate:
    """Group ``prompts`` into questions (module docstring); Chroma lives in ``store_dir``
    (a temporary folder when None) and the collection is dropped afterwards."""
    from spendpilot.memory._store import open_collection

    started = time.perf_counter()
    if embedding is None:
        from spendpilot.memory.embedding import PackagedMiniLMEmbeddingFunction

        embedding = PackagedMiniLMEmbeddingFunction()
    index: dict[str, int] = {}
    texts: list[str] = []
    originals: list[str] = []
    text_of: list[int] = []
    for p in prompts:
        key = normalise_prompt(p)
        if key not in index:
            index[key] = len(texts)
            texts.append(key)
            originals.append(strip_courtesy(p))
        text_of.append(index[key])
    uf = _UnionFind(len(texts))
    if len(texts) > 1:
        vectors = embedding(originals)
        signature = [_signature(t) for t in originals]
        buckets: dict[str, list[int]] = {}
        for i, sig in enumerate(signature):
            buckets.setdefault(sig, []).append(i)
        with tempfile.TemporaryDirectory(prefix="spendpilot-semcache-") as tmp:
            where = store_dir or Path(tmp)
            name = f"prompts-{uuid.uuid4().hex[:12]}"
            with open_collection(where, name, embedding) as coll:
                try:
                    for start in range(0, len(texts), _ADD_BATCH):
                        stop = min(start + _ADD_BATCH, len(texts))
                        coll.add(ids=[str(i) for i in range(start, stop)], embeddings=list(vectors[start:stop]),
                                 metadatas=[{"sig": signature[i]} for i in range(start, stop)])
                    for sig, members in buckets.items():
                        if len(members) < 2:
                            continue
                        k = min(neighbours + 1, len(members))
                        bar = threshold if sig == _NO_LITERALS else literal_threshold
                        for start in range(0, len(members), _ADD_BATCH):
                            chunk = members[start : start + _ADD_BATCH]
                            found = coll.query(query_embeddings=[vectors[i] for i in chunk], n_results=k,
                                               where={"sig": sig}, include=["distances"])
                            for i, ids, dists in zip(chunk, found["ids"], found["distances"] or [], strict=True):
                                for j_str, dist in zip(ids, dists, strict=True):
                                    j = int(j_str)
                                    if j != i and 1.0 - dist >= bar and same_question(originals[i], originals[j]):
                                        uf.join(i, j)
                finally:
                    coll._client.delete_collection(name)
    roots = [uf.find(t) for t in text_of]
    relabel: dict[int, int] = {}
    group_of = tuple(relabel.setdefault(r, len(relabel)) for r in roots)
    return DuplicateEstimate(
        prompts=len(prompts), distinct_texts=len(texts), groups=len(relabel), threshold=threshold,
        literal_threshold=literal_threshold,
        embedding=type(embedding).name(), seconds=time.perf_counter() - started, group_of=group_of,
    )

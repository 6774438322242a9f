"""Semantic-duplicate estimate on generated prompts: planted share vs estimated share, error and time.

Usage: ``python benchmarks/semantic_duplicates.py [N] [--share S] [--seed K] [--threshold T]``
(N defaults to 5,000, S to 0.3). Generates N prompts with ``prompt_corpus`` (a share S of them
paraphrase an earlier question: synonyms, reordering, other wording; every intent is also a
template that different questions share, the trap), runs ``estimate_duplicates`` with the
packaged all-MiniLM-L6-v2 (int8 ONNX) into Chroma on disk, and prints the planted share, the
estimate, the relative error, how many distinct questions were wrongly merged or split, and the
time (embedding + Chroma). Prints figures; never passes or fails on them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from spendpilot.memory.embedding import PackagedMiniLMEmbeddingFunction
from spendpilot.memory.semantic_duplicates import (
    DEFAULT_NEIGHBOURS,
    DEFAULT_THRESHOLD,
    estimate_duplicates,
)
from spendpilot.scenarios.prompt_corpus import generate_prompts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=5000)
    parser.add_argument("--share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--neighbours", type=int, default=DEFAULT_NEIGHBOURS)
    args = parser.parse_args()
    corpus = generate_prompts(args.n, args.share, seed=args.seed)
    started = time.perf_counter()
    embedding = PackagedMiniLMEmbeddingFunction()
    with tempfile.TemporaryDirectory() as tmp:
        found = estimate_duplicates(corpus.prompts, embedding=embedding, threshold=args.threshold,
                                    neighbours=args.neighbours, store_dir=Path(tmp) / "chroma")
    wall = time.perf_counter() - started
    members: dict[int, set[int]] = {}
    groups_of: dict[int, set[int]] = {}
    for g, m in zip(found.group_of, corpus.meanings, strict=True):
        members.setdefault(g, set()).add(m)
        groups_of.setdefault(m, set()).add(g)
    merged = sum(len(s) - 1 for s in members.values())
    split = sum(len(s) - 1 for s in groups_of.values())
    error = (found.share - corpus.planted_share) / corpus.planted_share if corpus.planted_share else float("nan")
    print(f"prompts              {found.prompts:,} ({found.distinct_texts:,} distinct texts, seed {args.seed})")
    print(f"planted share        {corpus.planted_share:.4f} ({corpus.planted_duplicates:,} repeats)")
    print(f"estimated share      {found.share:.4f} ({found.duplicates:,} repeats, {found.groups:,} groups)")
    print(f"relative error       {error:+.1%}  (target within ±10 %)")
    print(f"questions merged     {merged:,} (different questions grouped together)")
    print(f"questions split      {split:,} (one question left in two or more groups)")
    print(f"threshold            {found.threshold:.2f} cosine ({found.literal_threshold:.2f} with shared literals), {found.embedding}")
    print(f"neighbours           {args.neighbours} nearest per prompt from Chroma")
    print(f"time                 {wall:.1f} s in all ({found.seconds:.1f} s estimate: embedding + Chroma)")


if __name__ == "__main__":
    main()

"""The agent's memory in Chroma: past human decisions, with an offline embedding."""

from spendpilot.memory.decisions import DecisionMemory, PastDecision, describe_proposal
from spendpilot.memory.embedding import (
    HashingEmbeddingFunction,
    MiniLMEmbeddingFunction,
    get_embedding_function,
)

__all__ = [
    "DecisionMemory",
    "HashingEmbeddingFunction",
    "MiniLMEmbeddingFunction",
    "PastDecision",
    "describe_proposal",
    "get_embedding_function",
]

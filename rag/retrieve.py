"""Retrieval: dense (FAISS) and lexical (BM25) over chunks, fused by reciprocal rank."""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np

from .lexical import terms
from .store import Index
from .types import Hit

log = logging.getLogger(__name__)


def dense_ranking(index: Index, query_vector: np.ndarray, n: int) -> list[int]:
    """Chunk rows, best first, by cosine similarity to the query."""
    n = min(n, index.faiss_index.ntotal)
    if n <= 0:
        return []
    _, ids = index.faiss_index.search(query_vector.reshape(1, -1).astype(np.float32), n)
    return [int(i) for i in ids[0] if i >= 0]


def bm25_ranking(index: Index, question: str, n: int) -> list[int]:
    """Chunk rows, best first, by BM25; chunks sharing no term with the question are left out."""
    query = terms(question)
    if not query:
        return []
    scores = index.bm25.get_scores(query)
    n = min(n, len(scores))
    top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    return [int(i) for i in sorted(top, key=lambda i: -scores[i]) if scores[i] > 0]


def fuse(rankings: dict[str, list[int]], rrf_k: int) -> list[tuple[int, float, tuple[str, ...]]]:
    """Reciprocal-rank fusion: dense and BM25 scores live on different scales, their ranks do not."""
    score: dict[int, float] = defaultdict(float)
    via: dict[int, list[str]] = defaultdict(list)
    for name, ranking in rankings.items():
        for rank, row in enumerate(ranking):
            score[row] += 1.0 / (rrf_k + rank + 1)
            via[row].append(name)
    return sorted(((row, s, tuple(via[row])) for row, s in score.items()), key=lambda t: -t[1])


def retrieve(index: Index, question: str, query_vector: np.ndarray, k: int, fetch_factor: int = 4, rrf_k: int = 60) -> list[Hit]:
    """The ``k`` best chunks for ``question``, each retriever over-fetching ``k * fetch_factor``."""
    n = k * fetch_factor
    fused = fuse({"dense": dense_ranking(index, query_vector, n), "bm25": bm25_ranking(index, question, n)}, rrf_k)
    return [Hit(index.chunks[row], score, via) for row, score, via in fused[:k]]

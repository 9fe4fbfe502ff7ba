"""Retrieval: dense (FAISS over sentence vectors, a chunk ranked by its best sentence) and lexical (BM25
over chunks), fused by reciprocal rank."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from .lexical import terms
from .store import Index
from .types import Hit

log = logging.getLogger(__name__)


def dense_rankings(index: Index, query_vectors: np.ndarray, n: int) -> list[list[int]]:
    """For each query row, up to ``n`` chunk rows best first; one FAISS call for all queries.

    FAISS finds the closest sentences; each chunk holding one is then scored by the mean of its two best
    sentences. The best sentence alone over-rewards one lucky sentence, the mean of all drowns a precise
    one (dev MRR fused with BM25: best 0.76, all 0.62, best two 0.78; embedding whole chunks 0.77)."""
    queries = np.ascontiguousarray(query_vectors, dtype=np.float32).reshape(-1, index.sentence_vectors.shape[1])
    if index.faiss_index.ntotal == 0 or n <= 0:
        return [[] for _ in range(len(queries))]
    # A chunk holds several sentences, so over-fetch sentences to come back with n distinct chunks.
    _, ids = index.faiss_index.search(queries, min(n * 3, index.faiss_index.ntotal))
    out = []
    for query, row_ids in zip(queries, ids, strict=True):
        candidates = list(dict.fromkeys(c for r in row_ids if r >= 0 for c in index.chunks_of(int(r))))
        scores = []
        for c in candidates:
            sims = index.sentence_vectors[index.chunk_rows(index.chunks[c])] @ query
            scores.append(float(np.sort(sims)[-2:].mean()))
        order = sorted(range(len(candidates)), key=lambda i: (-scores[i], candidates[i]))
        out.append([candidates[i] for i in order[:n]])
    return out


def bm25_ranking(index: Index, question: str, n: int) -> list[int]:
    """Chunk rows, best first, by BM25; chunks sharing no term with the question are left out."""
    query = terms(question)
    if not query or not index.chunks:
        return []
    scores = index.bm25.get_scores(query)
    n = min(n, len(scores))
    top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    return [int(i) for i in sorted(top, key=lambda i: (-scores[i], i)) if scores[i] > 0]


def fuse(rankings: dict[str, list[int]], rrf_k: int) -> list[tuple[int, float, tuple[str, ...]]]:
    """Reciprocal-rank fusion: dense and BM25 scores live on different scales, their ranks do not.
    Ties go to the lower row, so the result does not depend on the order the rankings come in."""
    score: dict[int, float] = defaultdict(float)
    via: dict[int, set[str]] = defaultdict(set)
    for name, ranking in rankings.items():
        for rank, row in enumerate(ranking):
            score[row] += 1.0 / (rrf_k + rank + 1)
            via[row].add(name)
    return sorted(((row, s, tuple(sorted(via[row]))) for row, s in score.items()), key=lambda t: (-t[1], t[0]))


def retrieve_many(
    index: Index, questions: Sequence[str], query_vectors: np.ndarray, k: int, fetch_factor: int = 4, rrf_k: int = 60
) -> list[list[Hit]]:
    """The ``k`` best chunks for each question, each retriever over-fetching ``k * fetch_factor``."""
    n = k * fetch_factor
    dense = dense_rankings(index, query_vectors, n)
    out = []
    for question, ranking in zip(questions, dense, strict=True):
        fused = fuse({"dense": ranking, "bm25": bm25_ranking(index, question, n)}, rrf_k)
        out.append([Hit(index.chunks[row], score, via) for row, score, via in fused[:k]])
    return out


def retrieve(index: Index, question: str, query_vector: np.ndarray, k: int, fetch_factor: int = 4, rrf_k: int = 60) -> list[Hit]:
    """The ``k`` best chunks for one question."""
    return retrieve_many(index, [question], query_vector.reshape(1, -1), k, fetch_factor, rrf_k)[0]

"""BM25 over chunks: ``Postings`` per segment, ``Bm25Store`` across the live chunks of them all."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.text.words import terms


class LexicalStore(Protocol):
    """BM25 over chunk texts, the lexical counterpart of ``rag.index.vectors.VectorStore``."""

    def ranked(self, question: str, n: int) -> list[int]:
        """Up to ``n`` chunk rows sharing a term with the question, best first."""
        ...


# bm25s's defaults (its "lucene" variant), so scores and rankings match what bm25s gave before the
# index was split into segments, and Milvus's BM25 function is set to the same.
K1, B = 1.5, 0.75
POSTINGS_FILE = "bm25.npz"
EMPTY_TERM = "∅"  # a chunk with no content word still counts one term, as bm25s counted it


@dataclass
class Postings:
    """One segment's BM25 data: for each term, the chunks holding it and how often, and each chunk's
    length in terms. Corpus-wide statistics (chunk count, mean length, document frequency) are summed
    over the live chunks of all segments at question time, so an update writes only its own segment."""

    terms: dict[str, int]
    indptr: np.ndarray  # term id -> start of its postings
    chunk: np.ndarray  # posting -> chunk row within the segment
    tf: np.ndarray  # posting -> occurrences of the term in that chunk
    length: np.ndarray  # chunk row -> terms in it

    @classmethod
    def build(cls, chunk_terms: list[list[str]]) -> Postings:
        vocab: dict[str, int] = {}
        rows, ids, counts = [], [], []
        for row, ts in enumerate(chunk_terms):
            for t, c in Counter(ts or [EMPTY_TERM]).items():
                rows.append(row)
                ids.append(vocab.setdefault(t, len(vocab)))
                counts.append(c)
        term_ids = np.array(ids, dtype=np.int64)
        order = np.argsort(term_ids, kind="stable")  # by term, then chunk row
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_ids, minlength=len(vocab)), out=indptr[1:])
        length = np.array([len(ts) or 1 for ts in chunk_terms], dtype=np.float32)
        return cls(
            vocab, indptr, np.array(rows, dtype=np.int32)[order], np.array(counts, dtype=np.float32)[order], length
        )

    def save(self, folder: Path) -> None:
        with (folder / POSTINGS_FILE).open("wb") as f:
            np.savez(
                f,
                indptr=self.indptr,
                chunk=self.chunk,
                tf=self.tf,
                length=self.length,
                terms=np.array(list(self.terms), dtype=str),
            )

    @classmethod
    def load(cls, folder: Path) -> Postings:
        with np.load(folder / POSTINGS_FILE) as d:
            return cls({t: i for i, t in enumerate(d["terms"].tolist())}, d["indptr"], d["chunk"], d["tf"], d["length"])

    def of(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(chunk rows, term counts) of one term in this segment."""
        i = self.terms.get(term)
        if i is None:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        return self.chunk[self.indptr[i] : self.indptr[i + 1]], self.tf[self.indptr[i] : self.indptr[i + 1]]


class Bm25Store:
    """BM25 (Lucene's variant, as bm25s scores it) over the live chunks of one or more segments.
    ``rows[s]`` maps segment ``s``'s chunk rows to the index's chunk rows, -1 for a chunk whose file
    has changed or gone since the segment was written."""

    def __init__(self, postings: list[Postings], rows: list[np.ndarray]):
        self.postings, self.rows = postings, rows
        self.count = int(sum((r >= 0).sum() for r in rows))
        live = sum(float(p.length[r >= 0].sum()) for p, r in zip(postings, rows))
        self.mean_length = live / self.count if self.count else 1.0

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """One score per chunk row; a term counts once per time it is in the query, as in bm25s."""
        out = np.zeros(self.count, dtype=np.float32)
        for term, times in Counter(query_terms).items():
            hits = []
            for p, rows in zip(self.postings, self.rows):
                local, tf = p.of(term)
                at = rows[local]
                live = at >= 0
                hits.append((at[live], tf[live], p.length[local[live]]))
            df = sum(len(h[0]) for h in hits)
            if not df:
                continue
            idf = np.float32(np.log(1 + (self.count - df + 0.5) / (df + 0.5)))
            for at, tf, length in hits:
                norm = np.float32(K1) * (np.float32(1 - B) + np.float32(B) * length / np.float32(self.mean_length))
                out[at] += times * (idf * (tf / (norm + tf)))
        return out

    def ranked(self, question: str, n: int) -> list[int]:
        query = terms(question)
        if not query or n <= 0 or not self.count:
            return []
        scores = self.scores(query)
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        return [int(i) for i in sorted(top, key=lambda i: (-scores[i], i)) if scores[i] > 0]

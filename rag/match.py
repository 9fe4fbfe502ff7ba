"""Word-level matching of a text (a question, an answer sentence) against source sentences: which of
its words a sentence states outright (same stem) or paraphrases (close word embeddings), IDF-weighted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .embed import Embedder
from .lexical import content_words, stem
from .store import Index

# A word-embedding cosine under this is no evidence of a paraphrase (MiniLM puts unrelated words ~0.3-0.45).
SOFT_FLOOR = 0.5


@dataclass(frozen=True)
class Terms:
    """The content words of one text, with what matching them needs: stems, IDF weights, vectors."""

    words: list[str]
    stems: list[str]
    idf: np.ndarray
    vectors: np.ndarray  # one row per word

    @classmethod
    def of(cls, text: str, index: Index, embedder: Embedder, exclude: Iterable[str] = ()) -> Terms:
        skip = set(exclude)
        words = [w for w in dict.fromkeys(content_words(text)) if w not in skip]
        # Most words already have a vector in the index's lexicon; only the others cost a model call.
        known = {w: v for w in words if (v := index.lexicon.vector(w)) is not None}
        unknown = [w for w in words if w not in known]
        known.update(zip(unknown, embedder.embed(unknown, "document")) if unknown else ())
        vectors = np.array([known[w] for w in words], dtype=np.float32).reshape(len(words), embedder.dim)
        stems = [stem(w) for w in words]
        return cls(words, stems, np.array([index.lexicon.idf(s) for s in stems], dtype=np.float32), vectors)

    def match(self, text: str, index: Index) -> np.ndarray:
        """Per word: 1 if ``text`` has its stem, else its best paraphrase similarity if over SOFT_FLOOR, else 0."""
        if not self.words:
            return np.zeros(0, dtype=np.float32)
        words = content_words(text)
        stems = {stem(w) for w in words}
        rows = index.lexicon.rows(words)
        soft = (self.vectors @ index.lexicon.word_vectors[rows].T).max(axis=1) if rows else np.zeros(len(self.words))
        exact = np.array([s in stems for s in self.stems])
        return np.where(exact, 1.0, np.where(soft >= SOFT_FLOOR, soft, 0.0)).astype(np.float32)

    def coverage(self, text: str, index: Index) -> float:
        """IDF-weighted share of these words that ``text`` states or paraphrases."""
        if not self.words:
            return 0.0
        return float((self.idf * self.match(text, index)).sum() / self.idf.sum())

    def absent_from_corpus(self, index: Index, below: float) -> list[str]:
        """Words whose stem is nowhere in the corpus and whose closest corpus word is under ``below``."""
        lex = index.lexicon
        if not self.words or not len(lex.words):
            return []
        best = (self.vectors @ lex.word_vectors.T).max(axis=1)
        return [w for w, s, b in zip(self.words, self.stems, best) if b < below and s not in lex.df]

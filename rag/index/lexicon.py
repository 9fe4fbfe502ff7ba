"""The corpus's word statistics: stem document frequencies over sentences and one vector per content word."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from rag.text.words import content_words, terms

if TYPE_CHECKING:
    from rag.embed.embedder import Embedder
    from rag.types import Sentence


@dataclass
class Lexicon:
    """Corpus statistics for word-level matching: stem document frequencies over sentences, and one
    embedding per distinct content word so a question word can be matched to a paraphrase
    (supplier ~ provider) without running the model over every candidate sentence at query time.
    (One vector per stem, of its commonest spelling, saves a quarter of the words but matched
    "supplier" to "provide" instead of "provider" and lost the first quick-start answer.)"""

    n_sentences: int
    df: dict[str, int]
    words: list[str]
    word_vectors: np.ndarray
    _row: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._row = {w: i for i, w in enumerate(self.words)}

    def idf(self, stem: str) -> float:
        # Smoothed so that a term absent from the corpus weighs most, never infinitely.
        return float(np.log((self.n_sentences + 1) / (self.df.get(stem, 0) + 0.5)))

    def rows(self, words: list[str]) -> list[int]:
        return [self._row[w] for w in words if w in self._row]

    def vector(self, word: str) -> np.ndarray | None:
        row = self._row.get(word)
        return None if row is None else self.word_vectors[row]

    @staticmethod
    def document_frequencies(
        sentences: Iterable[Sentence], df: dict[str, int] | None = None, sign: int = 1
    ) -> dict[str, int]:
        """Stem document frequencies over ``sentences``, added to (or, with ``sign`` -1, taken from)
        ``df``: an update counts only the sentences it adds and removes, not the whole corpus again."""
        df = dict(df or {})
        for s in sentences:
            for t in set(terms(s.text)):
                left = df.get(t, 0) + sign
                if left > 0:
                    df[t] = left
                else:
                    df.pop(t, None)
        return df

    @staticmethod
    def vocabulary(sentences: Iterable[Sentence]) -> set[str]:
        """The words a lexicon embeds. Numbers and one-letter tokens match exactly or not at all; a
        vector for them would cost model time and only invite "2019" ~ "2020"."""
        vocab: set[str] = set()
        for s in sentences:
            vocab.update(w for w in content_words(s.text) if len(w) > 1 and not any(c.isdigit() for c in w))
        return vocab


def word_vectors(words: list[str], embedder: Embedder, old: Lexicon | None) -> np.ndarray:
    """A vector per word: the old lexicon's where it has the word, the model's for the rest."""
    known = old._row if old else {}
    vectors = np.zeros((len(words), embedder.dim), dtype=np.float32)
    reused = [(i, known[w]) for i, w in enumerate(words) if w in known]
    if old is not None and reused:
        vectors[[i for i, _ in reused]] = old.word_vectors[np.array([r for _, r in reused])]
    new = [i for i, w in enumerate(words) if w not in known]
    if new:
        vectors[new] = _embed_words(embedder, [words[i] for i in new])
    return vectors


def _embed_words(embedder: Embedder, words: list[str]) -> np.ndarray:
    return embedder.embed(words, "document") if words else np.zeros((0, embedder.dim), np.float32)

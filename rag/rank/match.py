"""Word-level matching of a text (a question, an answer sentence) against source sentences: which of
its words a sentence states outright (same stem) or paraphrases (close word embeddings), IDF-weighted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.embed.embedder import Embedder
from rag.index.loaded import Index
from rag.text.words import content_words, stem

# A word-embedding cosine under this is no evidence of a paraphrase (MiniLM puts unrelated words ~0.3-0.45).
SOFT_FLOOR = 0.5


# Vectors of words the corpus lacks (question words, mostly), kept across questions: a model call costs
# milliseconds, a dictionary look-up nothing. Bounded, and keyed by embedder.
_OUTSIDE: dict[tuple[str, str], np.ndarray] = {}
_OUTSIDE_MAX = 100_000


def word_vectors(words: Iterable[str], index: Index, embedder: Embedder) -> dict[str, np.ndarray]:
    """A vector for each word: from the index's lexicon, from earlier calls, or from one model call for
    all the rest. Call it with the words of a whole block of questions to embed them together."""
    out: dict[str, np.ndarray] = {}
    unknown: list[str] = []
    for w in dict.fromkeys(words):
        v = index.lexicon.vector(w)
        if v is None:
            v = _OUTSIDE.get((embedder.id, w))
        if v is None:
            unknown.append(w)
        else:
            out[w] = v
    if unknown:
        if len(_OUTSIDE) + len(unknown) > _OUTSIDE_MAX:
            _OUTSIDE.clear()
        for w, v in zip(unknown, embedder.embed(unknown, "document"), strict=True):
            _OUTSIDE[(embedder.id, w)] = out[w] = v
    return out


def embed_unknown_words(words: Iterable[str], index: Index, embedder: Embedder) -> None:
    """Embed the words of a whole block of questions that the lexicon lacks in one model call rather
    than one per question; ``word_vectors`` then finds them as each question is ranked."""
    word_vectors(words, index, embedder)


@dataclass(frozen=True)
class ContentWords:
    """The content words of one text, with what matching them needs: stems, IDF weights, vectors."""

    words: list[str]
    stems: list[str]
    idf: np.ndarray
    vectors: np.ndarray  # one row per word

    @classmethod
    def of(cls, text: str, index: Index, embedder: Embedder, exclude: Iterable[str] = ()) -> ContentWords:
        skip = set(exclude)
        words = [w for w in dict.fromkeys(content_words(text)) if w not in skip]
        known = word_vectors(words, index, embedder)
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
        unseen = [i for i, s in enumerate(self.stems) if s not in lex.df]
        if not unseen or not len(lex.words):
            return [self.words[i] for i in unseen]
        # Only words whose stem the corpus lacks need the scan over the whole vocabulary.
        best = (self.vectors[unseen] @ lex.word_vectors.T).max(axis=1)
        return [self.words[i] for i, b in zip(unseen, best) if b < below and not misspelled(self.words[i], lex.words)]


# Question words, for misspelled ones ("wat", "hwo"): they are no content the corpus could lack.
QUESTION_WORDS = ("what", "who", "whom", "whose", "where", "when", "which", "why", "how")


def misspelled(word: str, vocabulary: Sequence[str]) -> bool:
    """A typed word one edit (a transposition counts as one) from a corpus word, or two from a long one,
    is that word misspelled, not one the corpus lacks: "microsft" is Microsoft. Words under 5 letters
    match only question words (GPU is one edit from GPT), and words with figures never match."""
    from rapidfuzz.distance import OSA
    from rapidfuzz.process import extractOne

    if any(c.isdigit() for c in word):
        return False
    if extractOne(word, QUESTION_WORDS, scorer=OSA.distance, score_cutoff=1) is not None:
        return True
    if len(word) < 5:
        return False
    return extractOne(word, vocabulary, scorer=OSA.distance, score_cutoff=1 if len(word) < 8 else 2) is not None

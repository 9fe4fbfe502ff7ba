"""Word-level text handling shared by BM25, the extractive answerer and the citation verifier; the
corpus's word statistics (``Lexicon``) and the BM25 store over chunks (``Bm25Store``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import Stemmer

if TYPE_CHECKING:
    import bm25s

    from .embed import Embedder
    from .types import Chunk, Sentence

BM25_FOLDER = "bm25"

# Function words and question words: they say nothing about which sentence holds an answer.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be been before being below between
    both but by can could did do does doing done down during each even ever few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just least less let like
    made make many may me might more most much must my myself no nor not now of off on once one only or other
    our ours ourselves out over own per said same say says she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up upon us very via was we
    were what when where whether which while who whom whose why will with within without would yet you your
    yours s t""".split()
)

_WORD = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens; numbers keep their inner separators (``1.5``, ``10,000``)."""
    return [w.replace("’", "'").removesuffix("'s") for w in _WORD.findall(text.lower())]


def content_words(text: str) -> list[str]:
    """Lower-cased words minus stopwords, unstemmed: the unit matched by word embeddings."""
    return [w for w in words(text) if w not in STOPWORDS]


def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def terms(text: str) -> list[str]:
    """Stemmed content words, in order, duplicates kept: the unit BM25 and overlap checks count."""
    content = content_words(text)
    return _stemmer().stemWords(content) if content else []


def numbers(text: str) -> set[str]:
    """Numbers written in the text, normalised (``1,000`` -> ``1000``), so claims can be matched on them."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


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

    @classmethod
    def build(cls, sentences: list[Sentence], embedder: Embedder, old: Lexicon | None) -> Lexicon:
        df: dict[str, int] = {}
        vocab: set[str] = set()
        for s in sentences:
            for t in set(terms(s.text)):
                df[t] = df.get(t, 0) + 1
            # Numbers and one-letter tokens match exactly or not at all; a vector for them would cost
            # model time and only invite "2019" ~ "2020".
            vocab.update(w for w in content_words(s.text) if len(w) > 1 and not any(c.isdigit() for c in w))
        words = sorted(vocab)
        known = old._row if old else {}
        new = [w for w in words if w not in known]
        new_vectors = _embed_words(embedder, new)
        vectors = np.zeros((len(words), embedder.dim), dtype=np.float32)
        new_at = {w: i for i, w in enumerate(new)}
        for i, w in enumerate(words):
            vectors[i] = old.word_vectors[known[w]] if old and w in known else new_vectors[new_at[w]]
        return cls(len(sentences), df, words, vectors)


def _embed_words(embedder: Embedder, words: list[str]) -> np.ndarray:
    return embedder.embed(words, "document") if words else np.zeros((0, embedder.dim), np.float32)



class LexicalStore(Protocol):
    """BM25 over chunk texts, the lexical counterpart of ``rag.vectors.VectorStore``."""

    def ranked(self, question: str, n: int) -> list[int]:
        """Up to ``n`` chunk rows sharing a term with the question, best first."""
        ...

    def save(self, folder: Path) -> None: ...


class Bm25Store:
    """BM25 over chunk texts (bm25s), in process; ``rag.milvus_store`` has the Milvus counterpart."""

    def __init__(self, model: bm25s.BM25):
        self.model = model

    @classmethod
    def build(cls, chunks: list[Chunk]) -> Bm25Store:
        import bm25s

        model = bm25s.BM25()
        model.index([terms(c.text) or ["∅"] for c in chunks], show_progress=False)
        return cls(model)

    @classmethod
    def load(cls, folder: Path) -> Bm25Store:
        import bm25s

        if not (folder / BM25_FOLDER).is_dir():
            raise FileNotFoundError(folder / BM25_FOLDER)
        return cls(bm25s.BM25.load(str(folder / BM25_FOLDER)))

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """One score per chunk row."""
        return np.asarray(self.model.get_scores(query_terms))

    def ranked(self, question: str, n: int) -> list[int]:
        query = terms(question)
        if not query or n <= 0:
            return []
        scores = self.scores(query)
        if not len(scores):
            return []
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        return [int(i) for i in sorted(top, key=lambda i: (-scores[i], i)) if scores[i] > 0]

    def save(self, folder: Path) -> None:
        self.model.save(str(folder / BM25_FOLDER))

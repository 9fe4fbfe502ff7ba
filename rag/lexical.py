"""Word-level text handling shared by BM25, the extractive answerer and the citation verifier; the
corpus's word statistics (``Lexicon``) and BM25 over chunks (``Postings`` per segment, ``Bm25Store``
across them)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import Stemmer

if TYPE_CHECKING:
    from .embed import Embedder
    from .types import Sentence

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

    @staticmethod
    def document_frequencies(sentences: Iterable[Sentence], df: dict[str, int] | None = None, sign: int = 1) -> dict[str, int]:
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



class LexicalStore(Protocol):
    """BM25 over chunk texts, the lexical counterpart of ``rag.vectors.VectorStore``."""

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
        return cls(vocab, indptr, np.array(rows, dtype=np.int32)[order], np.array(counts, dtype=np.float32)[order], length)

    def save(self, folder: Path) -> None:
        with (folder / POSTINGS_FILE).open("wb") as f:
            np.savez(f, indptr=self.indptr, chunk=self.chunk, tf=self.tf, length=self.length,
                     terms=np.array(list(self.terms), dtype=str))

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

"""The learned rerank: every sentence of the fused passages is scored by the answerer's network, the
passages are reordered by their best sentence, and the best candidates, with the reader's say on the
best few, give two calibrated probabilities: that the answer is right, and that the corpus holds one
at all."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .embed import Embedder
from .features import Pool, question_features, sentence_features, shares
from .index import Index
from .lexical import words
from .question import QuestionInfo, analyse, unnamed_near
from .reader import Reader
from .retrieve import Rankings, pool_of
from .scorer import AnswerScorer
from .types import Hit, Sentence

_TERMINAL = re.compile(r"""[.!?]["'”’)\]]*$""")


def is_heading(s: Sentence) -> bool:
    """A title or list label: marked as a heading by its document, no closing punctuation, or too short
    to state a fact. Never an answer."""
    return s.heading or not _TERMINAL.search(s.text) or len(words(s.text)) < 4


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    probability: float  # the network's share for this sentence: P(it is the answering one | one of the pool is)


@dataclass(frozen=True)
class Evidence:
    """What retrieval hands an answerer: the passages best first, the candidate sentences best first,
    and how confident the best of them answers (calibrated on held-out questions)."""

    question: QuestionInfo
    hits: tuple[Hit, ...]
    ranked: tuple[Scored, ...]
    confidence: float  # P(the answer built from ``ranked`` holds the answer)
    answerable: float  # P(the corpus holds the answer): the answerers decline under its threshold


@dataclass(frozen=True)
class Candidates:
    question: QuestionInfo
    pool: Pool
    features: np.ndarray  # one row of SENTENCE_FEATURES per pool sentence


def candidates(question: str, query_vector: np.ndarray, rankings: Rankings, index: Index, embedder: Embedder) -> Candidates:
    q = analyse(question, index, embedder)
    pool = pool_of(rankings, index, keep=lambda s: not is_heading(s))
    return Candidates(q, pool, sentence_features(q, query_vector, pool, index))


def rank(c: Candidates, rankings: Rankings, index: Index, scorer: AnswerScorer, k: int, reader: Reader | None = None) -> Evidence:
    logits = scorer.sentence_logits(c.features)
    read = scorer.read(c.question.text, logits, lambda i: index.sentences[c.pool.rows[i]].text, reader)
    prob = shares(logits)
    order = np.argsort(-logits, kind="stable")
    ranked = tuple(Scored(index.sentences[c.pool.rows[i]], float(prob[i])) for i in order)
    unnamed = unnamed_near(c.question.names, index, ranked[0].sentence.file, ranked[0].sentence.n) if ranked else 1.0
    about_question = np.concatenate([question_features(c.question, c.features, logits, unnamed), read])
    confidence, answerable = scorer.confidence(about_question), scorer.answerable(about_question)
    # A passage ranks by its best sentence; passages with no candidate sentence keep their fused order after.
    best: dict[int, float] = {}
    by_row = dict(zip(c.pool.rows, prob, strict=True))
    for chunk_row, _, _ in rankings.fused:
        span = index.chunk_span(chunk_row)
        scores = [by_row[r] for r in range(span.start, span.stop) if r in by_row]
        best[chunk_row] = float(max(scores)) if scores else -1.0
    hits = sorted(
        (Hit(index.chunks[row], max(best[row], 0.0), via) for row, _, via in rankings.fused),
        key=lambda h: -best[h.chunk.row],
    )
    return Evidence(c.question, tuple(hits[:k]), ranked, confidence, answerable)

"""The learned rerank: every sentence of the fused passages is scored by the answerer's network, and the
reader reads the best few. Its say and the scorer's give two calibrated probabilities, that the answer is
right and that the corpus holds one at all, and the reader reorders what it read (``scorer.reordered``).
The passages follow their best sentence in that order."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.embed.embedder import Embedder
from rag.index.loaded import Index
from rag.rank.features import SENTENCE_FEATURES, question_features, sentence_features, shares
from rag.rank.question import QuestionInfo, analyse, unnamed_near
from rag.rank.reader import Reader, reader_features
from rag.rank.retrieve import Pool, Rankings, pool_of
from rag.rank.scorer import AnswerScorer
from rag.text.words import words
from rag.types import Hit, Sentence

QUALIFIER = SENTENCE_FEATURES.index("qualifier")
_TERMINAL = re.compile(r"""[.!?]["'”’)\]]*$""")


def is_heading(s: Sentence) -> bool:
    """A title or a label: context, never an answer. Marked as a heading by its document; too short to
    state a fact; or, without closing punctuation, a title (a file's first line, or most words
    capitalised and no figure: "WorldCom trial starts in New York" heads a news story). A table
    row, a list item or a transcript line states a fact without a full stop ("Borealis; Tromsø; 17",
    "- nw-find searches the store"): it is an answer unit (issue 34)."""
    text = s.text.rstrip()
    ws = words(text)
    if s.heading or len(ws) < 3:
        return True
    if _TERMINAL.search(text):
        return len(ws) < 4
    return s.n == 1 or _titled(text) or (len(ws) < 4 and not any(c.isdigit() for c in text))


def _titled(text: str) -> bool:
    """Most of its words capitalised, and no figure: "Cloud Infrastructure and Exclusivity Concerns"."""
    tokens = [t for t in re.findall(r"[^\W\d_][\w'’-]*", text) if len(t) > 3]
    return not any(c.isdigit() for c in text) and (
        not tokens or sum(t[0].isupper() for t in tokens) >= 0.6 * len(tokens)
    )


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


def candidates(
    question: str, query_vector: np.ndarray, rankings: Rankings, index: Index, embedder: Embedder
) -> Candidates:
    q = analyse(question, index, embedder)
    pool = pool_of(rankings, index, keep=lambda s: not is_heading(s))
    return Candidates(q, pool, sentence_features(q, query_vector, pool, index))


def rank(
    c: Candidates, rankings: Rankings, index: Index, scorer: AnswerScorer, k: int, reader: Reader | None = None
) -> Evidence:
    logits = scorer.sentence_logits(c.features)
    read = scorer.read(c.question.text, logits, lambda i: index.sentences[c.pool.rows[i]].text, reader)
    # The question models see the scorer's order, as in training: its best candidate, and the reader's
    # logits for its best few. The answer takes the reordered one.
    best = index.sentences[c.pool.rows[int(np.argmax(logits))]] if len(logits) else None
    unnamed = unnamed_near(c.question.names, index, best.file, best.n) if best is not None else 1.0
    about_question = np.concatenate([question_features(c.question, c.features, logits, unnamed), reader_features(read)])
    confidence, answerable = scorer.confidence(about_question), scorer.answerable(about_question)
    answer_logits = scorer.reordered(logits, read, c.features[:, QUALIFIER])
    prob = shares(answer_logits)
    order = np.argsort(-answer_logits, kind="stable")
    ranked = tuple(Scored(index.sentences[c.pool.rows[i]], float(prob[i])) for i in order)
    # A passage ranks by its best sentence in the answer's order, and shows that sentence's share;
    # passages with no candidate sentence keep their fused order after.
    place = {c.pool.rows[i]: n for n, i in enumerate(order)}
    placed: list[tuple[int, Hit]] = []
    for chunk_row, _, via in rankings.fused:
        span = index.chunk_span(chunk_row)
        rows = [r for r in range(span.start, span.stop) if r in place]
        at = min((place[r] for r in rows), default=len(place))
        placed.append((at, Hit(index.chunks[chunk_row], float(prob[order[at]]) if rows else 0.0, via)))
    hits = [h for _, h in sorted(placed, key=lambda p: p[0])]
    return Evidence(c.question, tuple(hits[:k]), ranked, confidence, answerable)

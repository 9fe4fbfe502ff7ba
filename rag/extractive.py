"""The local answerer: picks the source sentences that answer the question, cites each, or abstains.

A sentence's score blends its embedding similarity to the question with how much of the question it
covers, word by word: exact stems count fully, paraphrases (supplier ~ provider) through word
embeddings, weighted by IDF so rare words decide. It abstains when the best score is low, when the
question names a concept the corpus never mentions, or when a quantity question finds no number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .embed import Embedder
from .lexical import numbers, words
from .match import Terms
from .store import Index
from .types import Citation, Hit, Sentence

# A question word whose best match anywhere in the corpus is below this names an absent concept.
MISSING_BELOW = 0.45
# Weight of word coverage against sentence similarity in the score; coverage is the sharper signal.
COVERAGE_WEIGHT = 2.0
# Two picked sentences this similar say the same thing: keep one.
DUPLICATE_ABOVE = 0.9

# A sentence opening with one of these leans on the one before ("These moves...", "It hopes...").
_OPENING_ANAPHORA = frozenset("this these that those such it its they their he she his her both".split())
# ...or naming one of these early on ("Should OpenAI pursue this, it could...").
_EARLY_ANAPHORA = frozenset("this these those such".split())
_WH_TYPE = re.compile(r"\b(?:which|whose|what)\s+(?:(?:is|was|are|were)\s+(?:the|a|an)\s+)?([a-z][\w-]*)(?=\s+of\b|\s)?", re.I)
_QUANTITY = re.compile(r"\bhow\s+(?:many|much)\b|\bwhat\s+(?:percentage|percent|share|amount|number)\b", re.I)
_NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten dozen hundred thousand million billion trillion half twice".split())
_TERMINAL = re.compile(r"""[.!?]["'”’)\]]*$""")


@dataclass(frozen=True)
class Question:
    """What the answerer needs to know about a question, computed once."""

    text: str
    terms: Terms  # content words an answer should state, minus the type words
    type_words: list[str]  # "which outlet": the answer names an outlet, it need not say "outlet"
    quantity: bool  # the answer must hold a number
    missing: list[str]  # words with no counterpart anywhere in the corpus


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    score: float
    dense: float
    coverage: float


def analyse(question: str, index: Index, embedder: Embedder) -> Question:
    type_words = _type_words(question)
    terms = Terms.of(question, index, embedder, exclude=type_words)
    missing = terms.absent_from_corpus(index, MISSING_BELOW)
    return Question(question, terms, type_words, bool(_QUANTITY.search(question)), missing)


def _type_words(question: str) -> list[str]:
    m = _WH_TYPE.search(question)
    if not m:
        return []
    word = m.group(1).lower()
    return [] if word in {"do", "does", "did", "is", "was", "are", "were", "has", "have", "had", "can", "could", "will", "would", "should"} else [word]


def is_heading(s: Sentence) -> bool:
    """A title or list label: no closing punctuation, or too short to state a fact."""
    return not _TERMINAL.search(s.text) or len(words(s.text)) < 4


def has_number(text: str) -> bool:
    return bool(numbers(text)) or any(w in _NUMBER_WORDS for w in words(text))


def score_candidates(q: Question, query_vector: np.ndarray, hits: list[Hit], index: Index) -> list[Scored]:
    """Every non-heading sentence of the retrieved passages, best first."""
    seen: dict[str, Sentence] = {}
    for h in hits:
        for s in index.chunk_sentences(h.chunk):
            if not is_heading(s) and (not q.quantity or has_number(s.text)):
                seen.setdefault(s.key, s)
    scored = []
    for s in seen.values():
        dense = float(index.sentence_vectors[index.sentence_row(s)] @ query_vector)
        cov = q.terms.coverage(s.text, index)
        scored.append(Scored(s, (dense + COVERAGE_WEIGHT * cov) / (1 + COVERAGE_WEIGHT), dense, cov))
    return sorted(scored, key=lambda x: -x.score)


@dataclass(frozen=True)
class Extract:
    citations: list[Citation]  # one per answer sentence, in answer order
    abstained: bool
    reason: str


def answer_extractive(
    question: str,
    query_vector: np.ndarray,
    hits: list[Hit],
    index: Index,
    embedder: Embedder,
    abstain_below: float,
    max_sentences: int,
    margin: float,
) -> Extract:
    """Pick, order and cite the answering sentences, or abstain with the reason."""
    q = analyse(question, index, embedder)
    if q.missing:
        return Extract([], True, f"the articles never mention {', '.join(repr(w) for w in q.missing)}")
    ranked = score_candidates(q, query_vector, hits, index)
    if not ranked:
        kind = "a sentence with a number" if q.quantity else "a sentence"
        return Extract([], True, f"no retrieved passage holds {kind} that could answer")
    best = ranked[0]
    if best.score < abstain_below:
        return Extract([], True, f"the best evidence scores {best.score:.2f}, under the {abstain_below:.2f} needed")

    picked = [best]
    for cand in ranked[1:]:
        if len(picked) >= max_sentences or cand.score < max(best.score - margin, abstain_below):
            break
        v = index.sentence_vectors[index.sentence_row(cand.sentence)]
        if all(float(v @ index.sentence_vectors[index.sentence_row(p.sentence)]) < DUPLICATE_ABOVE for p in picked):
            picked.append(cand)

    out: list[Citation] = []
    keys: set[str] = set()
    for p in picked:
        for s in (_antecedent(p.sentence, index), p.sentence):
            if s is not None and s.key not in keys:
                keys.add(s.key)
                out.append(Citation.of(s, support=p.score))
    return Extract(out, False, "")


def _antecedent(s: Sentence, index: Index) -> Sentence | None:
    """The previous sentence, when ``s`` opens by pointing back to it ("These moves...", "Should X pursue this")."""
    opening = words(s.text)[:5]
    if not opening or (opening[0] not in _OPENING_ANAPHORA and not _EARLY_ANAPHORA.intersection(opening)):
        return None
    prev = index.sentence(s.file, s.n - 1)
    return prev if prev is not None and not is_heading(prev) else None

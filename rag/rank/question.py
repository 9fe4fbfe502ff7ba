"""What the answerer knows about a question before it reads any candidate: its kind (who, when, how
many...), its content words and which the corpus lacks, its names, and whether the sentences around a
candidate use those names."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.embed.embedder import Embedder
from rag.index.loaded import Index
from rag.rank.match import ContentWords
from rag.text.names import names
from rag.text.profile import profile
from rag.text.words import QUALIFIERS, stem, words

# A question word whose closest corpus word is under this cosine has no counterpart in the corpus
# (MiniLM puts unrelated single words at ~0.3-0.45).
MISSING_BELOW = 0.45

KINDS = ("who", "when", "where", "quantity", "which", "what", "why", "how", "other")
_KIND_PATTERNS = [
    (
        "quantity",
        r"\bhow (?:many|much|long|old|far|large|big|often|tall|high|fast)\b|\bwhat (?:percentage|percent|proportion|share|amount|number|fraction|size)\b",
    ),
    (
        "when",
        r"\bwhen\b|\b(?:what|which|in what) (?:year|years|date|century|decade|month|day|time|period|era|season)\b",
    ),
    (
        "where",
        r"\bwhere\b|\b(?:what|which) (?:city|country|state|place|region|location|continent|town|island|county)\b",
    ),
    ("who", r"\bwho\b|\bwhom\b|\bwhose\b"),
    ("why", r"\bwhy\b"),
    ("which", r"\bwhich\b"),
    ("what", r"\bwhat\b"),
    ("how", r"\bhow\b"),
]
_KIND_RES = [(k, re.compile(p, re.I)) for k, p in _KIND_PATTERNS]
# "which outlet": the answer names an outlet, it need not say "outlet".
_TYPE_WORD = re.compile(r"\b(?:which|whose|what)\s+(?:(?:is|was|are|were)\s+(?:the|a|an)\s+)?([a-z][\w-]*)", re.I)
# The auxiliaries a question inverts ("When did ...", "How much was ..."); the follow-up rules read them too.
AUXILIARIES = frozenset("do does did is was are were has have had can could will would should".split())


@dataclass(frozen=True)
class QuestionInfo:
    """What scoring needs to know about a question, computed once."""

    text: str
    kind: str  # one of KINDS
    terms: ContentWords  # content words an answer should state, minus the type word
    rare: np.ndarray  # indices into terms.words of its two rarest words (by corpus IDF)
    missing: tuple[str, ...]  # words with no counterpart, not even a paraphrase, anywhere in the corpus
    unseen_names: float  # share of the question's names (capitalised words) that the corpus never uses
    qualifiers: frozenset[str]
    words: frozenset[str]  # every lower-cased question word, to tell a new name from a repeated one
    names: frozenset[str]  # question_names: what unnamed_near looks for near the answer


def question_kind(question: str) -> str:
    return next((k for k, rx in _KIND_RES if rx.search(question)), "other")


def type_words(question: str) -> list[str]:
    m = _TYPE_WORD.search(question)
    word = m.group(1).lower() if m else ""
    return [word] if word and word not in AUXILIARIES else []


def analyse(question: str, index: Index, embedder: Embedder) -> QuestionInfo:
    terms = ContentWords.of(question, index, embedder, exclude=type_words(question))
    missing = tuple(terms.absent_from_corpus(index, MISSING_BELOW))
    # Exact absence of a name, unlike ``missing``, does not fade as the vocabulary grows (in a large
    # corpus every word has some neighbour over MISSING_BELOW: no SQuAD-train question had a missing word
    # over 8,448 paragraphs), and unlike common words a name is rarely paraphrased.
    names = question_names(question)
    share = sum(stem(w) not in index.lexicon.df for w in names) / len(names) if names else 0.0
    rare = np.argsort(-terms.idf)[:2] if len(terms.words) else np.zeros(0, dtype=int)
    qwords = words(question)
    return QuestionInfo(
        question,
        question_kind(question),
        terms,
        rare,
        missing,
        share,
        QUALIFIERS.intersection(qwords),
        frozenset(qwords),
        names,
    )


def question_names(question: str) -> frozenset[str]:
    """The question's names: capitalised words past its first, lower-cased, less question words."""
    return frozenset(
        w
        for w in names(question)
        if w not in AUXILIARIES and w not in {"what", "which", "who", "when", "where", "how", "why"}
    )


# Sentences either side of the best candidate that may name what it is about: on valid, 2 and 4 declined
# about as many absent-article questions as the whole paragraph (train/README.md). A window, unlike the
# file, means the same on a paragraph and on a 300-page report.
NEAR = 4


def unnamed_near(names: frozenset[str], index: Index, file: str, n: int) -> float:
    """The share of the question's ``names`` that sentence ``n`` of ``file`` and the NEAR sentences
    either side of it never use. A question about Israel answered from a sentence about Greece: on
    valid, 0.51 of absent-article questions have a name missing there, and 0.09 of answerable ones."""
    if not names:
        return 0.0
    stems: set[str] = set()
    said: set[str] = set()
    for m in range(n - NEAR, n + NEAR + 1):
        s = index.sentence(file, m)
        if s is not None:
            p = profile(s.text)
            stems |= p.stems
            said |= p.names
    return sum(w not in said and stem(w) not in stems for w in names) / len(names)

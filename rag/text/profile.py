"""What a sentence's text says whatever the question is: its content words and stems, the names,
numbers, dates and qualifiers it holds, its stem bigrams. Computed once per sentence text and cached,
since the same pool sentences recur across questions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.text.names import names
from rag.text.words import NUMBER_WORDS, QUALIFIERS, content_words, numbers, stem, words

YEAR = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b")
MONTH = re.compile(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December)\b")
DIGIT = re.compile(r"\d")
MONEY = re.compile(r"[$£€¥%]|\b(?:percent|per cent|million|billion|trillion|dollars?|pounds?|euros?)\b", re.I)

# A sentence opening with one of these leans on the one before ("These moves...", "It hopes...").
OPENING_ANAPHORA = frozenset("this these that those such it its they their he she his her both".split())


def bigrams(stems: list[str] | tuple[str, ...]) -> set[tuple[str, str]]:
    """Neighbouring content-word stems: "Notre Dame", "first invest" match as phrases, not just words."""
    return set(zip(stems, stems[1:]))


@lru_cache(maxsize=200_000)
def content_stems(text: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """A sentence's content words and its set of stems, cached: the same sentences recur across questions."""
    cw = tuple(content_words(text))
    return cw, frozenset(stem(w) for w in cw)


@dataclass(frozen=True)
class Profile:
    """What a sentence's features need from its text alone, whatever the question."""

    stems: frozenset[str]
    log_words: float
    names: frozenset[str]  # capitalised words, lower-cased
    numbers: frozenset[str]
    has_year: bool
    has_month: bool
    has_number: bool
    has_money: bool
    qualifiers: frozenset[str]
    anaphoric: bool
    bigrams: frozenset[tuple[str, str]]


@lru_cache(maxsize=200_000)
def profile(text: str) -> Profile:
    """Cached: the pool sentences recur across questions, and recomputing these regexes per question
    was a third of the feature time under server load (py-spy, 50 clients on the seeds)."""
    cw, stems = content_stems(text)
    lower = words(text)
    return Profile(
        stems=stems,
        log_words=float(np.log1p(len(lower))),
        names=frozenset(names(text)),
        numbers=frozenset(numbers(text)),
        has_year=bool(YEAR.search(text)),
        has_month=bool(MONTH.search(text)),
        has_number=bool(DIGIT.search(YEAR.sub("", text))) or any(w in NUMBER_WORDS for w in lower),
        has_money=bool(MONEY.search(text)),
        qualifiers=QUALIFIERS.intersection(lower),
        anaphoric=bool(lower) and lower[0] in OPENING_ANAPHORA,
        bigrams=frozenset(bigrams([stem(w) for w in cw])),
    )

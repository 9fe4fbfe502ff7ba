"""Words, stems, stopwords and numbers: the word-level text handling every stage shares (no model, no index)."""

from __future__ import annotations

import re
from functools import cache

import Stemmer

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


# Numbers written as words, and their values: the one table for every stage that reads figures.
NUMBER_WORDS = {
    **{w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())},
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1_000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "dozen": 12,
}

# Qualifiers: a claim word of the left set must be matched in the text by a word of the right set (its
# family). Only the left words trigger the rule; common words (all, will, now) only satisfy it.
_QUALIFIERS = (
    (
        "total overall combined cumulative altogether aggregate",
        "total overall combined cumulative altogether aggregate all sum together",
    ),
    (
        "first initial initially original originally earliest",
        "first initial initially original originally earliest began start",
    ),
    ("last final finally latest", "last final finally latest recent recently"),
    ("current currently", "current currently present presently now today"),
    (
        "planned proposed expected projected",
        "planned plan plans planning proposed propose proposal expected expect expects projected intend intends will would",
    ),
    ("former formerly previous previously", "former formerly previous previously once past earlier"),
    ("largest biggest highest maximum", "largest biggest greatest most highest maximum top record"),
    ("smallest lowest minimum fewest", "smallest least lowest minimum fewest"),
)
QUALIFIER_FAMILIES = tuple((frozenset(a.split()), frozenset(b.split())) for a, b in _QUALIFIERS)
# Words that tell one figure or state from its neighbours (asked for a total, an initial amount is wrong),
# as the answerer's features read them: every family's trigger words, and a few that only describe.
QUALIFIERS = frozenset().union(*(trigger for trigger, _ in QUALIFIER_FAMILIES)) | {
    "recent",
    "present",
    "average",
    "annual",
}

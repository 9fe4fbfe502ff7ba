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

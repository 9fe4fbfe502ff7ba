"""Names: the one rule for "is this word a name?" that every stage reads (the features, the citation and
claim checks, the conflict rules, the asked-for check and the follow-up rewriter).

A name is a capitalised word (a capital, then letters, digits, apostrophes, ampersands, dots or hyphens,
ending on a letter or digit: "Beyoncé", "AT&T", "U.S", "GPT-4", "O'Brien") that is not a function word.
A sentence's first word is capitalised anyway, so there it counts only when it looks like a name all the
same: inner capitals ("OpenAI"), a possessive ("Microsoft's"), or a word the corpus does not know.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.text.words import STOPWORDS

_WORD = r"[A-Z](?:[\w&'’.-]*\w)?"
_CAPITALISED = re.compile(rf"\b{_WORD}")
_RUN = re.compile(rf"\b{_WORD}(?:\s+{_WORD})*")  # "Federal Reserve Bank": one name of several words


def name_key(word: str) -> str:
    """A name as it is compared: lower case, no possessive, no trailing dot ("U.S." and "u.s" are one)."""
    return word.lower().replace("’", "'").removesuffix("'s").rstrip(".")


def is_name(word: str, opening: bool = False, known: Callable[[str], bool] = lambda w: True) -> bool:
    """The rule above; ``opening``: the word opens a sentence; ``known``: the corpus knows the word."""
    if not word[:1].isupper():
        return False
    key = name_key(word)
    if key in STOPWORDS:
        return False
    return not opening or not word[1:].islower() or key != word.lower() or not known(key)


def opens_sentence(text: str, start: int) -> bool:
    """The word at ``start`` opens ``text`` or follows a full stop, question or exclamation mark."""
    before = text[:start]
    stripped = before.rstrip()
    return not stripped or (stripped != before and stripped[-1] in ".!?")


def names(text: str, known: Callable[[str], bool] = lambda w: True) -> set[str]:
    """The names in ``text``, as ``name_key`` gives them; a sentence-opening word only if it looks like one."""
    return {
        name_key(m.group())
        for m in _CAPITALISED.finditer(text)
        if is_name(m.group(), opens_sentence(text, m.start()), known)
    }


def name_runs(text: str) -> list[re.Match[str]]:
    """Names of one or more words, past the text's first word, in order ("the Federal Reserve Bank")."""
    return [m for m in _RUN.finditer(text) if m.start() > 0 and is_name(m.group().split()[0])]

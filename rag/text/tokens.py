"""The words of a claim or of a cited sentence as the claim rules read them (rag/verify/claims.py,
rag/verify/name_rules.py), and as the conflict rules and the figures reader do: each word's lower case, stem,
and whether it is a name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.text.names import is_name
from rag.text.words import stem

ARTICLES = frozenset({"a", "an", "the"})

_TOKEN = re.compile(r"[A-Za-z][\w'’&-]*[\w]|[A-Za-z]|\$?\d[\d,.]*\d|\$?\d")


@dataclass(frozen=True)
class Token:
    text: str
    low: str
    stem: str
    name: bool  # rag/text/names.py: a capitalised word, past the opening unless it looks like a name


@lru_cache(maxsize=50_000)
def tokens(text: str) -> tuple[Token, ...]:
    out = []
    for i, m in enumerate(_TOKEN.finditer(text)):
        raw = m.group().removesuffix("'s").removesuffix("’s")
        low = raw.lower()
        out.append(Token(raw, low, stem(low), is_name(raw, opening=i == 0)))
    return tuple(out)

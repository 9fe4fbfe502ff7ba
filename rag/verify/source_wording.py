"""An LLM answer's near-quotes put back in the exact wording of the sentence they cite.

A small model copying a source sentence often changes it slightly: it adds a serial comma ("land, air,
and water" for "land, air and water"), drops an article ("the production of prostaglandins"), or
changes the case. Where three or more words of an answer sentence (articles aside) run in the same order
in a sentence it cites, that run is replaced with the cited sentence's own text for it, so the answer
quotes its source exactly. The words are the same, so the citation check's verdict stands. Replayed on
the local model's recorded answers, it turned wrong answers right and none wrong (benchmarks/finishing.py;
docs/local-llm.md).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from rag.text.tokens import ARTICLES

MIN_RUN = 3  # 2 and 4 fixed the same answers on replay; 3 rewrites fewer answers than 2 (docs/local-llm.md)
_WORD = re.compile(r"[\w$£€%]+(?:[.,'’-]\w+)*")
_PAIRED = (('"', '"'), ("“", "”"), ("(", ")"), ("[", "]"))


def in_source_wording(text: str, sources: Sequence[str], min_run: int = MIN_RUN) -> str:
    """``text`` with each run of at least ``min_run`` words that a source has in the same order (articles
    and punctuation aside) replaced by that source's text for it. The run's first letter keeps the
    answer's case (a sentence's start stays capitalised, a run copied from one stays as the answer has it)."""
    for source in sources:
        text = _in_wording_of(text, source, min_run)
    return text


def _in_wording_of(text: str, source: str, min_run: int) -> str:
    mine, theirs = _words(text), _words(source)
    matcher = difflib.SequenceMatcher(None, [w for w, _, _ in mine], [w for w, _, _ in theirs], autojunk=False)
    out, at = [], 0
    for block in matcher.get_matching_blocks():
        if block.size < min_run:
            continue
        start, end = mine[block.a][1], mine[block.a + block.size - 1][2]
        first, last = theirs[block.b][1], theirs[block.b + block.size - 1][2]
        if not _balanced(source, first, last):  # it would close a quote or bracket opened outside the run
            continue
        quoted = source[first:last]
        out += [text[at:start], text[start] + quoted[1:]]
        at = end
    return "".join([*out, text[at:]])


def _words(text: str) -> list[tuple[str, int, int]]:
    """Each word but the articles, lower-cased, with its span."""
    return [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(text) if m.group().lower() not in ARTICLES]


def _balanced(source: str, start: int, end: int) -> bool:
    """Every quote and bracket in ``source[start:end]`` opens and closes inside it. A straight quote
    opens or closes by its parity in the whole source."""
    run = source[start:end]
    for a, b in _PAIRED:
        if a == b:
            inside = run.count(a)
            if inside % 2 or (inside and source[:start].count(a) % 2):
                return False
        elif run.count(a) != run.count(b):
            return False
    return True

"""Files that are one document in two formats or versions (a manual as PDF and as HTML, a page saved
twice): their sentences differ only where extraction differs (a footnote number glued to a word, a
page number, a ligature), so comparing them finds the document "disagreeing" with itself."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.index.tables import SentenceTable

# Two files are copies when this share of the smaller one's sentences, reduced to letters and digits,
# appear in the other.
COPY_SHARE = 0.5
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def reduced(text: str) -> str:
    """A sentence without what extraction changes: case, spacing, punctuation, hyphens, ligatures."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


class Copies:
    """Groups of files that are copies of one document, among the files a scan's candidate pairs touch
    (so a scan reads only those), and the one of each group that speaks for it: the first by name."""

    def __init__(self, sentences: SentenceTable, files: set[str]):
        self._reduced = {r: reduced(sentences.text(r)) for r in sentences.rows_of(files).tolist()}
        mine: dict[str, set[str]] = {f: set() for f in files}
        for r, text in self._reduced.items():
            if len(text) >= 20:
                mine[sentences.file_of(r)].add(text)
        holders: dict[str, set[str]] = {}
        for file, texts in mine.items():
            for text in texts:
                holders.setdefault(text, set()).add(file)
        shared: dict[tuple[str, str], int] = {}
        for group in holders.values():
            if 1 < len(group) <= 10:  # a line in many files is boilerplate, not a sign of a copy
                ordered = sorted(group)
                for i, x in enumerate(ordered):
                    for y in ordered[i + 1 :]:
                        shared[(x, y)] = shared.get((x, y), 0) + 1
        self._first = {f: f for f in files}
        for (x, y), n in sorted(shared.items()):
            if n >= COPY_SHARE * min(len(mine[x]), len(mine[y])):
                keep = min(self._first[x], self._first[y])
                for f, c in self._first.items():
                    if c in (self._first[x], self._first[y]):
                        self._first[f] = keep

    def same_text(self, a: int, b: int) -> bool:
        """Rows ``a`` and ``b`` say the same once what extraction changes is set aside."""
        return self._reduced[a] == self._reduced[b]

    def speak_for_themselves(self, *files: str) -> bool:
        """False if one is a copy of a file earlier by name: its sentences are compared through that file."""
        return all(self._first[f] == f for f in files)

    def same_document(self, a: str, b: str) -> bool:
        return self._first[a] == self._first[b]

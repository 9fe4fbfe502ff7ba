"""Blocks of plain text and Markdown: the runs of lines that are one paragraph, one list item, one
heading, one table row or one code line. Sentences are split inside a block, never across two.

Hard-wrapped files (READMEs, FAQs, RFC-style text at ~72 columns) break a sentence over several lines.
Splitting lines first made every line a sentence: answers were fragments ("weeks, but may be varied by up
to 1 week by the Project Leader."; issue 34). A line joins the next when it was wrapped: it is nearly as
long as the file's long lines, or it ends without a full stop and the next goes on in lower case. A
heading, a list marker, a table row, a code line or a blank line always ends a block. The block is a
span of the file's own text, so a sentence cited from it maps back to the file's bytes; its line breaks
are whitespace. ``sentence_spans`` splits one block (or one extracted paragraph) into sentences.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import sentencex

_LINE = re.compile(r"[^\r\n]+")
_LIST_ITEM = re.compile(r"\s*(?:[-*+•]|\d{1,3}[.)]|[a-zA-Z][.)])\s+\S")
_FENCE = re.compile(r"\s*(?:```|~~~)")
_RULE = re.compile(r"\s*(?:[-=*_]\s*){3,}$")  # a Markdown rule or a setext heading's underline
COLUMNS = re.compile(r"\S {3,}\S|\t")  # aligned columns inside a line: a table or a file list
ENDED = re.compile(r"""[.!?:;]["'”’)\]]*$""")
WRAPPED_SHARE = 0.75  # a line at least this share of the file's wrap width was wrapped, not ended
MIN_WIDTH = 40  # files whose long lines are shorter than this are lists, not wrapped prose


def lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line with text: the blocks of extracted text, one paragraph per line."""
    return ((m.start(), m.end()) for m in _LINE.finditer(text))


def wrap_width(text: str) -> int:
    """The file's wrap width: its 90th-percentile line length (lines of 20 characters or more)."""
    lengths = sorted(len(m.group().rstrip()) for m in _LINE.finditer(text) if len(m.group().strip()) >= 20)
    return lengths[int(0.9 * (len(lengths) - 1))] if lengths else 0


def blocks(text: str, headings: tuple[tuple[int, int], ...] = (), markdown: bool = False) -> Iterator[tuple[int, int]]:
    """(start, end) of each block of ``text``, in order. ``headings``: spans already known to be headings;
    ``markdown``: an indented line after a blank line (or after code) is code, line by line; in plain
    text, and right after a line of prose, indented lines are prose."""
    width = wrap_width(text)
    heading_starts = {start for start, _ in headings}
    start = end = -1
    prev = ""
    in_fence = in_code = False
    for m in _LINE.finditer(text):
        line = m.group()
        if not line.strip():
            continue
        blank_before = start < 0 or text[end : m.start()].count("\n") > 1
        indented = line.startswith(("    ", "\t"))
        in_code = markdown and indented and (blank_before or in_code)
        alone = in_fence or in_code or _stands_alone(line) or m.start() in heading_starts
        if _FENCE.match(line):
            in_fence = not in_fence
            alone = True
        if start >= 0 and not alone and not blank_before and _continues(prev, line, width):
            end = m.end()
        else:
            if start >= 0:
                yield start, end
            start, end = m.start(), m.end()
        prev = "" if alone else line
    if start >= 0:
        yield start, end


def _stands_alone(line: str) -> bool:
    """A line that is a block of its own and never joins the next: a table row, a rule, a Markdown
    heading, a quoted line, aligned columns."""
    s = line.lstrip()
    return s.startswith(("|", "#", ">")) or bool(_RULE.match(line)) or bool(COLUMNS.search(s))


def _continues(prev: str, line: str, width: int) -> bool:
    """``line`` goes on with the paragraph or list item ``prev`` ends."""
    if not prev or _LIST_ITEM.match(line):
        return False
    body = prev.rstrip()
    if _title_like(line, width):
        return False  # "...the end.\nInstallation": a heading after a paragraph
    wrapped = width >= MIN_WIDTH and len(body) >= WRAPPED_SHARE * width
    first = line.lstrip()[:1]
    return wrapped or (not ENDED.search(body) and (first.islower() or first.isdigit()))


def _title_like(line: str, width: int) -> bool:
    """A short line that starts with a capital and ends without punctuation: a heading or a label."""
    s = line.strip()
    return s[:1].isupper() and not ENDED.search(s) and len(s) < WRAPPED_SHARE * max(width, MIN_WIDTH)


def sentence_spans(flat: str) -> Iterator[tuple[int, int]]:
    """sentencex's sentences of one paragraph, except where it ends one on a full stop that a slash
    follows: a relative path goes on there ("dh_make -f ../foo.tar.gz", "run ./configure"). Other
    full stops touching what follows stay splits: ".[citation needed]", a missing space ("sea.The")."""
    pending: tuple[int, int] | None = None
    for b in sentencex.get_sentence_boundaries("en", flat):
        start, end = b["start_index"], b["end_index"]
        if pending is not None:
            if flat[pending[1] - 1] == "." and start == pending[1] and flat[start : start + 1] in ("/", "\\"):
                start = pending[0]
            else:
                yield pending
        pending = (start, end)
    if pending is not None:
        yield pending

"""A PDF page's text lines, in reading order, with a blank line where the page's geometry shows a
paragraph ends: pdfium's text (words spaced from the glyphs' positions, lines in the order the page
draws them, which is column by column in typeset papers) and each line's box.

pdfium was chosen over pypdf and pdfminer.six by measurement on 16 real PDFs, 8 of them two-column
(benchmarks/EXTRACTION.md, "PDF"): pypdf's layout mode interleaves the lines of two columns, and
pdfminer's layout analysis recovers fewer sentences at a fraction of the speed.
"""

from __future__ import annotations

import ctypes
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median
from typing import Any, NamedTuple

# pdfium marks a hyphen it saw at a line end with U+FFFE (U+0002 in older builds).
_PDFIUM_HYPHEN = "\ufffe\x02"
# Characters whose compatibility form is what a reader sees and searches: ligatures, and spaces of other
# widths. Full NFKC would also turn "²" into "2" and "½" into "1⁄2", which changes what the text says.
_COMPAT = re.compile("[\ufb00-\ufb06\u00a0\u2000-\u200a\u202f\u2212]")
# A spacing accent that TeX set before its letter ("Br¨oker"): the combining mark that composes with it.
_ACCENTS = {
    "¨": "\u0308",
    "´": "\u0301",
    "`": "\u0300",
    "ˆ": "\u0302",
    "˜": "\u0303",
    "¸": "\u0327",
    "˚": "\u030a",
    "ˇ": "\u030c",
}
_SPACED_ACCENT = re.compile("(?<=[^\\W\\d_])([¨´`ˆ˜¸˚ˇ])([A-Za-z])")
# A line that ends a sentence (or a quotation, or a parenthesis): what may end a paragraph.
TERMINAL = re.compile(r"[.!?:;\"”’)]\s*$")
_TEXT_LINE = re.compile(r"[^\r\n]+")
_MARGIN = 5.0
_NUMBER = re.compile(r"(?<!\S)\d{1,4}(?!\S)")
# Vertical distance between baselines, in line pitches, over which lines are in different paragraphs.
_GAP = 1.3
# Lines whose font sizes differ by more than this share are in different blocks (a heading, a footnote).
_RESIZED = 0.1
# A line starting this many character heights right of its column's left edge is indented.
_INDENT = (0.6, 4.0)


@dataclass(frozen=True)
class Line:
    text: str
    x0: float
    x1: float
    base: float  # the bottom of the line's first and last glyphs, in points from the page's foot
    height: float
    size: float  # the first glyph's font size: a heading or a footnote is set in another


def clean(text: str) -> str:
    """Ligatures, odd spaces and the minus sign as their plain forms; a spacing accent set before its
    letter composed with it; pdfium's line-end hyphen as a hyphen."""
    for mark in _PDFIUM_HYPHEN:
        text = text.replace(mark, "-")
    text = text.replace("\u2212", "-")
    text = _COMPAT.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return _SPACED_ACCENT.sub(lambda m: unicodedata.normalize("NFC", m.group(2) + _ACCENTS[m.group(1)]), text)


def page_lines(textpage: Any) -> list[Line]:
    """The page's lines as pdfium breaks them, each with its box; empty lines and a manuscript's line
    numbers dropped."""
    import pypdfium2.raw as pdfium_c

    n = textpage.count_chars()
    if n <= 0:
        return []
    buffer = ctypes.create_string_buffer((n + 1) * 2)
    got = pdfium_c.FPDFText_GetText(textpage.raw, 0, n, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)))
    text = buffer.raw[: max(0, got - 1) * 2].decode("utf-16-le", "surrogatepass")
    # One string character per pdfium character (a pair of surrogates is two): offsets are char indexes.
    spans = [
        span for m in _TEXT_LINE.finditer(text) if m.group().strip() for span in _split(textpage, m.start(), m.end())
    ]
    numbers = _line_numbers(textpage, text, spans)
    lines = []
    for start, end in spans:
        raw = "".join(" " if i in numbers else text[i] for i in range(start, end)) if numbers else text[start:end]
        if not raw.strip():
            continue
        first = start + (len(raw) - len(raw.lstrip()))
        last = end - 1 - (len(raw) - len(raw.rstrip()))
        left, bottom, _, top = textpage.get_charbox(first)
        _, bottom2, right, top2 = textpage.get_charbox(last)
        words = " ".join(raw.split()).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        size = pdfium_c.FPDFText_GetFontSize(textpage.raw, first)
        lines.append(
            Line(clean(words), left, right, min(bottom, bottom2), max(top - bottom, top2 - bottom2, 1.0), size)
        )
    return lines


def _split(textpage: Any, start: int, end: int) -> list[tuple[int, int]]:
    """A line pdfium ran on into the next typeset line (seen after a hyphen in tightly set papers): cut
    where the glyphs go back to the left on a lower baseline. Only lines whose two ends lie on different
    baselines are looked at glyph by glyph."""
    first, last = textpage.get_charbox(start), textpage.get_charbox(end - 1)
    height = max(first[3] - first[1], 1.0)
    if abs(first[1] - last[1]) < 0.6 * height:
        return [(start, end)]
    cuts = [start]
    prev = first
    for i in range(start + 1, end):
        box = textpage.get_charbox(i)
        if box[2] - box[0] <= 0:  # a generated space has no box
            continue
        if box[0] < prev[0] - 3 * height and box[3] < prev[1]:
            cuts.append(i)
        prev = box
    return [(a, b) for a, b in zip(cuts, cuts[1:] + [end], strict=False)]


class _Number(NamedTuple):
    bottom: float
    value: int
    where: range  # its character indexes
    gap: float  # to the text after it on its line, in character heights (0: nothing after it)
    left: float
    right: float


def _line_numbers(textpage: Any, text: str, spans: list[tuple[int, int]]) -> set[int]:
    """Character indexes of a manuscript's line numbers: numbers standing alone at one x position on at
    least 5 lines, counting up by one from the top of the page, set in the margin (every one at least
    _MARGIN character heights from the text it numbers). A code listing's numbers sit
    close to their code (2-5 heights on the PDFs measured) and stay: they are part of what it shows."""
    found: list[_Number] = []
    for start, end in spans:
        for m in _NUMBER.finditer(text, start, end):
            left, bottom, right, top = textpage.get_charbox(m.start())
            if m.end() - 1 > m.start():
                right = textpage.get_charbox(m.end() - 1)[2]
            after = m.end() + 1
            gap = (textpage.get_charbox(after)[0] - right) / max(top - bottom, 1.0) if after < end else 0.0
            found.append(_Number(bottom, int(m.group()), range(m.start(), m.end()), gap, left, right))
    out: set[int] = set()
    # Numbers are set flush left or flush right: a column of them shares one of its edges.
    for edge in (lambda n: n.left, lambda n: n.right):
        for column in _clusters(found, edge):
            gaps = [abs(n.gap) for n in column if n.gap]
            # The nearest text, not the typical: an indented code line is far from its number too.
            if len(column) < 5 or not gaps or min(gaps) < _MARGIN:
                continue
            values = [n.value for n in sorted(column, key=lambda n: -n.bottom)]
            steps = [b - a for a, b in zip(values, values[1:], strict=False)]
            if sum(s == 1 for s in steps) >= 0.8 * len(steps):
                out.update(i for n in column for i in n.where)
    return out


def _clusters(items: list[_Number], x: Callable[[_Number], float], tolerance: float = 2.0) -> list[list[_Number]]:
    """Items grouped by x, a group broken where two neighbours in x order lie over ``tolerance`` apart."""
    groups: list[list[_Number]] = []
    for item in sorted(items, key=x):
        if groups and x(item) - x(groups[-1][-1]) <= tolerance:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def paragraphs(lines: list[Line], width: float) -> list[str]:
    """The lines' text, with "" before a line that starts a paragraph: after a vertical gap, a jump to
    another column or place whose last line was short or ended a sentence, an indented first line after
    a finished sentence, or a line that follows one ending short of its column's right edge."""
    if not lines:
        return []
    columns = _columns(lines, width)
    steps = [a.base - b.base for a, b in zip(lines, lines[1:], strict=False)]
    pitch = median(
        [s for s, a in zip(steps, lines, strict=False) if 0 < s < 3 * a.height] or [max(ln.height for ln in lines)]
    )
    out = [lines[0].text]
    for prev, line in zip(lines, lines[1:], strict=False):
        step = prev.base - line.base
        left, right = columns(prev)
        # The previous line ended short if the next one's first word would have fitted after it: the
        # test a typesetter's line breaking passes, ragged-right or justified.
        per_char = (prev.x1 - prev.x0) / max(len(prev.text), 1)
        room = right - prev.x1
        short = (len(line.text.split(" ", 1)[0]) + 1) * per_char < room and not prev.text.endswith("-")
        ended = bool(TERMINAL.search(prev.text))
        own_left, _ = columns(line)
        indent = _INDENT[0] * line.height < line.x0 - own_left < _INDENT[1] * line.height
        resized = abs(line.size - prev.size) > _RESIZED * max(line.size, prev.size)
        if step <= -line.height or step > 3 * pitch:  # another column, or a figure's or table's text
            new = short or ended or resized
        else:
            new = step > _GAP * pitch or short or (indent and ended) or resized
        if new:
            out.append("")
        out.append(line.text)
    return out


def _columns(lines: list[Line], width: float) -> Callable[[Line], tuple[float, float]]:
    """A function from a line to the left and right edges of the column it is in: the page's middle
    splits two columns when at least a fifth of the lines lie wholly on each side of it."""
    mid = width / 2
    sides = {
        "left": [ln for ln in lines if ln.x1 <= mid + 2],
        "right": [ln for ln in lines if ln.x0 >= mid - 2],
    }
    two = all(len(v) >= max(3, len(lines) // 5) for v in sides.values())
    groups = (
        {**sides, "all": [ln for ln in lines if not (ln.x1 <= mid + 2 or ln.x0 >= mid - 2)]} if two else {"all": lines}
    )
    edges = {}
    for name, members in groups.items():
        if members:
            xs0 = sorted(ln.x0 for ln in members)
            xs1 = sorted(ln.x1 for ln in members)
            edges[name] = (xs0[len(xs0) // 10], xs1[(len(xs1) * 9) // 10])
    fallback = edges.get("all") or next(iter(edges.values()))

    def of(line: Line) -> tuple[float, float]:
        if not two:
            return fallback
        if line.x1 <= mid + 2:
            return edges["left"]
        if line.x0 >= mid - 2:
            return edges["right"]
        return edges.get("all", fallback)

    return of

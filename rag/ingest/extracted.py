"""What a parser gives back for one document, and the error that skips it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ExtractionError(Exception):
    """A document that cannot be read; the message is the skip reason users see."""


@dataclass(frozen=True)
class Extracted:
    """A document's text as extracted, and what the format says about it."""

    text: str
    format: str  # "pdf", "html", "docx"
    pages: tuple[int, ...] = ()  # offset in text where each page starts (PDF)
    headings: tuple[tuple[int, int], ...] = ()  # spans of heading lines: never answer sentences
    title: str | None = None
    date: str | None = None  # ISO date, from the page's or the file's metadata
    glued_pages: tuple[int, ...] = ()  # PDF pages (from 1) whose words run together: poor to search


def page_ranges(pages: Sequence[int]) -> str:
    """1, 3-5, 9 for pages 1, 3, 4, 5, 9."""
    runs: list[list[int]] = []
    for p in pages:
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)

"""What a parser gives back for one document, and the error that skips it."""

from __future__ import annotations

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

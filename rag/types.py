"""The records that flow between pipeline stages, and the error tree the library raises."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any


def one_line(text: str) -> str:
    """A sentence as shown: each line break of a hard-wrapped source, with the spaces and indent around
    it, is one space (the citation keeps the file's own characters; rag/ingest/blocks.py). Other
    spacing, a thin space in "c. 500" included, is kept."""
    return _LINE_BREAK.sub(" ", text)


_LINE_BREAK = re.compile(r"[ \t]*[\r\n]+[ \t]*")


# ---------------------------------------------------------------------------------------------- errors
class RagError(Exception):
    """Base of every error the library raises on purpose; the message names the problem and the fix."""


class ConfigError(RagError):
    """A setting is invalid (bad value, unreadable config file)."""


class CorpusError(RagError):
    """The corpus folder is missing, empty or unreadable."""


class IndexMissingError(RagError):
    """No index exists where one was asked for."""


class IndexMismatchError(RagError):
    """The index on disk was built with other settings, another embedder or another format."""


class SplitterChangedError(IndexMismatchError):
    """The index was built by an older sentence splitter, every setting being the same: only a rebuild
    brings it up to date, and one from its corpus needs nothing of the user."""

    what: str  # the message without its fix: what the rebuild that mends it says

    @classmethod
    def of(cls, root: object, built: object) -> SplitterChangedError:
        what = f"index at {root} was split into sentences by an older version ({built!r})"
        error = cls(f"{what}: run `rag index --rebuild`")
        error.what = what
        return error


class IndexLockedError(RagError):
    """Another process is updating the index and did not finish within the wait."""


class IndexReadOnlyError(RagError):
    """The index folder cannot be written, and answering from it would need an update."""


class ModelError(RagError):
    """The embedding model could not be loaded."""


class InputError(RagError):
    """A question or a question file is malformed."""


class GeneratorError(RagError):
    """The answer generator failed (no key, refused connection, unknown model, malformed reply)."""


class StoreError(RagError):
    """The search engine holding the index (a Milvus server) cannot be reached or failed a call."""


# The errors that mean the index or a model cannot be used, not that the input was wrong: exit code 2
# at the command line, 503 over HTTP.
UNUSABLE: tuple[type[RagError], ...] = (
    IndexMissingError,
    IndexMismatchError,
    IndexLockedError,
    IndexReadOnlyError,
    ModelError,
    GeneratorError,
    StoreError,
)


# --------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Document:
    """One source file as read from disk."""

    file: str  # path relative to the corpus folder, with forward slashes: the name users see
    text: str
    encoding: str = "utf-8"  # what it was decoded from; anything else was a guess worth reporting
    format: str = "text"  # "text" (read as is), or the format the text was extracted from: pdf, html, docx
    pages: tuple[int, ...] = ()  # offset in text where each page starts (PDF)
    headings: tuple[tuple[int, int], ...] = ()  # spans of heading lines (Markdown, HTML, Word)
    title: str | None = None
    date: str | None = None  # ISO date from the file's metadata


@dataclass(frozen=True)
class Sentence:
    """One source sentence; ``document.text[start:end] == text`` (the extracted text, for PDF, HTML and Word)."""

    file: str
    n: int  # 1-based within its file
    start: int
    end: int
    text: str
    page: int | None = None  # 1-based page it starts on, for paged formats (PDF)
    heading: bool = False  # a heading line of the document: never an answer sentence

    @property
    def key(self) -> str:
        return f"{self.file}:{self.n}"


@dataclass(frozen=True)
class Chunk:
    """A few neighbouring sentences of one file: the unit of retrieval."""

    row: int  # its row in the index's chunk table; stable only within one index generation
    file: str
    first: int  # 1-based number of its first sentence
    last: int  # 1-based number of its last sentence, inclusive
    text: str


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the retrievers that found it."""

    chunk: Chunk
    score: float
    via: tuple[str, ...]  # e.g. ("dense", "bm25")

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.chunk.file,
            "chunk": self.chunk.row,
            "sentences": [self.chunk.first, self.chunk.last],
            "score": round(self.score, 6),
            "via": list(self.via),
            "text": self.chunk.text,
        }


@dataclass(frozen=True)
class Citation:
    """A checked pointer from an answer sentence to one source sentence."""

    file: str
    sentence: int
    start: int
    end: int
    text: str
    support: float | None = None  # the verifier's score for an LLM's sentence; None where the answer quotes the source
    page: int | None = None  # 1-based page, for paged formats (PDF)

    @classmethod
    def of(cls, s: Sentence, support: float | None = None) -> Citation:
        return cls(s.file, s.n, s.start, s.end, s.text, support, s.page)

    @property
    def where(self) -> str:
        """How a source list names it: ``report.pdf p.3:12``, ``notes.txt:4``."""
        return f"{self.file} p.{self.page}:{self.sentence}" if self.page is not None else f"{self.file}:{self.sentence}"

    @property
    def key(self) -> str:
        return f"{self.file}:{self.sentence}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.support is None:
            del d["support"]
        else:
            d["support"] = round(self.support, 4)
        if self.page is None:
            del d["page"]
        return d


@dataclass(frozen=True)
class AnswerSentence:
    text: str  # verbatim for an extractive sentence; shown on one line (``one_line``)
    citations: tuple[Citation, ...]
    unsupported: bool = False  # kept although no citation survived checking (--keep-unsupported)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"text": self.text, "citations": [c.to_dict() for c in self.citations]}
        if self.unsupported:
            d["unsupported"] = True
        return d


@dataclass(frozen=True)
class AnswerPhrase:
    """The words of a cited sentence that answer (rag/rank/phrase.py); start/end point into the file."""

    text: str
    citation: Citation  # the sentence it is a slice of
    start: int
    end: int
    margin: float  # the phrase reader's score over "no phrase"

    def to_dict(self) -> dict[str, Any]:
        c = self.citation
        return {"text": self.text, "file": c.file, "sentence": c.sentence, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Conflict:
    """Two sentences of different sources that say opposite things about the same fact."""

    kind: str  # figure | date | direction | negation | antonym | reversed (rules) | other (an LLM's verdict)
    summary: str  # what differs, in one line: "$1 billion against $2 billion"
    citations: tuple[Citation, Citation]
    confidence: float  # measured precision of the judge that flagged it (rag/conflicts/scan.py)
    judge: str = "rules"  # rules | llm

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "summary": self.summary,
            "confidence": self.confidence,
            "judge": self.judge,
            "citations": [c.to_dict() for c in self.citations],
        }


@dataclass(frozen=True)
class Answer:
    """What ``Assistant.ask`` returns; ``to_dict()`` is the JSON record of ``--json`` and batch lines."""

    question: str
    sentences: tuple[AnswerSentence, ...]
    abstained: bool
    passages: tuple[Hit, ...]
    id: str | None = None
    generator: str = "extractive"
    notes: tuple[str, ...] = ()  # what happened on the way: dropped citations, why it abstained
    fallback: bool = False  # the LLM's answer had no supported sentence: this is the extractive answer
    timings: dict[str, float] = field(default_factory=dict)
    # Calibrated probability that the answer is right (held-out ECE in rag/rank/scorer.json).
    confidence: float | None = None
    # Calibrated probability that the articles hold an answer at all; questions under the threshold
    # chosen on held-out questions are declined.
    answerable: float | None = None
    # Title and date of each cited file that has them (from the file's metadata): file -> {title, date}.
    documents: dict[str, dict[str, str]] = field(default_factory=dict)
    # Sources that disagree about what this question's evidence says (stored with the index).
    conflicts: tuple[Conflict, ...] = ()
    # When it declines: what the documents do say on the question's topic, cited. For a question on a
    # false premise ("How much did AT&T pay for MCI?") this is often the correction ("Verizon ... MCI").
    instead: tuple[AnswerSentence, ...] = ()
    phrase: AnswerPhrase | None = None  # leads the answer: "Microsoft [1]", then the sentences

    ABSTAIN_TEXT = "The articles do not say."
    INSTEAD_TEXT = "What they do say:"

    @property
    def citations(self) -> list[Citation]:
        """Distinct citations in order of first use: the numbered source list."""
        seen: dict[str, Citation] = {}
        for s in (*self.sentences, *self.instead):
            for c in s.citations:
                seen.setdefault(c.key, c)
        return list(seen.values())

    @property
    def text(self) -> str:
        """The answer with ``[n]`` markers numbering ``self.citations``; when declined, the decline and
        what the documents do say."""
        if self.abstained:
            return f"{self.ABSTAIN_TEXT} {self.instead_text}" if self.instead else self.ABSTAIN_TEXT
        if self.phrase is not None:
            number = [c.key for c in self.citations].index(self.phrase.citation.key) + 1
            return f"{one_line(self.phrase.text)} [{number}]\n{self._marked(self.sentences)}"
        return self._marked(self.sentences)

    @property
    def instead_text(self) -> str:
        """``What they do say: ... [1]`` when declined with sentences on the topic, else empty."""
        return f"{self.INSTEAD_TEXT} {self._marked(self.instead)}" if self.abstained and self.instead else ""

    def _marked(self, sentences: tuple[AnswerSentence, ...]) -> str:
        number = {c.key: i for i, c in enumerate(self.citations, 1)}
        parts = []
        for s in sentences:
            marks = "".join(f"[{number[c.key]}]" for c in s.citations)
            flag = " [unsupported]" if s.unsupported else ""
            parts.append(f"{one_line(s.text)}{' ' if marks else ''}{marks}{flag}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "confidence": self.confidence,
            "answerable": self.answerable,
            "generator": self.generator,
            "answer_phrase": None if self.phrase is None else self.phrase.to_dict(),
            "sentences": [s.to_dict() for s in self.sentences],
            "instead": [s.to_dict() for s in self.instead],
            "passages": [h.to_dict() for h in self.passages],
            "documents": self.documents,
            "conflicts": [c.to_dict() for c in self.conflicts],
            "fallback": self.fallback,
            "notes": list(self.notes),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }

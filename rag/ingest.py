"""Loading, sentence splitting with character offsets, and chunking: pure functions, no model."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import sentencex

from .types import Chunk, CorpusError, Document, Sentence

log = logging.getLogger(__name__)

# Lines are split first: a heading or a list item without a full stop is a sentence of its own,
# which sentencex alone would glue to the next line.
_LINE = re.compile(r"[^\r\n]+")


def load_documents(folder: Path, suffixes: Sequence[str] = (".txt", ".md")) -> list[Document]:
    """Read every text file under ``folder`` (recursively, hidden files skipped) in name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"corpus folder {folder} does not exist: pass a folder of text files (e.g. --corpus seeds)")
    wanted = {s.lower() for s in suffixes}
    docs = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or path.suffix.lower() not in wanted or any(p.startswith(".") for p in rel.parts):
            continue
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            log.warning("skipping %s: not UTF-8 text", rel)
            continue
        docs.append(Document(rel.as_posix(), text, hashlib.sha256(raw).hexdigest()))
    if not docs:
        raise CorpusError(f"no {'/'.join(sorted(wanted))} files in {folder}: put text files there or choose another folder")
    return docs


def split_sentences(doc: Document) -> list[Sentence]:
    """Sentences of one document, numbered from 1, each with ``doc.text[start:end] == text``."""
    out: list[Sentence] = []
    for line in _LINE.finditer(doc.text):
        for b in sentencex.get_sentence_boundaries("en", line.group()):
            start, end = _trim(doc.text, line.start() + b["start_index"], line.start() + b["end_index"])
            if end > start:
                out.append(Sentence(doc.file, len(out) + 1, start, end, doc.text[start:end]))
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def make_chunks(sentences: Sequence[Sentence], size: int, overlap: int, first_id: int = 0) -> list[Chunk]:
    """Windows of ``size`` neighbouring sentences of one file, sharing ``overlap`` with the next window."""
    chunks: list[Chunk] = []
    step = size - overlap
    for i in range(0, max(len(sentences) - overlap, 1), step):
        window = sentences[i : i + size]
        if not window:
            break
        chunks.append(Chunk(first_id + len(chunks), window[0].file, window[0].n, window[-1].n, " ".join(s.text for s in window)))
    return chunks


def sentences_by_file(sentences: Iterable[Sentence]) -> dict[str, list[Sentence]]:
    out: dict[str, list[Sentence]] = {}
    for s in sentences:
        out.setdefault(s.file, []).append(s)
    return out

"""Loading, sentence splitting with character offsets, and chunking: pure functions, no model.

Scanning a folder never crashes on what it finds there: every file it does not index is reported with
the reason (binary, empty, too large, unreadable, a symlink loop, a duplicate of another file...).
"""

from __future__ import annotations

import bisect
import codecs
import errno
import hashlib
import logging
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.config import DEFAULT_SUFFIXES
from rag.ingest.blocks import blocks, lines, sentence_spans
from rag.ingest.extract import PARSED_SUFFIXES, Extractor, extract, markdown_headings
from rag.ingest.extracted import ExtractionError, page_ranges
from rag.types import Chunk, CorpusError, Document, Sentence

log = logging.getLogger(__name__)

# Lines (of extracted text) or blocks (of text and Markdown) are split first: a heading or a list item
# without a full stop is a sentence of its own, which sentencex alone would glue to the next line.
_LINE_BREAK = re.compile(r"[\r\n]")
# A NUL byte never occurs in text files in any single-byte or UTF-8 encoding; it is how git and grep
# tell binary files too.
_SNIFF_BYTES = 8192
# Longest first: the UTF-32 little-endian mark begins with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HASH_BLOCK = 1 << 20
# The longest sentence kept whole. Longer runs (transcripts, OCR, lists without full stops) are cut at
# clause punctuation, else at a space. On 40,453 SQuAD-train sentences 0.16% are longer than 600
# characters (99th percentile 398, longest 2,064) and no seed sentence is (longest 312); 600 characters
# are about 140 tokens, inside the embedder's 256-token window, so what is cited is what was embedded.
MAX_SENTENCE_CHARS = 600
_CLAUSE_END = re.compile(r"[,;:)\]–—](?=\s)")


@dataclass(frozen=True)
class SourceFile:
    """A candidate file found by ``scan_corpus``: hashed without being held in memory."""

    path: Path
    file: str  # path relative to the corpus folder, forward slashes
    sha256: str
    size: int


@dataclass(frozen=True)
class Skipped:
    """A file left out of the index, and why."""

    file: str
    reason: str


@dataclass(frozen=True)
class Scan:
    files: list[SourceFile]
    skipped: list[Skipped]


def scan_corpus(folder: Path, suffixes: Sequence[str] = DEFAULT_SUFFIXES, max_file_bytes: int | None = None) -> Scan:
    """Every regular file under ``folder`` with a wanted suffix, in name order, hashed in blocks.

    Hidden files and folders are passed over silently; every other file that will not be indexed is in
    ``skipped`` with its reason. Symlinked folders are followed once (a loop is reported, not walked)."""
    folder = Path(folder)
    if folder.is_file():
        raise CorpusError(f"{folder} is a file: pass the folder that holds it (e.g. {folder.parent})")
    if not folder.is_dir():
        raise CorpusError(f"corpus folder {folder} does not exist: pass a folder of text files (e.g. --corpus seeds)")
    wanted = {s.lower() for s in suffixes}
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    first_with: dict[str, str] = {}  # sha256 -> the file indexed with that content
    for path, rel in _walk(folder, skipped):
        name = rel.as_posix()
        try:
            st = path.stat()  # follows a file symlink; a loop or a dangling link raises
        except OSError as e:
            skipped.append(Skipped(name, _why(e)))
            continue
        if not stat.S_ISREG(st.st_mode):
            skipped.append(Skipped(name, "not a regular file (a pipe, socket or device)"))
            continue
        if path.suffix.lower() not in wanted:
            skipped.append(
                Skipped(
                    name,
                    f"not a document type it reads, by its name (reads {', '.join(sorted(wanted))}; set suffixes to change)",
                )
            )
            continue
        if st.st_size == 0:
            skipped.append(Skipped(name, "empty"))
            continue
        if max_file_bytes is not None and st.st_size > max_file_bytes:
            skipped.append(
                Skipped(
                    name,
                    f"{st.st_size / 1e6:.1f} MB, over max_file_mb ({max_file_bytes / 1e6:.0f} MB): raise it to index this file",
                )
            )
            continue
        try:
            digest = file_sha256(path)
        except OSError as e:
            skipped.append(Skipped(name, _why(e)))
            continue
        if digest in first_with:
            skipped.append(Skipped(name, f"same content as {first_with[digest]}"))
            continue
        first_with[digest] = name
        files.append(SourceFile(path, name, digest, st.st_size))
    return Scan(files, skipped)


def _walk(folder: Path, skipped: list[Skipped]) -> Iterator[tuple[Path, Path]]:
    """(path, path relative to folder) of every non-hidden entry that is not a folder, in name order."""
    seen_dirs: set[tuple[int, int]] = set()

    def unreadable(e: OSError) -> None:
        skipped.append(Skipped(os.path.relpath(e.filename or folder, folder) + "/", _why(e)))

    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True, onerror=unreadable):
        here = Path(dirpath)
        try:
            st = here.stat()
        except OSError as e:
            skipped.append(Skipped(here.relative_to(folder).as_posix(), _why(e)))
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink back up the tree would be walked forever
            skipped.append(
                Skipped(
                    here.relative_to(folder).as_posix() + "/",
                    "folder already walked (a symlink loop or a second link to it)",
                )
            )
            dirnames[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield here / name, (here / name).relative_to(folder)


def _why(e: OSError) -> str:
    if e.errno == errno.ELOOP:
        return "symlink loop"
    if e.errno == errno.ENOENT:
        return "broken link or vanished while scanning"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "unreadable (permission denied)"
    return f"unreadable ({e.strerror or e})"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def read_document(src: SourceFile, extractor: Extractor | None = None) -> Document | Skipped:
    """The file's text: extracted from a PDF, HTML page or Word file (by ``extractor``, in its worker
    process with a time limit, else here), or decoded as UTF-8 or, failing that, in the encoding
    charset-normalizer detects (``Document.encoding`` says which). A file that cannot be read comes
    back as ``Skipped`` with the reason."""
    if src.path.suffix.lower() in PARSED_SUFFIXES:
        try:
            got = (extractor or extract)(src.path)
        except ExtractionError as e:
            return Skipped(src.file, str(e))
        if not got.text.strip():
            return Skipped(src.file, f"no text in the {got.format.upper()} file")
        if got.glued_pages:
            log.warning(
                "%s: words run together on page%s %s (the PDF has no spaces between them): search there is poor;"
                " a copy printed to PDF again may read better",
                src.file,
                "s" if len(got.glued_pages) > 1 else "",
                page_ranges(got.glued_pages),
            )
        return Document(src.file, got.text, "utf-8", got.format, got.pages, got.headings, got.title, got.date)
    try:
        raw = src.path.read_bytes()
    except OSError as e:
        return Skipped(src.file, _why(e))
    bom = next((name for mark, name in _BOMS if raw.startswith(mark)), None)
    if bom is None and b"\x00" in raw[:_SNIFF_BYTES]:
        return Skipped(src.file, "binary (holds NUL bytes)")
    encoding = bom or "utf-8"
    try:
        # UTF-16 and UTF-32 hold NUL bytes in every ASCII character: their byte-order mark tells them
        # from binary files (Windows tools save text so).
        text = raw.decode(bom) if bom else raw.decode("utf-8-sig")
        if bom and not _reads_as_text(text):
            return Skipped(src.file, f"binary (a {bom} byte-order mark, then no text)")
    except UnicodeDecodeError:
        text, encoding = _decode_fallback(raw)
        if not text:
            return Skipped(src.file, "binary or in an unknown encoding")
        log.warning("%s is not UTF-8: decoded as %s", src.file, encoding)
    if not text.strip():
        return Skipped(src.file, "blank (whitespace only)")
    headings = markdown_headings(text) if src.path.suffix.lower() in (".md", ".markdown") else ()
    return Document(src.file, text, encoding, headings=headings)


def _reads_as_text(text: str) -> bool:
    """Decoded behind a byte-order mark, text has spaces or line breaks and no control characters."""
    return any(c.isspace() for c in text) and not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)


def _decode_fallback(raw: bytes) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw))
    if not matches:
        return "", ""
    best = matches[0]
    # Short texts leave several Latin code pages tied; cp1252 is what Western articles are mostly saved
    # in, so it wins a tie (cp1250 would turn "naïve" into "naďve").
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    chosen = next((m for m in tied if m.encoding == "cp1252"), best)
    return str(chosen), chosen.encoding


def no_text_message(folder: Path, suffixes: Sequence[str]) -> str:
    return f"no readable {'/'.join(sorted(suffixes))} files in {folder}: put documents there or choose another folder"


def split_sentences(doc: Document) -> list[Sentence]:
    """Sentences of one document, numbered from 1, each with ``doc.text[start:end] == text`` and at most
    MAX_SENTENCE_CHARS long, with the page it starts on and whether it is a heading line."""
    out: list[Sentence] = []
    heading_starts = [h[0] for h in doc.headings]
    # Text and Markdown as written: hard-wrapped lines are reflowed into their paragraph (ingest/blocks.py).
    # Extracted formats already give one paragraph per line.
    spans = (
        blocks(doc.text, doc.headings, doc.file.lower().endswith((".md", ".markdown")))
        if doc.format == "text"
        else lines(doc.text)
    )
    for at, stop in spans:
        flat = _LINE_BREAK.sub(" ", doc.text[at:stop])  # same length: offsets stay the file's
        for b_start, b_end in sentence_spans(flat):
            for start, end in bounded(doc.text, at + b_start, at + b_end):
                page = bisect.bisect_right(doc.pages, start) if doc.pages else None
                i = bisect.bisect_right(heading_starts, start) - 1
                heading = i >= 0 and start < doc.headings[i][1]
                out.append(Sentence(doc.file, len(out) + 1, start, end, doc.text[start:end], page, heading))
    return out


def bounded(text: str, start: int, end: int, limit: int = MAX_SENTENCE_CHARS) -> Iterator[tuple[int, int]]:
    """The trimmed span ``text[start:end]``, cut into pieces of at most ``limit`` characters: after the
    last clause punctuation in the second half of the allowance, else at the last space there, else hard."""
    start, end = _trim(text, start, end)
    while end - start > limit:
        window = text[start : start + limit]
        cuts = [m.end() for m in _CLAUSE_END.finditer(window, limit // 2)]
        cut = cuts[-1] if cuts else window.rfind(" ", limit // 2) + 1 or limit
        piece = _trim(text, start, start + cut)
        if piece[1] > piece[0]:
            yield piece
        start, end = _trim(text, start + cut, end)
    if end > start:
        yield start, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def make_chunks(sentences: Sequence[Sentence], size: int, overlap: int) -> list[Chunk]:
    """Windows of ``size`` neighbouring sentences of one file, sharing ``overlap`` with the next window."""
    chunks: list[Chunk] = []
    step = size - overlap
    for i in range(0, max(len(sentences) - overlap, 1), step):
        window = sentences[i : i + size]
        if not window:
            break
        chunks.append(Chunk(len(chunks), window[0].file, window[0].n, window[-1].n, " ".join(s.text for s in window)))
    return chunks

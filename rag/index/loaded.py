"""The loaded index and its manifest: what a generation folder holds, read back and refused when it was
built in another format, with other settings, or has been damaged since.

Layout: ``index/manifest.json`` names a generation folder ``index/g-<id>/`` holding its segments
(``rag.index.segments``: tables, vectors, FAISS, BM25 postings, words), the lexicon's counts and the
conflicts, each file with its size and checksum in the manifest. Writing it is ``rag.build``'s job; the
lock, atomic writes and checksums are ``rag.index.disk``'s.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.index.bm25 import Bm25Store, LexicalStore
from rag.index.disk import check_sums, read_jsonl, read_manifest
from rag.index.lexicon import Lexicon
from rag.index.segments import Live, Segment, live, read_segment
from rag.index.tables import ChunkTable, SentenceTable
from rag.index.vectors import SegmentedVectorStore, VectorStore
from rag.types import Chunk, Citation, IndexMismatchError, IndexMissingError, Sentence, SplitterChangedError

log = logging.getLogger(__name__)
FORMAT_VERSION = 5  # 3: conflicts.jsonl; 4: a chunk's row is stored as "row"; 5: segments, tables by column
LEXICON = "lexicon.json"  # per generation: sentence count and stem document frequencies
SUBJECTS = "subjects.json"  # per generation: each file's subjects the conflict scan has worked out
TEXTS = "texts"  # per generation: the extracted text of each PDF, HTML and Word file


@dataclass
class Index:
    """A loaded index: the live rows of its segments (tables, sentence vectors), the vector store over
    sentences, BM25 over chunks, the lexicon and the conflicts."""

    root: Path
    manifest: dict[str, Any]
    sentences: SentenceTable
    chunks: ChunkTable
    sentence_vectors: Any  # (sentences, dim) array-like: a RowVectors over the segments' memory maps
    vector_store: VectorStore
    bm25: LexicalStore
    lexicon: Lexicon
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # rows of rag.conflicts.scan
    subjects: dict[str, list[str]] = field(default_factory=dict)  # file -> its subjects (rag.conflicts.FileSubjects)
    segments: list[Segment] = field(default_factory=list, repr=False)
    _chunk_span: tuple[np.ndarray, np.ndarray] = field(default=(np.zeros(0), np.zeros(0)), repr=False)

    def __post_init__(self) -> None:
        # Chunks of a file are contiguous, files in the order of the sentence table's file ids.
        ids = np.arange(len(self.sentences.files))
        self._chunk_span = (
            np.searchsorted(self.chunks.file_id, ids, "left"),
            np.searchsorted(self.chunks.file_id, ids, "right"),
        )

    def sentence(self, file: str, n: int) -> Sentence | None:
        row = self.sentences.row_of(file, n)
        return None if row is None else self.sentences[row]

    def sentence_row(self, s: Sentence) -> int:
        row = self.sentences.row_of(s.file, s.n)
        if row is None:
            raise KeyError(s.key)
        return row

    def chunks_of(self, sentence_row: int) -> list[int]:
        """Rows of the chunks holding a sentence (two where chunks overlap)."""
        fid, n = self.sentences.file_id[sentence_row], self.sentences.n[sentence_row]
        lo, hi = int(self._chunk_span[0][fid]), int(self._chunk_span[1][fid])
        # A file's chunks are windows in order: both their first and last numbers rise.
        start = lo + int(np.searchsorted(self.chunks.last[lo:hi], n, "left"))
        stop = lo + int(np.searchsorted(self.chunks.first[lo:hi], n, "right"))
        return list(range(start, stop))

    def sentence_rows(self, chunk: Chunk) -> slice:
        """The rows of a chunk's sentences (a file's sentences are stored contiguously, in order)."""
        first = self.sentences.row_of(chunk.file, chunk.first)
        if first is None:
            raise KeyError(f"{chunk.file}:{chunk.first}")
        return slice(first, first + chunk.last - chunk.first + 1)

    @cached_property
    def conflict_sides(self) -> dict[str, list[tuple[int, int]]]:
        """file -> (row in ``conflicts``, sentence number) of each conflict side in it: an answer looks up
        its cited files instead of reading every stored conflict (at 100k passages, 4,469 of them took
        18 ms an answer)."""
        sides: dict[str, list[tuple[int, int]]] = {}
        for row, c in enumerate(self.conflicts):
            for side in ("a", "b"):
                file, n = c[side].rsplit(":", 1)
                sides.setdefault(file, []).append((row, int(n)))
        return sides

    def chunk_span(self, chunk_row: int) -> slice:
        """``sentence_rows`` of the chunk at ``chunk_row``, without reading its text."""
        first = self.chunks.first_row(chunk_row)
        return slice(first, first + int(self.chunks.last[chunk_row]) - int(self.chunks.first[chunk_row]) + 1)

    def chunk_sentences(self, chunk: Chunk) -> list[Sentence]:
        return self.sentences[self.sentence_rows(chunk)]

    @property
    def corpus(self) -> Path | None:
        c = self.manifest.get("corpus")
        return Path(c) if c else None

    def text_path(self, sha256: str) -> Path:
        return self.root / self.manifest["generation"] / TEXTS / f"{sha256}.txt"

    def document_text(self, file: str) -> str | None:
        """The text a file's spans point into: the stored extraction of a PDF, HTML or Word file, or the
        text file as it is now in the corpus; None when it cannot be read."""
        entry = self.manifest["files"].get(file)
        if entry is None:
            return None
        try:
            if entry.get("format", "text") != "text":
                return self.text_path(entry["sha256"]).read_text(encoding="utf-8")
            if self.corpus is None:
                return None
            raw = (self.corpus / file).read_bytes()
        except OSError:
            return None
        return raw.decode(entry.get("encoding", "utf-8-sig"), errors="replace")

    def documents_of(self, citations: list[Citation]) -> dict[str, dict[str, str]]:
        """Title and date of the cited files that have them."""
        out: dict[str, dict[str, str]] = {}
        for c in citations:
            entry = self.manifest["files"].get(c.file, {})
            about = {k: entry[k] for k in ("title", "date") if entry.get(k)}
            if about:
                out[c.file] = about
        return out


def check_manifest(manifest: dict[str, Any], settings: Settings, root: Path) -> None:
    """Refuse an index built in another format or with other index-shaping settings."""
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {root} has format {manifest.get('format')}, this version reads {FORMAT_VERSION}: "
            "run `rag index --rebuild`"
        )
    if manifest.get("fingerprint") != settings.index_fingerprint():
        built = manifest.get("settings", {})
        now = settings.index_shaping()
        # A key only one side has (``store`` is recorded only when not the default) shows as None there.
        differ = [k for k in dict.fromkeys([*built, *now]) if built.get(k) != now.get(k)]
        if differ == ["splitter"]:
            raise SplitterChangedError.of(root, built.get("splitter"))
        diff = ", ".join(f"{k} {built.get(k)!r} -> {now.get(k)!r}" for k in differ)
        same = f" (--store {built.get('store', 'faiss')})" if built.get("store") != now.get("store") else ""
        raise IndexMismatchError(
            f"index at {root} was built with other settings ({diff or 'fingerprint differs'}): "
            f"run `rag index --rebuild`, or use the settings it was built with{same}"
        )


def recorded_store(root: Path, settings: Settings) -> Settings:
    """``settings`` on the store the index at ``root`` was built on, when they name the default one: an
    index built with ``--store milvus`` opens on Milvus again without the flag, at the URI recorded with
    it unless ``--milvus-uri`` names another. FAISS asked for on a Milvus index takes ``--rebuild``."""
    built = ((read_manifest(root) or {}).get("settings") or {}).get("store", "faiss")
    if built != "faiss" and settings.store == "faiss":
        log.info("index at %s was built on %s: using it", root, built)
        return settings.replace(store=built)
    return settings


# ---------------------------------------------------------------------------------------------- load
def load_index(root: Path, settings: Settings) -> Index:
    """Load the index at ``root``, refusing one whose format or fingerprint differs from ``settings`` and
    one whose files do not match the sizes and checksums its manifest recorded."""
    root = Path(root)
    for attempt in (1, 2):
        manifest = read_manifest(root)
        if manifest is None:
            raise IndexMissingError(f"no index at {root}: run `rag index FOLDER` (or `rag ask` with --corpus) first")
        check_manifest(manifest, settings, root)
        try:
            return _load_generation(root, manifest, settings)
        except FileNotFoundError:
            # A writer swapped generations between our reading the manifest and the files: read it again.
            now = read_manifest(root)
            if attempt == 1 and now is not None and now.get("generation") != manifest.get("generation"):
                continue
            raise IndexMismatchError(f"index at {root} is missing files: run `rag index --rebuild`") from None
    raise AssertionError("unreachable")


def _load_generation(root: Path, manifest: dict[str, Any], settings: Settings) -> Index:
    from rag.index.milvus import MILVUS_FILE

    gdir = root / manifest["generation"]
    damaged = f"index at {root} is damaged"
    check_sums(gdir, manifest.get("checksums", {}), damaged)
    on_milvus = (gdir / MILVUS_FILE).is_file()
    try:
        segments = [
            read_segment(gdir / e["name"], settings.ivf_probe_share, not on_milvus) for e in manifest["segments"]
        ]
        view = live(segments, [set(e["dead"]) for e in manifest["segments"]])
        lexicon = json.loads((gdir / LEXICON).read_text(encoding="utf-8"))
        conflicts = read_jsonl(gdir / "conflicts.jsonl")
        # Listed in the checksums when written, so a lost one is caught there; none: worked out on need.
        subjects = json.loads((gdir / SUBJECTS).read_text(encoding="utf-8")) if (gdir / SUBJECTS).is_file() else {}
        milvus = None
        if on_milvus:
            from rag.index.milvus import stores

            milvus = stores(gdir, settings.milvus_uri, settings.ivf_probe_share)
        index = assemble(root, manifest, segments, view, lexicon, conflicts, subjects, settings, milvus)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError, RuntimeError) as e:
        raise IndexMismatchError(f"{damaged} ({e}): run `rag index --rebuild`") from e
    if len(index.sentence_vectors) != len(index.sentences) or index.vector_store.count != len(index.sentences):
        raise IndexMismatchError(f"index at {root} is inconsistent: run `rag index --rebuild`")
    return index


def assemble(
    root: Path,
    manifest: dict[str, Any],
    segments: list[Segment],
    view: Live,
    lexicon: dict[str, Any],
    conflicts: list[dict[str, Any]],
    subjects: dict[str, list[str]],
    settings: Settings,
    milvus: tuple[VectorStore, LexicalStore] | None = None,
) -> Index:
    """The index over ``segments`` as ``view`` sees them: searched by FAISS and our BM25 per segment,
    or by the ``milvus`` stores."""
    if milvus is not None:
        vector_store, bm25 = milvus
    else:
        vector_store = SegmentedVectorStore([seg.faiss for seg in segments if seg.faiss], view.sentence_rows)
        bm25 = Bm25Store([seg.postings for seg in segments if seg.postings], view.chunk_rows)
    return Index(
        root,
        manifest,
        view.sentences,
        view.chunks,
        view.vectors,
        vector_store,
        bm25,
        Lexicon(lexicon["n_sentences"], lexicon["df"], view.words, view.word_vectors),
        conflicts,
        subjects,
        segments,
    )

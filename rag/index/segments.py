"""Index segments: an update writes only what it changed.

A generation is a list of segments, each a folder of immutable files: its sentence and chunk tables,
their vectors, its FAISS index, its BM25 postings and the words it added to the lexicon. The first
segment (the base) holds the corpus as of the last full write; the second, when there is one, holds
every file added or changed since. An update rewrites only that second segment and links the base's
files into the new generation unchanged (a hard link: not copied, and its checksums are carried over,
not recomputed). A file changed or removed since the base was written is listed as *dead* there: its
rows stay on disk, and the loaded index skips them.

When the rows an update would leave in the second segment, or dead in the base, pass the
``compact_share`` setting (0.2) of the base, the build writes one segment again; so does every build with
the Milvus store, whose collections are written whole per generation. A fifth of the rows dead or
beside the base costs at most a fifth more search work, and a full write is rare.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.bm25 import Postings
from rag.index.tables import ChunkTable, SentenceTable, read_tables, write_tables
from rag.index.vectors import FaissVectorStore, RowVectors

PREFIX = "seg-"
VECTORS = "vectors.npy"
WORDS = "words.json"
WORD_VECTORS = "word_vectors.npy"


@dataclass
class Segment:
    """One segment as loaded: tables, vectors (memory-mapped) and, with FAISS, its search structures."""

    name: str
    sentences: SentenceTable
    chunks: ChunkTable
    vectors: np.ndarray
    words: list[str]
    word_vectors: np.ndarray
    faiss: FaissVectorStore | None = None
    postings: Postings | None = None


def write_segment(folder: Path, segment: Segment) -> None:
    """Write a segment folder; without FAISS and BM25 files when the segment has none (Milvus searches)."""
    folder.mkdir()
    write_tables(folder, segment.sentences, segment.chunks)
    np.save(folder / VECTORS, np.ascontiguousarray(segment.vectors, dtype=np.float32))
    (folder / WORDS).write_text(json.dumps(segment.words, ensure_ascii=False), encoding="utf-8")
    np.save(folder / WORD_VECTORS, np.ascontiguousarray(segment.word_vectors, dtype=np.float32))
    if segment.faiss is not None and segment.postings is not None:
        segment.faiss.save(folder)
        segment.postings.save(folder)


def read_segment(folder: Path, probe_share: float, searched_here: bool) -> Segment:
    """A segment folder as written; with ``searched_here`` false (Milvus), without FAISS and BM25."""
    sentences, chunks = read_tables(folder)
    vectors = np.load(folder / VECTORS, mmap_mode="r")  # read as pages are touched, shared between processes
    words = json.loads((folder / WORDS).read_text(encoding="utf-8"))
    word_vectors = np.load(folder / WORD_VECTORS, mmap_mode="r")
    segment = Segment(folder.name, sentences, chunks, vectors, words, word_vectors)
    if searched_here:
        segment.faiss = FaissVectorStore.load(folder, probe_share)
        segment.postings = Postings.load(folder)
    return segment


def link_segment(source: Path, target: Path) -> None:
    """A segment of the previous generation in the new one: hard links, a copy where links fail."""
    target.mkdir()
    for path in source.iterdir():
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copyfile(path, target / path.name)


@dataclass
class Live:
    """The rows of a generation's segments that the index reads, in order: the tables of those rows,
    their vectors, and each segment's map from its own rows to the index's (-1 for a dead row)."""

    sentences: SentenceTable
    chunks: ChunkTable
    vectors: RowVectors
    sentence_rows: list[np.ndarray]
    chunk_rows: list[np.ndarray]
    words: list[str]
    word_vectors: np.ndarray


def live(segments: list[Segment], dead: list[set[str]]) -> Live:
    """The index's view of ``segments``, less the files listed dead in each."""
    tables, chunk_tables, keep, keep_chunks, sentence_rows, chunk_rows = [], [], [], [], [], []
    at = chunk_at = 0
    for seg, gone in zip(segments, dead):
        s_keep = _kept(seg.sentences.file_id, seg.sentences.files, gone)
        c_keep = _kept(seg.chunks.file_id, seg.sentences.files, gone)
        table = seg.sentences.take(s_keep) if len(s_keep) < len(seg.sentences) else seg.sentences
        tables.append(table)
        chunk_tables.append(seg.chunks.take(c_keep, table))
        keep.append(s_keep)
        keep_chunks.append(c_keep)
        sentence_rows.append(_numbered(len(seg.sentences), s_keep, at))
        chunk_rows.append(_numbered(len(seg.chunks), c_keep, chunk_at))
        at += len(s_keep)
        chunk_at += len(c_keep)
    sentences = SentenceTable.concat(tables)
    dim = segments[0].vectors.shape[1]
    words = [w for seg in segments for w in seg.words]
    # Read whole (a question's unseen words are compared with every corpus word): the base's memory map
    # as it is, or joined with the second segment's few.
    word_vectors = (
        segments[0].word_vectors if len(segments) == 1 else np.concatenate([seg.word_vectors for seg in segments])
    )
    return Live(
        sentences,
        ChunkTable.concat(chunk_tables, sentences),
        RowVectors([seg.vectors for seg in segments], keep, dim),
        sentence_rows,
        chunk_rows,
        words,
        word_vectors,
    )


def _kept(file_id: np.ndarray, files: list[str], gone: set[str]) -> np.ndarray:
    if not gone:
        return np.arange(len(file_id))
    dead = np.array([i for i, f in enumerate(files) if f in gone], dtype=np.int32)
    return np.flatnonzero(~np.isin(file_id, dead))


def _numbered(n: int, kept: np.ndarray, first: int) -> np.ndarray:
    """A segment's row -> the index's row: ``first`` onwards for kept rows, -1 for dead ones."""
    rows = np.full(n, -1, dtype=np.int64)
    rows[kept] = np.arange(first, first + len(kept))
    return rows


def segment_entry(name: str, dead: set[str]) -> dict[str, Any]:
    """A segment as the manifest records it."""
    return {"name": name, "dead": sorted(dead)}

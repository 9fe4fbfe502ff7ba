"""What a build writes, given the old index and the files it has just read and embedded: one segment
(a first build, a compaction, or the Milvus store) or the old base linked plus a new second segment
(an update; see ``rag.index.segments``). Everything here is worked out in memory, so the index a build leaves
is built from it without reading back what was written."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rag.config import Settings
from rag.embed.embedder import Embedder
from rag.index.bm25 import LexicalStore, Postings
from rag.index.lexicon import Lexicon, word_vectors
from rag.index.loaded import Index
from rag.index.segments import PREFIX, Live, Segment, live
from rag.index.tables import ChunkTable, SentenceTable
from rag.index.vectors import FaissVectorStore, VectorStore
from rag.text.words import terms
from rag.types import Chunk, Sentence


@dataclass
class Plan:
    segments: list[tuple[Segment | Path, set[str]]]  # a segment to write or an old one's folder to link; its dead files
    loaded: list[Segment]  # the same segments as the new index reads them
    lexicon: dict[str, Any]  # n_sentences and df
    milvus: tuple[VectorStore, LexicalStore] | None = None

    def live(self) -> Live:
        """The rows the new index will read."""
        return live(self.loaded, [dead for _, dead in self.segments])


def plan_generation(
    old: Index | None,
    fresh: dict[str, tuple[list[Sentence], list[Chunk]]],
    fresh_vectors: np.ndarray,
    touched: set[str],
    corpus_order: list[str],
    embedder: Embedder,
    settings: Settings,
) -> Plan:
    """The next generation: ``fresh`` files (read and embedded now) replace ``touched`` ones (changed or
    removed) of ``old``. A segment's rows are in ``corpus_order`` of their files, so writing one segment
    gives what a build from scratch gives."""
    position = {f: i for i, f in enumerate(corpus_order)}
    new_sentences = [s for ss, _ in fresh.values() for s in ss]
    table = SentenceTable.of(new_sentences)
    chunks = ChunkTable.of([c for _, cs in fresh.values() for c in cs], table)
    sentence_terms = [terms(s.text) for s in new_sentences]  # counted once: lexicon and BM25 both read them
    chunk_terms = [_chunk_terms(chunks, r, sentence_terms) for r in range(len(chunks))]
    gone = old.sentences.rows_of(touched) if old else np.zeros(0, np.int64)
    df = Lexicon.document_frequencies((old.sentences[int(r)] for r in gone), old.lexicon.df, -1) if old else {}
    for ts in sentence_terms:
        for t in set(ts):
            df[t] = df.get(t, 0) + 1
    n_sentences = (len(old.sentences) - len(gone) if old else 0) + len(new_sentences)
    lexicon = {"n_sentences": n_sentences, "df": df}
    vocabulary = Lexicon.vocabulary(new_sentences)
    change = _Change(old, touched, Rows(table, chunks, fresh_vectors, chunk_terms), vocabulary, position)
    if old is not None and settings.store != "milvus":
        update = _update(change, old, embedder, lexicon, settings)
        if update is not None:
            return update
    return _whole(change, embedder, lexicon, settings)


class Rows(NamedTuple):
    """Sentence and chunk rows of some files with their vectors, and each chunk's terms where BM25 is
    searched here (None where Milvus searches it)."""

    table: SentenceTable
    chunks: ChunkTable
    vectors: np.ndarray
    chunk_terms: list[list[str]] | None


@dataclass(frozen=True)
class _Change:
    """What a build brings: the fresh rows (read and embedded now), the files they replace in ``old``, the
    words they add, and each file's place in the corpus."""

    old: Index | None
    touched: set[str]
    fresh: Rows
    vocabulary: set[str]
    position: dict[str, int]


def _whole(change: _Change, embedder: Embedder, lexicon: dict[str, Any], settings: Settings) -> Plan:
    """One segment of everything live: the old index's untouched rows and the fresh ones."""
    old = change.old
    rows = change.fresh._replace(chunk_terms=None) if settings.store == "milvus" else change.fresh
    words = sorted(change.vocabulary)
    if old is not None:
        rows = _joined(old, old.sentences.present() - change.touched, rows, change.position)
        words = list(old.lexicon.words) + sorted(change.vocabulary - set(old.lexicon.words))
    segment = _segment(rows, words, word_vectors(words, embedder, old.lexicon if old else None), settings)
    milvus = None
    if settings.store == "milvus":
        from rag.index.milvus import DEFAULT_URI, MilvusLexicalStore, MilvusVectorStore

        uri = settings.milvus_uri or (
            old.vector_store.uri if old and isinstance(old.vector_store, MilvusVectorStore) else DEFAULT_URI
        )
        milvus = (
            MilvusVectorStore.pending(rows.vectors, uri, settings.ivf_above, settings.ivf_probe_share),
            MilvusLexicalStore(uri, chunks=rows.chunks),
        )
    return Plan([(segment, set())], [segment], lexicon, milvus)


def _update(
    change: _Change, old: Index, embedder: Embedder, lexicon: dict[str, Any], settings: Settings
) -> Plan | None:
    """The old base linked, its touched files dead, and one new segment for the rest; None when that
    would leave more than ``compact_share`` of the base dead or beside it (write one segment then)."""
    base = old.segments[0]
    base_dead = set(old.manifest["segments"][0]["dead"]) | (change.touched & set(base.sentences.files))
    dead_rows = int(np.isin(base.sentences.file_id, base.sentences.ids_of(base_dead)).sum()) if base_dead else 0
    delta_files = (set(old.segments[1].sentences.files) if len(old.segments) > 1 else set()) - change.touched
    kept = len(old.sentences.rows_of(delta_files))
    if dead_rows + kept + len(change.fresh.table) > settings.compact_share * len(base.sentences):
        return None
    rows = _joined(old, delta_files, change.fresh, change.position)
    base_words = set(base.words)
    old_delta_words = old.segments[1].words if len(old.segments) > 1 else []
    words = list(old_delta_words) + sorted(change.vocabulary - base_words - set(old_delta_words))
    delta = _segment(rows, words, word_vectors(words, embedder, old.lexicon), settings)
    old_gdir = old.root / old.manifest["generation"]
    segments: list[tuple[Segment | Path, set[str]]] = [(old_gdir / base.name, base_dead), (delta, set())]
    return Plan(segments, [base, delta], lexicon)


def _joined(old: Index, files: set[str], fresh: Rows, position: dict[str, int]) -> Rows:
    """The old index's rows of ``files`` joined to the fresh ones, in corpus order; the old chunks' terms
    are counted only where BM25 is searched here (``chunk_terms`` not None)."""
    rows = old.sentences.rows_of(files)
    if not len(rows):
        return fresh
    old_table = old.sentences.take(rows)
    compact = old_table.compacted()
    old_chunk_rows = np.flatnonzero(np.isin(old.chunks.file_id, old.sentences.ids_of(files)))
    old_chunks = old.chunks.take(old_chunk_rows, old_table).renumbered(old_table, compact)
    chunk_terms = None if fresh.chunk_terms is None else [terms(c.text) for c in old_chunks] + fresh.chunk_terms
    table = SentenceTable.concat([compact, fresh.table])
    joined = Rows(
        table,
        ChunkTable.concat([old_chunks, fresh.chunks], table),
        np.vstack([old.sentence_vectors[rows], fresh.vectors]),
        chunk_terms,
    )
    return _in_order(joined, position)


def _segment(rows: Rows, words: list[str], vectors_of_words: np.ndarray, settings: Settings) -> Segment:
    vectors = np.ascontiguousarray(rows.vectors, dtype=np.float32)
    segment = Segment(f"{PREFIX}{uuid.uuid4().hex[:10]}", rows.table, rows.chunks, vectors, words, vectors_of_words)
    if rows.chunk_terms is not None:
        segment.faiss = FaissVectorStore.build(vectors, settings.ivf_above, settings.ivf_probe_share)
        segment.postings = Postings.build(rows.chunk_terms)
    return segment


def _chunk_terms(chunks: ChunkTable, r: int, sentence_terms: list[list[str]]) -> list[str]:
    """A chunk's terms are its sentences' terms in order: words never span the space that joins them."""
    first = chunks.first_row(r)
    return [t for i in range(first, first + int(chunks.last[r]) - int(chunks.first[r]) + 1) for t in sentence_terms[i]]


def _in_order(rows: Rows, position: dict[str, int]) -> Rows:
    """The rows sorted by their file's place in the corpus, then by number."""
    table, chunks = rows.table, rows.chunks
    place = np.array([position.get(f, -1) for f in table.files], dtype=np.int64)
    order = np.lexsort((table.n, place[table.file_id]))
    if np.array_equal(order, np.arange(len(order))):
        return rows
    chunk_order = np.lexsort((chunks.first, place[chunks.file_id]))
    taken = table.take(order)
    ordered = taken.compacted()
    return Rows(
        ordered,
        chunks.take(chunk_order, taken).renumbered(taken, ordered),
        rows.vectors[order],
        [rows.chunk_terms[i] for i in chunk_order.tolist()] if rows.chunk_terms is not None else None,
    )

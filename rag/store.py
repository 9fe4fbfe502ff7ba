"""Build, update, save and load the on-disk index; the manifest refuses to be misread.

Layout: ``index/manifest.json`` names a generation folder ``index/g-<id>/`` holding the sentence and chunk
tables, their vectors, the FAISS file and the BM25 data. A build writes a new generation, then replaces
the manifest atomically, then deletes older generations: a crash at any point leaves the previous index
intact and loadable.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np

from . import __version__
from .config import Settings
from .embed import Embedder
from .ingest import load_documents, make_chunks, split_sentences
from .lexical import content_words, terms
from .types import Chunk, IndexMismatchError, IndexMissingError, RagError, Sentence

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Exact search is fastest below this many chunks; above it an HNSW graph keeps queries sub-linear.
HNSW_ABOVE = 50_000

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Index:
    """A loaded index: tables, vectors, the FAISS index over chunks and BM25 over chunks."""

    root: Path
    manifest: dict[str, Any]
    sentences: list[Sentence]
    chunks: list[Chunk]
    sentence_vectors: np.ndarray
    chunk_vectors: np.ndarray
    faiss_index: faiss.Index
    bm25: bm25s.BM25
    lexicon: Lexicon
    _by_key: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {s.key: i for i, s in enumerate(self.sentences)}

    def sentence(self, file: str, n: int) -> Sentence | None:
        i = self._by_key.get(f"{file}:{n}")
        return None if i is None else self.sentences[i]

    def sentence_row(self, s: Sentence) -> int:
        return self._by_key[s.key]

    def chunk_sentences(self, chunk: Chunk) -> list[Sentence]:
        first = self._by_key[f"{chunk.file}:{chunk.first}"]
        return self.sentences[first : first + chunk.last - chunk.first + 1]

    @property
    def corpus(self) -> Path | None:
        c = self.manifest.get("corpus")
        return Path(c) if c else None


@dataclass
class Lexicon:
    """Corpus statistics for word-level matching: stem document frequencies over sentences, and one
    embedding per distinct content word so a question word can be matched to a paraphrase
    (supplier ~ provider) without running the model over every candidate sentence at query time."""

    n_sentences: int
    df: dict[str, int]
    words: list[str]
    word_vectors: np.ndarray
    _row: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._row = {w: i for i, w in enumerate(self.words)}

    def idf(self, stem: str) -> float:
        # Smoothed so that a term absent from the corpus weighs most, never infinitely.
        return float(np.log((self.n_sentences + 1) / (self.df.get(stem, 0) + 0.5)))

    def rows(self, words: list[str]) -> list[int]:
        return [self._row[w] for w in words if w in self._row]

    @classmethod
    def build(cls, sentences: list[Sentence], embedder: Embedder, old: Lexicon | None) -> Lexicon:
        df: dict[str, int] = {}
        vocab: set[str] = set()
        for s in sentences:
            for t in set(terms(s.text)):
                df[t] = df.get(t, 0) + 1
            vocab.update(content_words(s.text))
        words = sorted(vocab)
        known = old._row if old else {}
        new = [w for w in words if w not in known]
        new_vectors = embedder.embed(new, "document") if new else np.zeros((0, embedder.dim), np.float32)
        vectors = np.zeros((len(words), embedder.dim), dtype=np.float32)
        new_at = {w: i for i, w in enumerate(new)}
        for i, w in enumerate(words):
            vectors[i] = old.word_vectors[known[w]] if old and w in known else new_vectors[new_at[w]]
        return cls(len(sentences), df, words, vectors)


@dataclass(frozen=True)
class BuildReport:
    files: int
    embedded_files: list[str]
    reused_files: int
    removed_files: list[str]
    sentences: int
    chunks: int
    seconds: float
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------ manifest
def read_manifest(root: Path) -> dict[str, Any] | None:
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise IndexMismatchError(f"{path} is unreadable ({e}): run `rag index --rebuild`") from e


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
        diff = ", ".join(f"{k} {built.get(k)!r} -> {v!r}" for k, v in now.items() if built.get(k) != v)
        raise IndexMismatchError(
            f"index at {root} was built with other settings ({diff or 'fingerprint differs'}): "
            "run `rag index --rebuild`, or use the settings it was built with"
        )


# --------------------------------------------------------------------------------------------- build
def build_index(
    corpus: Path,
    root: Path,
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Make ``root`` index ``corpus``: embed only files whose sha256 changed, drop vanished files.

    Raises IndexMismatchError if an existing index has other settings and ``rebuild`` is false."""
    t0 = time.perf_counter()
    corpus, root = Path(corpus), Path(root)
    docs = load_documents(corpus, settings.suffixes)
    old: Index | None = None
    if not rebuild and read_manifest(root) is not None:
        old = load_index(root, settings)
        if old.manifest.get("embedder", {}).get("dim") != embedder.dim:
            raise IndexMismatchError(f"index at {root} has another vector size: run `rag index --rebuild`")

    old_files = old.manifest["files"] if old else {}
    old_rows = _rows_by_file(old) if old else {}
    to_embed = [d for d in docs if old_files.get(d.file, {}).get("sha256") != d.sha256]

    # Split every changed file first, then embed all their texts together: large batches keep the
    # model busy where a corpus has many small files.
    fresh: dict[str, tuple[list[Sentence], list[Chunk]]] = {}
    for doc in to_embed:
        doc_sentences = split_sentences(doc)
        fresh[doc.file] = (doc_sentences, make_chunks(doc_sentences, settings.chunk_sentences, settings.chunk_overlap))
    new_texts = [s.text for ss, _ in fresh.values() for s in ss] + [c.text for _, cs in fresh.values() for c in cs]
    new_vectors = _embed_batched(embedder, new_texts, progress)
    s_at = 0  # next unused row of new sentence vectors; chunk vectors follow all sentence vectors
    c_at = sum(len(ss) for ss, _ in fresh.values())

    sentences: list[Sentence] = []
    chunks: list[Chunk] = []
    svecs: list[np.ndarray] = []
    cvecs: list[np.ndarray] = []
    files: dict[str, dict[str, Any]] = {}
    for doc in docs:
        if doc.file in fresh:
            doc_sentences, doc_chunks = fresh[doc.file]
            s_vec, c_vec = new_vectors[s_at : s_at + len(doc_sentences)], new_vectors[c_at : c_at + len(doc_chunks)]
            s_at, c_at = s_at + len(doc_sentences), c_at + len(doc_chunks)
        else:
            assert old is not None
            s_rows, c_rows = old_rows[doc.file]
            doc_sentences = [old.sentences[i] for i in s_rows]
            doc_chunks = [old.chunks[i] for i in c_rows]
            s_vec, c_vec = old.sentence_vectors[s_rows], old.chunk_vectors[c_rows]
        # Chunk ids are rows of this generation, renumbered as files come and go.
        base = len(chunks)
        chunks.extend(Chunk(base + i, c.file, c.first, c.last, c.text) for i, c in enumerate(doc_chunks))
        sentences.extend(doc_sentences)
        svecs.append(s_vec)
        cvecs.append(c_vec)
        files[doc.file] = {"sha256": doc.sha256, "sentences": len(doc_sentences), "chunks": len(doc_chunks)}

    removed = sorted(set(old_files) - set(files))
    changed = old is None or bool(to_embed) or bool(removed)
    if changed:
        manifest = {
            "format": FORMAT_VERSION,
            "package_version": __version__,
            "embedder": {"id": embedder.id, "dim": embedder.dim},
            "settings": settings.index_shaping(),
            "fingerprint": settings.index_fingerprint(),
            "corpus": str(corpus.resolve()),
            "files": files,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        lexicon = Lexicon.build(sentences, embedder, old.lexicon if old else None)
        _save(root, manifest, sentences, chunks, np.vstack(svecs), np.vstack(cvecs), lexicon)
    return BuildReport(
        files=len(files),
        embedded_files=[d.file for d in to_embed],
        reused_files=len(docs) - len(to_embed),
        removed_files=removed,
        sentences=len(sentences),
        chunks=len(chunks),
        seconds=time.perf_counter() - t0,
        changed=changed,
    )


def _embed_batched(embedder: Embedder, texts: list[str], progress: Progress | None, batch: int = 512) -> np.ndarray:
    parts = []
    for i in range(0, len(texts), batch):
        parts.append(embedder.embed(texts[i : i + batch], "document"))
        if progress:
            progress("embed", min(i + batch, len(texts)), len(texts))
    return np.vstack(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


def _rows_by_file(index: Index) -> dict[str, tuple[list[int], list[int]]]:
    rows: dict[str, tuple[list[int], list[int]]] = {}
    for i, s in enumerate(index.sentences):
        rows.setdefault(s.file, ([], []))[0].append(i)
    for i, c in enumerate(index.chunks):
        rows.setdefault(c.file, ([], []))[1].append(i)
    return rows


def _faiss_for(vectors: np.ndarray) -> faiss.Index:
    dim = vectors.shape[1]
    if len(vectors) > HNSW_ABOVE:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)  # inner product equals cosine on normalised vectors
    index.add(vectors)
    return index


def _bm25_for(chunks: list[Chunk]) -> bm25s.BM25:
    bm25 = bm25s.BM25()
    bm25.index([terms(c.text) or ["∅"] for c in chunks], show_progress=False)
    return bm25


def _save(
    root: Path,
    manifest: dict[str, Any],
    sentences: list[Sentence],
    chunks: list[Chunk],
    sentence_vectors: np.ndarray,
    chunk_vectors: np.ndarray,
    lexicon: Lexicon,
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    generation = f"g-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    gdir = root / generation
    gdir.mkdir()
    try:
        _write_jsonl(gdir / "sentences.jsonl", (asdict(s) for s in sentences))
        _write_jsonl(gdir / "chunks.jsonl", (asdict(c) for c in chunks))
        np.save(gdir / "sentence_vectors.npy", sentence_vectors)
        np.save(gdir / "chunk_vectors.npy", chunk_vectors)
        faiss.write_index(_faiss_for(chunk_vectors), str(gdir / "chunks.faiss"))
        _bm25_for(chunks).save(str(gdir / "bm25"))
        lex = {"n_sentences": lexicon.n_sentences, "df": lexicon.df, "words": lexicon.words}
        (gdir / "lexicon.json").write_text(json.dumps(lex, ensure_ascii=False), encoding="utf-8")
        np.save(gdir / "word_vectors.npy", lexicon.word_vectors)
        _fsync_tree(gdir)
        manifest = {**manifest, "generation": generation}
        write_atomic(root / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    except BaseException:
        shutil.rmtree(gdir, ignore_errors=True)
        raise
    for stale in root.glob("g-*"):
        if stale.name != generation and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    log.info("index written to %s (%s)", root, generation)


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_jsonl(path: Path, rows: Any) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())


# ---------------------------------------------------------------------------------------------- load
def load_index(root: Path, settings: Settings) -> Index:
    """Load the index at ``root``, refusing one whose format or fingerprint differs from ``settings``."""
    root = Path(root)
    manifest = read_manifest(root)
    if manifest is None:
        raise IndexMissingError(f"no index at {root}: run `rag index FOLDER` (or `rag ask` with --corpus) first")
    check_manifest(manifest, settings, root)
    gdir = root / manifest.get("generation", "")
    try:
        sentences = [Sentence(**row) for row in _read_jsonl(gdir / "sentences.jsonl")]
        chunks = [Chunk(**row) for row in _read_jsonl(gdir / "chunks.jsonl")]
        sentence_vectors = np.load(gdir / "sentence_vectors.npy")
        chunk_vectors = np.load(gdir / "chunk_vectors.npy")
        faiss_index = faiss.read_index(str(gdir / "chunks.faiss"))
        bm25 = bm25s.BM25.load(str(gdir / "bm25"))
        lex = json.loads((gdir / "lexicon.json").read_text(encoding="utf-8"))
        lexicon = Lexicon(lex["n_sentences"], lex["df"], lex["words"], np.load(gdir / "word_vectors.npy"))
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:
        raise IndexMismatchError(f"index at {root} is damaged ({e}): run `rag index --rebuild`") from e
    if len(sentence_vectors) != len(sentences) or faiss_index.ntotal != len(chunks):
        raise IndexMismatchError(f"index at {root} is inconsistent: run `rag index --rebuild`")
    return Index(root, manifest, sentences, chunks, sentence_vectors, chunk_vectors, faiss_index, bm25, lexicon)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


__all__ = ["BuildReport", "Index", "RagError", "build_index", "load_index", "read_manifest", "write_atomic"]

"""Build, update, save and load the on-disk index; the manifest refuses to be misread.

Layout: ``index/manifest.json`` names a generation folder ``index/g-<id>/`` holding the sentence and chunk
tables, the sentence vectors, the FAISS file, the BM25 data and the lexicon, each with its size and
sha256 in the manifest. A build takes ``index/.lock``, writes a new generation, replaces the manifest
atomically, then prunes all but the new and the previous generation: a crash at any point leaves a
loadable index, and a reader that read the previous manifest a moment ago still finds its files.

Only sentences are embedded. Dense retrieval searches sentence vectors and ranks a chunk by its two
best sentences (see ``rag.retrieve``): fused with BM25 that ranks the dev gold passages as well as
embedding whole chunks did (MRR 0.78 against 0.77), and each sentence is embedded once instead of once
alone plus once per overlapping chunk.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np
from filelock import FileLock, Timeout

from . import __version__
from .config import Settings
from .conflicts import scan as scan_conflicts
from .embed import Embedder, for_index
from .extract import EXTRACT_VERSION, Extractor
from .ingest import (
    Skipped,
    SourceFile,
    file_sha256,
    make_chunks,
    no_text_message,
    read_document,
    scan_corpus,
    split_sentences,
)
from .lexical import content_words, terms
from .types import (
    Chunk,
    Citation,
    CorpusError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    RagError,
    Sentence,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: conflicts.jsonl
MANIFEST = "manifest.json"
LOCK = ".lock"
TEXTS = "texts"  # per generation: the extracted text of each PDF, HTML and Word file
_ABOUT = ("format", "extractor", "title", "date")  # what the manifest records about an extracted file
# What rag itself puts in an index folder; a folder holding anything else is not ours to write into.
_OWN_NAMES = {MANIFEST, LOCK, ".gitkeep"}

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Index:
    """A loaded index: tables, sentence vectors, the FAISS index over sentences and BM25 over chunks."""

    root: Path
    manifest: dict[str, Any]
    sentences: list[Sentence]
    chunks: list[Chunk]
    sentence_vectors: np.ndarray
    faiss_index: faiss.Index
    bm25: bm25s.BM25
    lexicon: Lexicon
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # rows of rag.conflicts.scan
    _by_key: dict[str, int] = field(default_factory=dict, repr=False)
    _chunks_of: list[list[int]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {s.key: i for i, s in enumerate(self.sentences)}
        self._chunks_of = [[] for _ in self.sentences]
        for c in self.chunks:
            rows = self.chunk_rows(c)
            for row in range(rows.start, rows.stop):
                self._chunks_of[row].append(c.id)

    def sentence(self, file: str, n: int) -> Sentence | None:
        i = self._by_key.get(f"{file}:{n}")
        return None if i is None else self.sentences[i]

    def sentence_row(self, s: Sentence) -> int:
        return self._by_key[s.key]

    def chunks_of(self, sentence_row: int) -> list[int]:
        """Rows of the chunks holding a sentence (two where chunks overlap)."""
        return self._chunks_of[sentence_row]

    def chunk_rows(self, chunk: Chunk) -> slice:
        """The rows of a chunk's sentences (a file's sentences are stored contiguously, in order)."""
        first = self._by_key[f"{chunk.file}:{chunk.first}"]
        return slice(first, first + chunk.last - chunk.first + 1)

    def chunk_sentences(self, chunk: Chunk) -> list[Sentence]:
        return self.sentences[self.chunk_rows(chunk)]

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


@dataclass
class Lexicon:
    """Corpus statistics for word-level matching: stem document frequencies over sentences, and one
    embedding per distinct content word so a question word can be matched to a paraphrase
    (supplier ~ provider) without running the model over every candidate sentence at query time.
    (One vector per stem, of its commonest spelling, saves a quarter of the words but matched
    "supplier" to "provide" instead of "provider" and lost the first quick-start answer.)"""

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

    def vector(self, word: str) -> np.ndarray | None:
        row = self._row.get(word)
        return None if row is None else self.word_vectors[row]

    @classmethod
    def build(cls, sentences: list[Sentence], embedder: Embedder, old: Lexicon | None) -> Lexicon:
        df: dict[str, int] = {}
        vocab: set[str] = set()
        for s in sentences:
            for t in set(terms(s.text)):
                df[t] = df.get(t, 0) + 1
            # Numbers and one-letter tokens match exactly or not at all; a vector for them would cost
            # model time and only invite "2019" ~ "2020".
            vocab.update(w for w in content_words(s.text) if len(w) > 1 and not any(c.isdigit() for c in w))
        words = sorted(vocab)
        known = old._row if old else {}
        new = [w for w in words if w not in known]
        new_vectors = _embed_words(embedder, new)
        vectors = np.zeros((len(words), embedder.dim), dtype=np.float32)
        new_at = {w: i for i, w in enumerate(new)}
        for i, w in enumerate(words):
            vectors[i] = old.word_vectors[known[w]] if old and w in known else new_vectors[new_at[w]]
        return cls(len(sentences), df, words, vectors)


def _embed_words(embedder: Embedder, words: list[str]) -> np.ndarray:
    return embedder.embed(words, "document") if words else np.zeros((0, embedder.dim), np.float32)


@dataclass(frozen=True)
class BuildReport:
    files: int
    embedded_files: list[str]
    reused_files: int
    removed_files: list[str]
    skipped: list[Skipped]  # every file under the corpus folder that is not indexed, with the reason
    decoded: dict[str, str]  # file -> the encoding it was decoded from, when it was not UTF-8
    sentences: int
    chunks: int
    embedded_texts: int  # distinct sentence texts sent to the model in this build
    seconds: float
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------ manifest
class NotAnIndexError(IndexMismatchError):
    """The folder or its manifest belongs to something else: rebuilding must not overwrite it."""


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest at ``root``, or None when there is none; refuses one that is not rag's."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IndexMismatchError(f"{path} is unreadable ({e}): run `rag index --rebuild`") from e
    if not isinstance(manifest, dict) or "format" not in manifest or "generation" not in manifest:
        raise NotAnIndexError(
            f"{path} is not a rag index manifest: point --index-dir at an empty or new folder, or remove that file"
        )
    return manifest


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


def check_folder_is_ours(root: Path, rebuild: bool = False) -> None:
    """Refuse to write into a folder that holds files rag did not put there (a typo in --index-dir
    must never turn someone's folder into an index, nor prune it). A garbled manifest among our own
    files is ours to replace when rebuilding."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise IndexMismatchError(f"index path {root} is a file, not a folder: choose another --index-dir")
    if not root.is_dir():
        return
    foreign = sorted(
        p.name for p in root.iterdir()
        if p.name not in _OWN_NAMES and not (p.is_dir() and p.name.startswith("g-")) and not p.name.startswith(f".{MANIFEST}.")
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise NotAnIndexError(f"{root} is not a rag index (it holds {shown}): point --index-dir at an empty or new folder")
    try:
        read_manifest(root)
    except NotAnIndexError:
        raise
    except IndexMismatchError:
        if not rebuild:
            raise


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

    One writer at a time: a second build waits for ``index/.lock`` up to ``settings.lock_timeout``
    seconds, then raises IndexLockedError. Raises IndexMismatchError if an existing index has other
    settings and ``rebuild`` is false, CorpusError if the folder holds nothing to index."""
    return build_and_load(corpus, root, settings, embedder, rebuild=rebuild, progress=progress)[0]


def build_and_load(
    corpus: Path,
    root: Path,
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> tuple[BuildReport, Index]:
    """``build_index``, and the index it leaves: when nothing changed, the one it read to compare with,
    so an up-to-date index is read from disk once."""
    t0 = time.perf_counter()
    corpus, root = Path(corpus), Path(root)
    scan = scan_corpus(corpus, settings.suffixes, int(settings.max_file_mb * 1_000_000))
    check_folder_is_ours(root, rebuild)
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root, settings.lock_timeout):
        report, old = _build_locked(corpus, root, settings, embedder, scan.files, list(scan.skipped), rebuild, progress, t0)
        return report, (old if old is not None and not report.changed else load_index(root, settings))


@contextmanager
def _locked(root: Path, timeout: float) -> Iterator[None]:
    """Hold ``root/.lock`` (an OS file lock: released by the kernel if this process dies)."""
    lock = FileLock(str(root / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("another rag process is updating %s: waiting up to %.0fs for it", root, timeout)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise IndexLockedError(
                f"another rag process is still updating {root} after {timeout:.0f}s: let it finish and retry, "
                "or raise lock_timeout"
            ) from None
    try:
        yield
    finally:
        lock.release()


def _build_locked(
    corpus: Path,
    root: Path,
    settings: Settings,
    embedder: Embedder,
    sources: list[SourceFile],
    skipped: list[Skipped],
    rebuild: bool,
    progress: Progress | None,
    t0: float,
) -> tuple[BuildReport, Index | None]:
    embedder = for_index(embedder)  # torch: the index never depends on how questions are embedded
    old: Index | None = None
    if not rebuild and read_manifest(root) is not None:
        old = load_index(root, settings)
        if old.manifest.get("embedder", {}).get("dim") != embedder.dim:
            raise IndexMismatchError(f"index at {root} has another vector size: run `rag index --rebuild`")

    old_files = old.manifest["files"] if old else {}
    old_rows = _rows_by_file(old) if old else {}
    fresh: dict[str, tuple[list[Sentence], list[Chunk]]] = {}
    decoded: dict[str, str] = {}
    described: dict[str, dict[str, Any]] = {}  # file -> format, extractor, title, date of an extracted document
    extracted: dict[str, str | Path] = {}  # sha256 -> extracted text, or the old generation's copy of it
    with Extractor(settings.parse_timeout) as extractor:
        for src in sources:
            if _unchanged(old_files.get(src.file), src):
                if old is not None and old_files[src.file].get("format", "text") != "text":
                    extracted[src.sha256] = old.text_path(src.sha256)
                continue
            # One changed file in memory at a time: only its sentences (and extracted text) are kept.
            doc = read_document(src, extractor)
            if isinstance(doc, Skipped):
                skipped.append(doc)
                continue
            doc_sentences = split_sentences(doc)
            fresh[doc.file] = (doc_sentences, make_chunks(doc_sentences, settings.chunk_sentences, settings.chunk_overlap))
            if doc.encoding != "utf-8":
                decoded[doc.file] = doc.encoding
            if doc.format != "text":
                extracted[src.sha256] = doc.text
                about: dict[str, Any] = {"format": doc.format, "extractor": EXTRACT_VERSION, "title": doc.title, "date": doc.date}
                described[doc.file] = {k: v for k, v in about.items() if v}
    indexed = [src for src in sources if src.file in fresh or _unchanged(old_files.get(src.file), src)]
    if not indexed:
        why = "; ".join(f"{s.file}: {s.reason}" for s in skipped[:3])
        raise CorpusError(no_text_message(corpus, settings.suffixes) + (f" (skipped {why})" if why else ""))

    new_texts = [s.text for ss, _ in fresh.values() for s in ss]
    new_vectors, n_embedded = _embed_distinct(embedder, new_texts, progress)
    at = 0  # next unused row of new_vectors
    sentences: list[Sentence] = []
    chunks: list[Chunk] = []
    vectors: list[np.ndarray] = []
    files: dict[str, dict[str, Any]] = {}
    for src in indexed:
        if src.file in fresh:
            doc_sentences, doc_chunks = fresh[src.file]
            vectors.append(new_vectors[at : at + len(doc_sentences)])
            at += len(doc_sentences)
        else:
            assert old is not None
            s_rows, c_rows = old_rows[src.file]
            doc_sentences = [old.sentences[i] for i in s_rows]
            doc_chunks = [old.chunks[i] for i in c_rows]
            vectors.append(old.sentence_vectors[s_rows])
        # Chunk ids are rows of this generation, renumbered as files come and go.
        base = len(chunks)
        chunks.extend(Chunk(base + i, c.file, c.first, c.last, c.text) for i, c in enumerate(doc_chunks))
        sentences.extend(doc_sentences)
        files[src.file] = {"sha256": src.sha256, "sentences": len(doc_sentences), "chunks": len(doc_chunks)}
        encoding = decoded.get(src.file) or old_files.get(src.file, {}).get("encoding")
        if encoding:
            files[src.file]["encoding"] = encoding
        if src.file in fresh:
            files[src.file].update(described.get(src.file, {}))
        else:
            files[src.file].update({k: v for k, v in old_files[src.file].items() if k in _ABOUT})

    removed = sorted(set(old_files) - set(files))
    changed = old is None or bool(fresh) or bool(removed)
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
        all_vectors = np.vstack(vectors) if vectors else np.zeros((0, embedder.dim), np.float32)
        lexicon = Lexicon.build(sentences, embedder, old.lexicon if old else None)
        search = faiss_for(all_vectors, settings.ivf_above)
        conflicts = scan_conflicts(sentences, all_vectors, set(fresh) | set(removed), old.conflicts if old else None)
        _save(root, manifest, sentences, chunks, all_vectors, search, lexicon, conflicts, extracted, old.manifest["generation"] if old else None)
    report = BuildReport(
        files=len(files),
        embedded_files=list(fresh),
        reused_files=len(indexed) - len(fresh),
        removed_files=removed,
        skipped=sorted(skipped, key=lambda s: s.file),
        decoded=decoded,
        sentences=len(sentences),
        chunks=len(chunks),
        embedded_texts=n_embedded,
        seconds=time.perf_counter() - t0,
        changed=changed,
    )
    return report, old


def _unchanged(entry: dict[str, Any] | None, src: SourceFile) -> bool:
    """The index holds this file as it is now: same content and, if extracted, by this extractor."""
    if entry is None or entry.get("sha256") != src.sha256:
        return False
    return entry.get("format", "text") == "text" or entry.get("extractor") == EXTRACT_VERSION


def _embed_distinct(embedder: Embedder, texts: list[str], progress: Progress | None, batch: int = 1024) -> tuple[np.ndarray, int]:
    """Vectors for ``texts``, each distinct text embedded once (boilerplate lines repeat across files),
    in large batches so the model stays busy where a corpus has many small files."""
    distinct = list(dict.fromkeys(texts))
    parts = []
    for i in range(0, len(distinct), batch):
        parts.append(embedder.embed(distinct[i : i + batch], "document"))
        if progress:
            progress("embed", min(i + batch, len(distinct)), len(distinct))
    if not parts:
        return np.zeros((0, embedder.dim), dtype=np.float32), 0
    vectors = np.vstack(parts)
    if len(distinct) == len(texts):
        return vectors, len(distinct)
    row = {t: i for i, t in enumerate(distinct)}
    return vectors[[row[t] for t in texts]], len(distinct)


def _rows_by_file(index: Index) -> dict[str, tuple[list[int], list[int]]]:
    rows: dict[str, tuple[list[int], list[int]]] = {}
    for i, s in enumerate(index.sentences):
        rows.setdefault(s.file, ([], []))[0].append(i)
    for i, c in enumerate(index.chunks):
        rows.setdefault(c.file, ([], []))[1].append(i)
    return rows


def faiss_for(vectors: np.ndarray, ivf_above: int) -> faiss.Index:
    """Exact inner-product search (cosine on normalised vectors) up to ``ivf_above`` vectors; past it an
    inverted-file index, whose search cost grows with sqrt(n) and which trains in seconds, unlike a graph."""
    n, dim = vectors.shape
    index: faiss.Index
    if n <= ivf_above:
        index = faiss.IndexFlatIP(dim)
    else:
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, int(math.sqrt(n)), faiss.METRIC_INNER_PRODUCT)
        ivf.cp.max_points_per_centroid = 64  # a 64-per-list sample trains as well, several times faster
        ivf.train(vectors)
        index = ivf
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
    search: faiss.Index,
    lexicon: Lexicon,
    conflicts: list[dict[str, Any]],
    extracted: dict[str, str | Path],
    previous: str | None,
) -> None:
    generation = f"g-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    gdir = root / generation
    gdir.mkdir()
    try:
        _write_jsonl(gdir / "sentences.jsonl", (_sentence_row(s) for s in sentences))
        _write_texts(gdir / TEXTS, extracted)
        _write_jsonl(gdir / "chunks.jsonl", (asdict(c) for c in chunks))
        np.save(gdir / "sentence_vectors.npy", sentence_vectors)
        faiss.write_index(search, str(gdir / "sentences.faiss"))
        _write_jsonl(gdir / "conflicts.jsonl", conflicts)
        _bm25_for(chunks).save(str(gdir / "bm25"))
        lex = {"n_sentences": lexicon.n_sentences, "df": lexicon.df, "words": lexicon.words}
        (gdir / "lexicon.json").write_text(json.dumps(lex, ensure_ascii=False), encoding="utf-8")
        np.save(gdir / "word_vectors.npy", lexicon.word_vectors)
        checksums = _fsync_and_sum(gdir)
        manifest = {**manifest, "generation": generation, "checksums": checksums}
        write_atomic(root / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    except BaseException:
        shutil.rmtree(gdir, ignore_errors=True)
        raise
    # Keep the previous generation: a reader that read the old manifest just before the swap loads it.
    # Anything else is older, or the leftover of a build that was killed before it could clean up.
    for stale in root.glob("g-*"):
        if stale.name not in {generation, previous} and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    log.info("index written to %s (%s)", root, generation)


def _sentence_row(s: Sentence) -> dict[str, Any]:
    """A sentence as stored: the page and heading flag only where they say something."""
    row = asdict(s)
    if s.page is None:
        del row["page"]
    if not s.heading:
        del row["heading"]
    return row


def _write_texts(folder: Path, extracted: dict[str, str | Path]) -> None:
    """The extracted text of each PDF, HTML and Word file, named by the file's sha256, so a citation's
    span always resolves; an unchanged file's text is linked from the previous generation, not copied."""
    folder.mkdir()
    for sha, text in extracted.items():
        target = folder / f"{sha}.txt"
        if isinstance(text, Path):
            try:
                os.link(text, target)
            except OSError:
                shutil.copyfile(text, target)
        else:
            target.write_text(text, encoding="utf-8")


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


def _fsync_and_sum(folder: Path) -> dict[str, dict[str, Any]]:
    """fsync every file of a generation and record its size and sha256 for the load-time check."""
    sums = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())
            sums[p.relative_to(folder).as_posix()] = {"size": p.stat().st_size, "sha256": file_sha256(p)}
    return sums


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
    gdir = root / manifest["generation"]
    damaged = f"index at {root} is damaged"
    for name, want in manifest.get("checksums", {}).items():
        path = gdir / name
        size = path.stat().st_size  # FileNotFoundError goes to the caller: maybe a generation swap
        if size != want["size"] or file_sha256(path) != want["sha256"]:
            raise IndexMismatchError(f"{damaged} ({name} does not match its checksum): run `rag index --rebuild`")
    try:
        sentences = [Sentence(**row) for row in _read_jsonl(gdir / "sentences.jsonl")]
        chunks = [Chunk(**row) for row in _read_jsonl(gdir / "chunks.jsonl")]
        sentence_vectors = np.load(gdir / "sentence_vectors.npy")
        faiss_index = faiss.read_index(str(gdir / "sentences.faiss"))
        if isinstance(faiss_index, faiss.IndexIVF):
            faiss_index.nprobe = max(1, math.ceil(faiss_index.nlist * settings.ivf_probe_share))
        bm25 = bm25s.BM25.load(str(gdir / "bm25"))
        lex = json.loads((gdir / "lexicon.json").read_text(encoding="utf-8"))
        lexicon = Lexicon(lex["n_sentences"], lex["df"], lex["words"], np.load(gdir / "word_vectors.npy"))
        conflicts = _read_jsonl(gdir / "conflicts.jsonl")
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:
        raise IndexMismatchError(f"{damaged} ({e}): run `rag index --rebuild`") from e
    if len(sentence_vectors) != len(sentences) or faiss_index.ntotal != len(sentences):
        raise IndexMismatchError(f"index at {root} is inconsistent: run `rag index --rebuild`")
    try:
        return Index(root, manifest, sentences, chunks, sentence_vectors, faiss_index, bm25, lexicon, conflicts)
    except KeyError as e:
        raise IndexMismatchError(f"{damaged} (chunk table names sentence {e}): run `rag index --rebuild`") from e


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


__all__ = ["BuildReport", "Index", "Lexicon", "RagError", "build_and_load", "build_index", "faiss_for", "load_index", "read_manifest", "write_atomic"]

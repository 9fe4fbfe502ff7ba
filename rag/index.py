"""The loaded index and its manifest: what a generation folder holds, read back and refused when it was
built in another format, with other settings, or has been damaged since.

Layout: ``index/manifest.json`` names a generation folder ``index/g-<id>/`` holding the sentence and chunk
tables, the sentence vectors, the vector store, the BM25 data, the lexicon and the conflicts, each with
its size and sha256 in the manifest. Writing it is ``rag.build``'s job; the lock, atomic writes and
checksums are ``rag.disk``'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import Settings
from .disk import check_sums, read_jsonl, read_manifest
from .lexical import Bm25Store, LexicalStore, Lexicon
from .types import Chunk, Citation, IndexMismatchError, IndexMissingError, Sentence
from .vectors import FaissVectorStore, VectorStore

FORMAT_VERSION = 4  # 3: conflicts.jsonl; 4: a chunk's row is stored as "row"
TEXTS = "texts"  # per generation: the extracted text of each PDF, HTML and Word file


@dataclass
@dataclass
class Index:
    """A loaded index: tables, sentence vectors, the vector store over sentences and BM25 over chunks."""

    root: Path
    manifest: dict[str, Any]
    sentences: list[Sentence]
    chunks: list[Chunk]
    sentence_vectors: np.ndarray
    vector_store: VectorStore
    bm25: LexicalStore
    lexicon: Lexicon
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # rows of rag.conflicts.scan
    _by_key: dict[str, int] = field(default_factory=dict, repr=False)
    _chunks_of: list[list[int]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {s.key: i for i, s in enumerate(self.sentences)}
        self._chunks_of = [[] for _ in self.sentences]
        for c in self.chunks:
            rows = self.sentence_rows(c)
            for row in range(rows.start, rows.stop):
                self._chunks_of[row].append(c.row)

    def sentence(self, file: str, n: int) -> Sentence | None:
        i = self._by_key.get(f"{file}:{n}")
        return None if i is None else self.sentences[i]

    def sentence_row(self, s: Sentence) -> int:
        return self._by_key[s.key]

    def chunks_of(self, sentence_row: int) -> list[int]:
        """Rows of the chunks holding a sentence (two where chunks overlap)."""
        return self._chunks_of[sentence_row]

    def sentence_rows(self, chunk: Chunk) -> slice:
        """The rows of a chunk's sentences (a file's sentences are stored contiguously, in order)."""
        first = self._by_key[f"{chunk.file}:{chunk.first}"]
        return slice(first, first + chunk.last - chunk.first + 1)

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
        diff = ", ".join(f"{k} {built.get(k)!r} -> {now.get(k)!r}" for k in dict.fromkeys([*built, *now]) if built.get(k) != now.get(k))
        same = f" (--store {built.get('store', 'faiss')})" if built.get("store") != now.get("store") else ""
        raise IndexMismatchError(
            f"index at {root} was built with other settings ({diff or 'fingerprint differs'}): "
            f"run `rag index --rebuild`, or use the settings it was built with{same}"
        )



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
    check_sums(gdir, manifest.get("checksums", {}), damaged)
    try:
        sentences = [Sentence(**row) for row in read_jsonl(gdir / "sentences.jsonl")]
        chunks = [Chunk(**row) for row in read_jsonl(gdir / "chunks.jsonl")]
        sentence_vectors = np.load(gdir / "sentence_vectors.npy", mmap_mode="r")  # read as pages are touched, shared between processes
        vector_store, bm25 = _stores(gdir, settings)
        lex = json.loads((gdir / "lexicon.json").read_text(encoding="utf-8"))
        lexicon = Lexicon(lex["n_sentences"], lex["df"], lex["words"], np.load(gdir / "word_vectors.npy", mmap_mode="r"))
        conflicts = read_jsonl(gdir / "conflicts.jsonl")
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:
        raise IndexMismatchError(f"{damaged} ({e}): run `rag index --rebuild`") from e
    if len(sentence_vectors) != len(sentences) or vector_store.count != len(sentences):
        raise IndexMismatchError(f"index at {root} is inconsistent: run `rag index --rebuild`")
    try:
        return Index(root, manifest, sentences, chunks, sentence_vectors, vector_store, bm25, lexicon, conflicts)
    except KeyError as e:
        raise IndexMismatchError(f"{damaged} (chunk table names sentence {e}): run `rag index --rebuild`") from e



def _stores(gdir: Path, settings: Settings) -> tuple[VectorStore, LexicalStore]:
    """The generation's vector and BM25 stores: in its folder, or on the Milvus server it records."""
    from .milvus_store import MILVUS_FILE

    if (gdir / MILVUS_FILE).is_file():
        from .milvus_store import stores

        return stores(gdir, settings.milvus_uri, settings.ivf_probe_share)
    return FaissVectorStore.load(gdir, settings.ivf_probe_share), Bm25Store.load(gdir)

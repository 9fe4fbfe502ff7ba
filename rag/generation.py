"""Writing one generation folder of the index, then swapping the manifest to it (see ``rag.build``)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .disk import MANIFEST, fsync_and_sum, write_atomic, write_jsonl
from .index import TEXTS
from .lexical import LexicalStore, Lexicon
from .types import Chunk, Sentence
from .vectors import VectorStore

log = logging.getLogger(__name__)


def write_generation(
    root: Path,
    manifest: dict[str, Any],
    sentences: list[Sentence],
    chunks: list[Chunk],
    sentence_vectors: np.ndarray,
    vector_store: VectorStore,
    bm25: LexicalStore,
    lexicon: Lexicon,
    conflicts: list[dict[str, Any]],
    extracted: dict[str, str | Path],
    previous: str | None,
) -> dict[str, Any]:
    """Write the generation, swap the manifest to it, prune older ones; the manifest as written."""
    generation = f"g-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    gdir = root / generation
    gdir.mkdir()
    try:
        write_jsonl(gdir / "sentences.jsonl", (_sentence_row(s) for s in sentences))
        _write_texts(gdir / TEXTS, extracted)
        write_jsonl(gdir / "chunks.jsonl", (asdict(c) for c in chunks))
        np.save(gdir / "sentence_vectors.npy", sentence_vectors)
        vector_store.save(gdir)
        write_jsonl(gdir / "conflicts.jsonl", conflicts)
        bm25.save(gdir)
        lex = {"n_sentences": lexicon.n_sentences, "df": lexicon.df, "words": lexicon.words}
        (gdir / "lexicon.json").write_text(json.dumps(lex, ensure_ascii=False), encoding="utf-8")
        np.save(gdir / "word_vectors.npy", lexicon.word_vectors)
        checksums = fsync_and_sum(gdir)
        manifest = {**manifest, "generation": generation, "checksums": checksums}
        write_atomic(root / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    except BaseException:
        _remove(gdir)
        raise
    # Keep the previous generation: a reader that read the old manifest just before the swap loads it.
    # Anything else is older, or the leftover of a build that was killed before it could clean up.
    for stale in root.glob("g-*"):
        if stale.name not in {generation, previous} and stale.is_dir():
            _remove(stale)
    log.info("index written to %s (%s)", root, generation)
    return manifest


def _remove(gdir: Path) -> None:
    """A generation folder gone, with the Milvus collections it names, if any."""
    from .milvus_store import drop

    drop(gdir)  # nothing to do for a FAISS generation
    shutil.rmtree(gdir, ignore_errors=True)


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



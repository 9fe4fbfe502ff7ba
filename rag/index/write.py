"""Writing one generation folder of the index, then swapping the manifest to it (see ``rag.build``)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from rag.index.disk import MANIFEST, fsync_and_sum, write_atomic, write_jsonl
from rag.index.loaded import LEXICON, SUBJECTS, TEXTS
from rag.index.segments import Segment, link_segment, segment_entry, write_segment

log = logging.getLogger(__name__)


def write_generation(
    root: Path,
    manifest: dict[str, Any],
    segments: list[tuple[Segment | Path, set[str]]],
    lexicon: dict[str, Any],
    conflicts: list[dict[str, Any]],
    subjects: dict[str, list[str]],
    extracted: dict[str, str | Path],
    previous: dict[str, Any] | None,
    milvus: tuple[Any, Any] | None = None,  # Milvus's vector and BM25 stores, each with a save()
) -> dict[str, Any]:
    """Write the generation, swap the manifest to it, prune older ones; the manifest as written.

    ``segments``: (a segment to write, or the folder of one of the previous generation's to link, with
    the files dead in it). A linked segment's checksums are the previous manifest's: it is not read."""
    generation = f"g-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    gdir = root / generation
    gdir.mkdir()
    try:
        if milvus is not None:
            for store in milvus:
                store.save(gdir)  # the vector store first: it records what it makes
        entries, carried = [], {}
        for segment, dead in segments:
            if isinstance(segment, Path):
                link_segment(segment, gdir / segment.name)
                old_sums = previous["checksums"] if previous else {}
                carried.update({k: v for k, v in old_sums.items() if k.startswith(segment.name + "/")})
            else:
                write_segment(gdir / segment.name, segment)
            entries.append(segment_entry(segment.name, dead))
        _write_texts(gdir / TEXTS, extracted)
        write_jsonl(gdir / "conflicts.jsonl", conflicts)
        (gdir / SUBJECTS).write_text(json.dumps(subjects, ensure_ascii=False), encoding="utf-8")
        (gdir / LEXICON).write_text(json.dumps(lexicon, ensure_ascii=False), encoding="utf-8")
        checksums = {**fsync_and_sum(gdir, skip=set(carried)), **carried}
        manifest = {
            **manifest,
            "generation": generation,
            "segments": entries,
            "checksums": dict(sorted(checksums.items())),
        }
        write_atomic(root / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    except BaseException:
        _remove(gdir)
        raise
    # Keep the previous generation: a reader that read the old manifest just before the swap loads it.
    # Anything else is older, or the leftover of a build that was killed before it could clean up.
    keep = {generation, previous["generation"] if previous else None}
    for stale in root.glob("g-*"):
        if stale.name not in keep and stale.is_dir():
            _remove(stale)
    log.info("index written to %s (%s)", root, generation)
    return manifest


def _remove(gdir: Path) -> None:
    """A generation folder gone, with the Milvus collections it names, if any."""
    from rag.index.milvus import drop

    drop(gdir)  # nothing to do for a FAISS generation
    shutil.rmtree(gdir, ignore_errors=True)


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

"""Updates that write only what changed (rag/index/segments.py), on the seeds with the real model: the base
segment is linked, not rewritten; dead rows are never found; answers match a build from scratch; our
BM25 scores as bm25s does; a damaged base is still refused."""

import json
import shutil

import bm25s
import numpy as np
import pytest

from rag.assistant import Assistant
from rag.build import build_and_load, build_index
from rag.index import load_index
from rag.text.words import terms
from rag.types import IndexMismatchError

from .conftest import SEEDS

EDITED = "001_c3bc2e358454ff8d.txt"
REMOVED = "003_b07c8982edb83533.txt"


@pytest.fixture
def own_corpus(tmp_path):
    path = tmp_path / "corpus"
    shutil.copytree(SEEDS, path)
    return path


@pytest.fixture
def updating(settings):
    """Settings under which a one-file change of the seeds is an update, not a full write (the seeds are
    so small that one file is over the default share)."""
    return settings.replace(compact_share=0.9)


def _segment_files(root):
    manifest = json.loads((root / "manifest.json").read_text())
    gdir = root / manifest["generation"]
    return manifest, {
        e["name"]: {p.name: p.stat().st_ino for p in (gdir / e["name"]).iterdir()} for e in manifest["segments"]
    }


def test_an_update_links_the_base_writes_only_the_change_and_answers_as_a_fresh_build(
    tmp_path, own_corpus, updating, embedder, dev
):
    root = tmp_path / "ix"
    build_index(own_corpus, root, updating, embedder)
    _, before = _segment_files(root)
    ((base_name, base_files),) = before.items()

    path = own_corpus / EDITED
    path.write_text(
        path.read_text(encoding="utf-8") + "\nThe partnership was reviewed again in 2025.\n", encoding="utf-8"
    )
    report, index = build_and_load(own_corpus, root, updating, embedder)
    assert report.embedded_files == [EDITED]
    manifest, after = _segment_files(root)
    assert [e["name"] for e in manifest["segments"]][0] == base_name and len(manifest["segments"]) == 2
    assert after[base_name] == base_files  # the same inodes: linked, not copied or rewritten
    assert manifest["segments"][0]["dead"] == [EDITED]
    delta = manifest["segments"][1]["name"]
    assert json.loads((root / manifest["generation"] / delta / "files.json").read_text()) == [EDITED]

    # The edited file's rows are the new ones; its old rows are nowhere.
    assert index.sentence(EDITED, 24).text == "The partnership was reviewed again in 2025."
    assert len(index.sentences) == report.sentences == 156 and index.vector_store.count == 156
    assert [c.row for c in index.chunks] == list(range(len(index.chunks)))
    assert index.lexicon.n_sentences == 156
    loaded = load_index(root, updating)
    fresh_root = tmp_path / "fresh"
    build_index(own_corpus, fresh_root, updating, embedder)
    fresh = load_index(fresh_root, updating)
    assert sorted(s.key for s in loaded.sentences) == sorted(s.key for s in fresh.sentences)
    assert loaded.lexicon.df == fresh.lexicon.df and set(loaded.lexicon.words) >= set(fresh.lexicon.words)

    # Every dev question gets the answer and citations a build from scratch gives.
    updated, scratch = Assistant.from_index(root, updating), Assistant.from_index(fresh_root, updating)
    for case in dev:
        a, b = updated.ask(case["question"]), scratch.ask(case["question"])
        assert (a.abstained, a.text, [c.key for c in a.citations]) == (
            b.abstained,
            b.text,
            [c.key for c in b.citations],
        ), case["question"]


def test_dead_rows_are_never_found_and_a_second_update_rewrites_only_the_second_segment(
    tmp_path, own_corpus, updating, embedder
):
    root = tmp_path / "ix"
    build_index(own_corpus, root, updating, embedder)
    old = load_index(root, updating)
    old_text = old.sentence(EDITED, 5).text
    path = own_corpus / EDITED
    path.write_text(path.read_text(encoding="utf-8").replace(old_text, "Nothing about that here."), encoding="utf-8")
    build_index(own_corpus, root, updating, embedder)
    (own_corpus / REMOVED).unlink()
    report, index = build_and_load(own_corpus, root, updating, embedder)
    assert report.removed_files == [REMOVED] and report.embedded_files == []
    manifest = index.manifest
    assert len(manifest["segments"]) == 2 and manifest["segments"][0]["dead"] == sorted([EDITED, REMOVED])
    assert json.loads((root / manifest["generation"] / manifest["segments"][1]["name"] / "files.json").read_text()) == [
        EDITED
    ]
    assert not any(s.file == REMOVED for s in index.sentences)

    # The removed file's sentences and the edited sentence are searched for by their own vectors and
    # words: neither search returns them, and every row it returns is a live one.
    gone_vectors = np.stack([old.sentence_vectors[old.sentence_row(s)] for s in old.sentences if s.file == REMOVED][:5])
    scores, rows = index.vector_store.search(gone_vectors, 10)
    assert (rows >= 0).all() and (rows < len(index.sentences)).all()
    assert not any(index.sentences[int(r)].file == REMOVED for r in rows.ravel())
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    for row in index.bm25.ranked(old_text, 20):
        assert index.chunks[row].file != REMOVED and old_text not in index.chunks[row].text
    assert index.sentence(EDITED, 5).text == "Nothing about that here."


def test_past_the_share_an_update_writes_one_segment_again(tmp_path, own_corpus, updating, settings, embedder):
    root = tmp_path / "ix"
    build_index(own_corpus, root, updating, embedder)
    (own_corpus / REMOVED).unlink()
    build_index(own_corpus, root, updating, embedder)
    assert len(load_index(root, updating).manifest["segments"]) == 2
    path = own_corpus / EDITED
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    _, index = build_and_load(own_corpus, root, settings, embedder)  # default share: over it
    (entry,) = index.manifest["segments"]
    assert entry["dead"] == [] and len(index.segments) == 1
    assert sorted({s.file for s in index.sentences}) == sorted(p.name for p in own_corpus.iterdir())


def test_our_bm25_ranks_the_live_chunks_as_bm25s_does(tmp_path, own_corpus, updating, embedder, dev):
    root = tmp_path / "ix"
    build_index(own_corpus, root, updating, embedder)
    (own_corpus / REMOVED).unlink()
    _, index = build_and_load(own_corpus, root, updating, embedder)
    reference = bm25s.BM25()
    reference.index([terms(c.text) or ["∅"] for c in index.chunks], show_progress=False)
    for case in dev:
        query = terms(case["question"])
        ours, theirs = index.bm25.scores(query), reference.get_scores(query)
        assert np.allclose(ours, theirs, rtol=1e-5, atol=1e-6), case["question"]


def test_a_damaged_linked_base_is_refused_with_the_rebuild_hint(tmp_path, own_corpus, updating, embedder):
    root = tmp_path / "ix"
    build_index(own_corpus, root, updating, embedder)
    (own_corpus / REMOVED).unlink()
    build_index(own_corpus, root, updating, embedder)
    manifest = json.loads((root / "manifest.json").read_text())
    vectors = root / manifest["generation"] / manifest["segments"][0]["name"] / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-3] ^= 0xFF
    vectors.unlink()  # a new file: the previous generation's link keeps the old bytes
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexMismatchError, match="rag index --rebuild"):
        load_index(root, updating)

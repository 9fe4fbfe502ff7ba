import json
import shutil

import numpy as np
import pytest

from rag import index as store
from rag.build import build_index
from rag.config import Settings
from rag.index import load_index
from rag.index import write as generation
from rag.types import IndexMismatchError, IndexMissingError

from .conftest import SEEDS
from .fake_embedder import HashingEmbedder


class CountingEmbedder:
    """An embedder, with a record of every text it was asked to embed."""

    def __init__(self, inner):
        self.inner, self.id, self.dim, self.texts = inner, inner.id, inner.dim, []

    def embed(self, texts, kind="document"):
        self.texts.extend(texts)
        return self.inner.embed(texts, kind)


@pytest.fixture
def own_corpus(tmp_path):
    path = tmp_path / "own_corpus"
    shutil.copytree(SEEDS, path)
    return path


def test_reindex_embeds_only_changed_files_and_drops_vanished_ones(tmp_path, own_corpus, settings):
    # Pure bookkeeping: a hashing embedder stands in for the model.
    embedder = HashingEmbedder()
    root = tmp_path / "index"
    first = build_index(own_corpus, root, settings, embedder)
    assert first.files == 5 and len(first.embedded_files) == 5 and first.sentences == 155
    before = load_index(root, settings)

    spy = CountingEmbedder(embedder)
    again = build_index(own_corpus, root, settings, spy)
    assert not again.changed and spy.texts == []

    touched = own_corpus / "001_c3bc2e358454ff8d.txt"
    touched.write_text(touched.read_text(encoding="utf-8") + "\nA freshly added closing sentence.\n", encoding="utf-8")
    report = build_index(own_corpus, root, settings, spy)
    assert report.embedded_files == ["001_c3bc2e358454ff8d.txt"] and report.reused_files == 4
    touched_texts = {s.text for s in load_index(root, settings).sentences if s.file == touched.name}
    # Only that file's sentences, chunks and new words went through the model.
    assert "A freshly added closing sentence." in spy.texts
    other_sentences = {s.text for s in before.sentences if s.file != touched.name}
    assert not other_sentences & (set(spy.texts) - touched_texts)

    after = load_index(root, settings)
    assert after.sentence("001_c3bc2e358454ff8d.txt", 24).text == "A freshly added closing sentence."
    untouched = [i for i, s in enumerate(after.sentences) if s.file.startswith("003")]
    old_rows = [i for i, s in enumerate(before.sentences) if s.file.startswith("003")]
    assert np.array_equal(after.sentence_vectors[untouched], before.sentence_vectors[old_rows])

    report_generation = after.manifest["generation"]
    (own_corpus / "002_05a0c26973c8719c.txt").unlink()
    spy.texts.clear()
    report = build_index(own_corpus, root, settings, spy)
    assert report.removed_files == ["002_05a0c26973c8719c.txt"] and report.embedded_files == [] and spy.texts == []
    gone = load_index(root, settings)
    assert all(c.file != "002_05a0c26973c8719c.txt" for c in gone.chunks)
    assert gone.vector_store.faiss.ntotal == len(gone.sentences) == report.sentences
    assert [c.row for c in gone.chunks] == list(range(len(gone.chunks)))
    # Three builds: the newest generation and the one before it stay (a reader may be loading it).
    assert sorted(p.name for p in root.glob("g-*")) == sorted([gone.manifest["generation"], report_generation])


@pytest.mark.parametrize(
    "change, named",
    [
        ({"chunk_sentences": 4}, "chunk_sentences 3 -> 4"),
        ({"embedder": "sentence-transformers/all-MiniLM-L6-v2"}, "embedder"),
    ],
)
def test_mismatched_settings_are_refused_with_the_fix(index_dir, settings, change, named):
    with pytest.raises(IndexMismatchError) as e:
        load_index(index_dir, settings.replace(**change))
    assert named in str(e.value) and "rag index --rebuild" in str(e.value)


def test_rebuild_is_required_to_change_settings(tmp_path, own_corpus, settings, embedder):
    root = tmp_path / "index"
    build_index(own_corpus, root, settings, embedder)
    other = settings.replace(chunk_sentences=4, chunk_overlap=1)
    with pytest.raises(IndexMismatchError):
        build_index(own_corpus, root, other, embedder)
    report = build_index(own_corpus, root, other, embedder, rebuild=True)
    assert report.changed and load_index(root, other).chunks[0].last == 4


def test_other_format_and_missing_index_are_refused(tmp_path, index_dir, settings):
    with pytest.raises(IndexMissingError, match="rag index"):
        load_index(tmp_path / "none", settings)
    copy = tmp_path / "copy"
    shutil.copytree(index_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(IndexMismatchError, match="format 99"):
        load_index(copy, settings)


def test_a_crash_while_writing_leaves_the_old_index_whole(tmp_path, own_corpus, settings, embedder, monkeypatch):
    root = tmp_path / "index"
    build_index(own_corpus, root, settings, embedder)
    manifest = (root / "manifest.json").read_text()
    (own_corpus / "004_eb31616d18b8ddb5.txt").write_text("Entirely new content. Nothing else.", encoding="utf-8")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(generation, "write_atomic", boom)  # the manifest swap, the last step of a build
    with pytest.raises(OSError, match="disk full"):
        build_index(own_corpus, root, settings, embedder)
    assert (root / "manifest.json").read_text() == manifest
    assert len(list(root.glob("g-*"))) == 1
    old = load_index(root, settings)
    assert any("once-strong alliance" in s.text for s in old.sentences)


def test_settings_validation_names_the_field():
    from rag.types import ConfigError

    with pytest.raises(ConfigError, match="chunk_overlap must be smaller"):
        Settings.load(chunk_sentences=2, chunk_overlap=2)
    with pytest.raises(ConfigError, match="invalid setting k"):
        Settings.load(k=0)


@pytest.mark.slow
def test_past_ivf_above_the_index_is_approximate_and_still_finds_the_gold(tmp_path, corpus, settings, embedder, dev):
    small = settings.replace(ivf_above=100, ivf_probe_share=0.3)  # the seeds' 155 sentences are "large" here
    build_index(corpus, tmp_path / "ix", small, embedder)
    index = load_index(tmp_path / "ix", small)
    assert type(index.vector_store.faiss).__name__ == "IndexIVFFlat" and index.vector_store.faiss.nprobe == 4
    exact = store.faiss_for(index.sentence_vectors, ivf_above=10**9)
    questions = [q["question"] for q in dev]
    vectors = embedder.embed(questions, "query")
    _, want = exact.search(vectors, 10)
    _, got = index.vector_store.faiss.search(vectors, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want, got)])
    assert 0.5 < recall <= 1.0  # approximate: 4 of 12 lists searched
    index.vector_store.faiss.nprobe = index.vector_store.faiss.nlist
    _, every = index.vector_store.faiss.search(vectors, 10)
    assert (every == want).all()  # searching every list is exact

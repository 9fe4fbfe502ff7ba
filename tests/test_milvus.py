"""``store = "milvus"``: the seeds indexed into a real Milvus server (milvus-lite, started once per test
run on a free loopback port) answer the dev questions as the FAISS index does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pymilvus", reason="the milvus extra: pip install -e '.[milvus]'")

from rag.assistant import Assistant  # noqa: E402
from rag.build import build_index
from rag.index import load_index  # noqa: E402
from rag.index.milvus import free_port, local_server  # noqa: E402
from rag.types import ConfigError, IndexMismatchError, StoreError  # noqa: E402


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory):
    try:
        with local_server(tmp_path_factory.mktemp("milvus")) as uri:
            yield uri
    except ConfigError as e:
        if "not installed" in str(e):
            pytest.skip(str(e))
        raise


@pytest.fixture(scope="session")
def milvus_index(tmp_path_factory, corpus, settings, embedder, milvus_uri) -> Path:
    path = tmp_path_factory.mktemp("milvus-index") / "index"
    build_index(corpus, path, settings.replace(store="milvus", milvus_uri=milvus_uri), embedder)
    return path


def test_the_dev_questions_get_the_same_answers_on_milvus_as_on_faiss(milvus_index, assistant, settings, dev):
    on_milvus = Assistant.from_index(milvus_index, settings.replace(store="milvus"))
    assert type(on_milvus.index.vector_store).__name__ == "MilvusVectorStore"
    gdir = milvus_index / on_milvus.index.manifest["generation"]
    (segment,) = on_milvus.index.manifest["segments"]
    assert (gdir / segment["name"] / "vectors.npy").is_file() and not (
        gdir / segment["name"] / "sentences.faiss"
    ).exists()
    for case in dev:
        a, b = assistant.ask(case["question"]), on_milvus.ask(case["question"])
        assert (b.abstained, b.text) == (a.abstained, a.text), case["question"]
        assert [c.key for c in b.citations] == [c.key for c in a.citations]


def test_both_searches_run_in_the_engine_and_rank_as_faiss_and_bm25s_do(milvus_index, assistant, settings):
    on_milvus = load_index(milvus_index, settings.replace(store="milvus"))
    vector = assistant.embedder.embed(["How much did Microsoft invest in OpenAI in total?"], "query")
    (faiss_rows,) = assistant.index.vector_store.search(vector, 10)[1]
    (milvus_rows,) = on_milvus.vector_store.search(vector, 10)[1]
    assert list(milvus_rows) == list(faiss_rows)
    question = "Which company bought Windsurf's intellectual property?"
    assert on_milvus.bm25.ranked(question, 10)[:5] == assistant.index.bm25.ranked(question, 10)[:5]


def test_an_index_on_milvus_opens_on_milvus_without_the_flag(milvus_index, settings):
    """The store and the URI recorded with the index are used; load_index alone, given another store,
    still refuses."""
    opened = Assistant.from_index(milvus_index, settings)
    assert settings.store == "faiss" and type(opened.index.vector_store).__name__ == "MilvusVectorStore"
    assert opened.ask("What is Stargate?").citations
    with pytest.raises(IndexMismatchError, match=r"store 'milvus' -> None.*\(--store milvus\)"):
        load_index(milvus_index, settings)


def test_an_update_drops_the_collections_of_pruned_generations(tmp_path, corpus, settings, embedder, milvus_uri):
    from pymilvus import MilvusClient

    docs = tmp_path / "docs"
    shutil.copytree(corpus, docs)
    root = tmp_path / "index"
    on_milvus = settings.replace(store="milvus", milvus_uri=milvus_uri)
    generations = []
    for i in range(3):
        (docs / "note.txt").write_text(
            f"Edition {i} of the note says the meeting moved to room {i + 10}.\n", encoding="utf-8"
        )
        build_index(docs, root, on_milvus, embedder)
        generations.append(load_index(root, on_milvus).manifest["generation"])
    names = set(MilvusClient(uri=milvus_uri).list_collections())
    mine = {n for n in names if any(g.replace("-", "_") in n for g in generations)}
    # The current and the previous generation stay (a reader may still be on the previous one).
    assert mine == {f"rag_{g.replace('-', '_')}_{part}" for g in generations[1:] for part in ("sentences", "chunks")}
    answer = Assistant.from_index(root, on_milvus).ask("Which room did the meeting move to?")
    assert "room 12" in answer.text


def test_a_collection_gone_from_the_server_asks_for_a_rebuild(tmp_path, corpus, settings, embedder, milvus_uri):
    from pymilvus import MilvusClient

    root = tmp_path / "index"
    on_milvus = settings.replace(store="milvus", milvus_uri=milvus_uri)
    build_index(corpus, root, on_milvus, embedder)
    generation = load_index(root, on_milvus).manifest["generation"]
    MilvusClient(uri=milvus_uri).drop_collection(f"rag_{generation.replace('-', '_')}_chunks")
    with pytest.raises(IndexMismatchError, match="rag index --rebuild"):
        load_index(root, on_milvus)


def test_an_unreachable_server_is_one_clear_error(milvus_index, settings):
    port = free_port()  # nothing listens there
    with pytest.raises(StoreError, match="cannot reach Milvus.*milvus-lite server"):
        load_index(milvus_index, settings.replace(store="milvus", milvus_uri=f"http://127.0.0.1:{port}"))


def test_a_server_gone_after_loading_is_one_typed_error(tmp_path, corpus, settings, embedder):
    root = tmp_path / "index"
    with local_server(tmp_path / "data") as uri:
        on_milvus = settings.replace(store="milvus", milvus_uri=uri)
        build_index(corpus, root, on_milvus, embedder)
        assistant = Assistant.from_index(root, on_milvus)
        assert not assistant.ask("Who was meant to be OpenAI's only supplier of computing resources?").abstained
    with pytest.raises(StoreError, match="cannot reach Milvus"):
        assistant.ask("Who was meant to be OpenAI's only supplier of computing resources?")

"""Questions embedded without torch: the ONNX export matches torch, the index does not depend on it, a
cold `rag ask` never imports torch, and a failed check keeps torch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.embed import SentenceTransformerEmbedder, _minilm_path
from rag.onnx_embed import MIN_COSINE, OnnxEmbedder, QueryFastEmbedder, cache_dir, checked
from rag.store import build_index, load_index

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How much did Microsoft first invest in OpenAI?"


def test_the_export_gives_torchs_vectors_on_the_seeds(index_dir, settings, embedder):
    folder = cache_dir(settings.embedder, _minilm_path() / "model.safetensors")
    assert checked(folder) is True  # exported and checked by the session's first index build
    verdict = json.loads((folder / "check.json").read_text())
    assert verdict["ok"] and verdict["min_cosine"] >= MIN_COSINE and verdict["texts"] > 100
    index = load_index(index_dir, settings)
    onnx = OnnxEmbedder(folder, _minilm_path(), settings.embedder)
    texts = [s.text for s in index.sentences]
    assert float((onnx.embed(texts) * index.sentence_vectors).sum(1).min()) >= MIN_COSINE
    q_torch = embedder.embed([QUESTION], "query")
    assert float((onnx.embed([QUESTION], "query") * q_torch).sum()) >= MIN_COSINE


def test_the_index_is_the_same_whichever_embedder_built_it(tmp_path, corpus, settings, embedder):
    plain = SentenceTransformerEmbedder(settings.embedder)
    build_index(corpus, tmp_path / "a", settings, embedder)  # a QueryFastEmbedder: builds with torch
    build_index(corpus, tmp_path / "b", settings, plain)
    a, b = load_index(tmp_path / "a", settings), load_index(tmp_path / "b", settings)
    assert np.array_equal(a.sentence_vectors, b.sentence_vectors)
    assert np.array_equal(a.lexicon.word_vectors, b.lexicon.word_vectors)


@pytest.mark.slow
def test_a_cold_ask_answers_without_importing_torch(tmp_path, index_dir):
    script = (
        "import sys\n"
        "from rag.assistant import Assistant\n"
        f"a = Assistant.open({str(index_dir)!r})\n"
        f"answer = a.ask({QUESTION!r})\n"
        "print(answer.text)\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=os.environ, timeout=120)
    assert out.returncode == 0, out.stderr
    text, imported = out.stdout.strip().splitlines()
    assert "$1 billion" in text and imported == "False False"


def test_a_failed_check_keeps_questions_on_torch(tmp_path, monkeypatch, settings):
    monkeypatch.setenv("RAG_ONNX_DIR", str(tmp_path))
    folder = cache_dir(settings.embedder, _minilm_path() / "model.safetensors")
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"not a model")
    (folder / "check.json").write_text(json.dumps({"ok": False, "min_cosine": 0.91, "texts": 10}))
    loaded = []
    e = QueryFastEmbedder(settings.embedder, _minilm_path(), None, lambda: loaded.append(1) or SentenceTransformerEmbedder(settings.embedder))
    assert loaded == [1] and e.embed([QUESTION], "query").shape == (1, 384)

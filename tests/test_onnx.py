"""The ONNX export: it matches torch, indexes are embedded by it whichever embedder a caller holds (and an
older torch-embedded index stays torch), a cold `rag ask` never imports torch, and a failed check keeps
torch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.build import build_index
from rag.embed.embedder import SentenceTransformerEmbedder, _minilm_path
from rag.embed.onnx_model import MIN_COSINE, OnnxEmbedder, QueryFastEmbedder, cache_dir, checked
from rag.index import load_index

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
    """A known model's index is embedded by its checked ONNX export, whether the caller holds the
    assistant's embedder or a plain torch one, and an update keeps the runtime its index recorded."""
    plain = SentenceTransformerEmbedder(settings.embedder)
    build_index(corpus, tmp_path / "a", settings, embedder)
    build_index(corpus, tmp_path / "b", settings, plain)
    a, b = load_index(tmp_path / "a", settings), load_index(tmp_path / "b", settings)
    assert a.manifest["embedder"]["runtime"] == b.manifest["embedder"]["runtime"] == "onnx"
    assert np.array_equal(a.sentence_vectors, b.sentence_vectors)
    assert np.array_equal(a.lexicon.word_vectors, b.lexicon.word_vectors)
    # The vectors are the model's: torch's own vectors of the same sentences agree to MIN_COSINE.
    texts = [s.text for s in a.sentences]
    assert float((plain.embed(texts) * a.sentence_vectors).sum(1).min()) >= MIN_COSINE


def test_an_index_embedded_by_torch_is_updated_by_torch(tmp_path, corpus, settings, embedder):
    """An index from before runtimes were recorded (torch) is updated with torch, so it never mixes."""
    import shutil

    root, files = tmp_path / "index", tmp_path / "corpus"
    shutil.copytree(corpus, files)
    build_index(files, root, settings, embedder)
    manifest = json.loads((root / "manifest.json").read_text())
    del manifest["embedder"]["runtime"]
    (root / "manifest.json").write_text(json.dumps(manifest))
    first = sorted(files.glob("*.txt"))[0]
    first.write_text(first.read_text() + "\nThe committee met again in March to review the plan.\n")
    build_index(files, root, settings, embedder)
    index = load_index(root, settings)
    assert index.manifest["embedder"]["runtime"] == "torch"
    rows = [i for i, s in enumerate(index.sentences) if s.file == first.name]
    assert index.sentences[rows[-1]].text.startswith("The committee met again")
    # The update embedded this file's sentences in one call; torch given the same call gives the same bits.
    texts = list(dict.fromkeys(index.sentences[i].text for i in rows))
    by_torch = SentenceTransformerEmbedder(settings.embedder).embed(texts)
    assert np.array_equal(index.sentence_vectors[rows], by_torch[[texts.index(index.sentences[i].text) for i in rows]])


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
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=os.environ, timeout=120
    )
    assert out.returncode == 0, out.stderr
    *text, imported = out.stdout.strip().splitlines()  # the phrase that answers may take a line of its own
    assert "$1 billion" in "\n".join(text) and imported == "False False"


def test_an_onnx_index_is_updated_where_no_export_is_cached_yet(tmp_path, monkeypatch, corpus, settings, embedder):
    """An index built elsewhere (or before the cache was cleared) is updated by exporting again here."""
    import shutil

    files, root = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(corpus, files)
    build_index(files, root, settings, embedder)
    monkeypatch.setenv("RAG_ONNX_DIR", str(tmp_path / "empty-cache"))
    here = QueryFastEmbedder(
        settings.embedder, _minilm_path(), None, lambda: SentenceTransformerEmbedder(settings.embedder)
    )
    first = sorted(files.glob("*.txt"))[0]
    first.write_text(first.read_text() + "\nThe committee met again in March to review the plan.\n")
    build_index(files, root, settings, here)
    assert checked(here.folder) is True and load_index(root, settings).manifest["embedder"]["runtime"] == "onnx"


@pytest.mark.slow
def test_an_update_from_the_command_line_never_imports_torch(tmp_path, corpus, settings, embedder):
    import shutil

    files, root = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(corpus, files)
    build_index(files, root, settings, embedder)
    first = sorted(files.glob("*.txt"))[0]
    first.write_text(first.read_text() + "\nThe committee met again in March to review the plan.\n")
    script = (
        "import sys\n"
        "from rag.cli.main import app\n"
        f"sys.argv = ['rag', 'index', {str(files)!r}, '--index-dir', {str(root)!r}]\n"
        "try:\n"
        "    app()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=os.environ, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False False"
    assert any(s.text.startswith("The committee met again") for s in load_index(root, settings).sentences)


def test_a_failed_check_keeps_questions_on_torch(tmp_path, monkeypatch, settings):
    monkeypatch.setenv("RAG_ONNX_DIR", str(tmp_path))
    folder = cache_dir(settings.embedder, _minilm_path() / "model.safetensors")
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"not a model")
    (folder / "check.json").write_text(json.dumps({"ok": False, "min_cosine": 0.91, "texts": 10}))
    loaded = []
    e = QueryFastEmbedder(
        settings.embedder,
        _minilm_path(),
        None,
        lambda: loaded.append(1) or SentenceTransformerEmbedder(settings.embedder),
    )
    assert loaded == [1] and e.embed([QUESTION], "query").shape == (1, 384)

"""Shared fixtures: the real embedding model and a real index of the seed articles, built once per session."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.build import build_index
from rag.config import Settings
from rag.embed.embedder import load_embedder

# The ONNX question embedder is exported by the session's first index build into a folder of its own,
# not the user's cache: each run proves the export and its check (rag/embed/onnx_model.py).
os.environ["RAG_ONNX_DIR"] = tempfile.mkdtemp(prefix="rag-onnx-")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# The dev set the tests read: a copy of the team's ../shared/eval/dev.jsonl, so a clone is self-contained.
# tests/test_answer.py fails if the team's file, where present, has moved on from this copy.
DEV = Path(__file__).parent / "data" / "dev.jsonl"
TEAM_DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


# The fast tier (`pytest -m fast`), for the inner loop: modules of pure logic and of questions to the one
# shared seeds index. The default run adds the modules that build indexes of their own, kill processes
# and start servers; `-m slow` holds the slowest of those (IVF and Milvus indexes, local LLMs).
FAST_MODULES = frozenset(
    {
        "test_answer",
        "test_answerer",
        "test_blocks",
        "test_pdf_layout",
        "test_claims",
        "test_cli",
        "test_conflicts",
        "test_followup",
        "test_ingest",
        "test_layout",
        "test_llm",
        "test_llm_checks",
        "test_models",
        "test_premise",
        "test_properties",
        "test_reader",
        "test_source_wording",
        "test_tables",
        "test_verify",
    }
)


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] in FAST_MODULES and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.fast)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def embedder(settings):
    return load_embedder(settings.embedder, settings.threads, settings.batch_size)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """A private copy of the seeds, so no test touches the working tree."""
    path = tmp_path_factory.mktemp("corpus") / "seeds"
    shutil.copytree(SEEDS, path)
    return path


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, corpus, settings, embedder) -> Path:
    path = tmp_path_factory.mktemp("index") / "index"
    build_index(corpus, path, settings, embedder)
    return path


@pytest.fixture(scope="session")
def assistant(index_dir, settings) -> Assistant:
    return Assistant.from_index(index_dir, settings)


@pytest.fixture(scope="session")
def dev_path() -> Path:
    return DEV


@pytest.fixture(scope="session")
def dev(dev_path) -> list[dict]:
    return [json.loads(line) for line in dev_path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def server():
    """A real local OpenAI-compatible server (tests/chat_server.py) answering as each test scripts it."""
    from .chat_server import ChatServer

    s = ChatServer()
    yield s
    s.close()


@pytest.fixture
def llm(server, assistant):
    """An assistant maker whose LLM answerer talks to ``server`` through the real ``openai`` client."""
    server.requests.clear()

    def make(**changes):
        base = {
            "generator": "openai",
            "model": "test-model",
            "base_url": server.base_url,
            "api_key": "test-key",
            "max_retries": 2,
            "timeout": 5.0,
        }
        settings = assistant.settings.replace(**{**base, **changes})
        return Assistant(assistant.index, assistant.embedder, settings)

    return make

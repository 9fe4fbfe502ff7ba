"""Shared fixtures: the real embedding model and a real index of the seed articles, built once per session."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.config import Settings
from rag.embed import load_embedder
from rag.store import build_index

# The ONNX question embedder is exported by the session's first index build into a folder of its own,
# not the user's cache: each run proves the export and its check (rag/onnx_embed.py).
os.environ["RAG_ONNX_DIR"] = tempfile.mkdtemp(prefix="rag-onnx-")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# The dev set the tests read: a copy of the team's ../shared/eval/dev.jsonl, so a clone is self-contained.
# tests/test_answer.py fails if the team's file, where present, has moved on from this copy.
DEV = Path(__file__).parent / "data" / "dev.jsonl"
TEAM_DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


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

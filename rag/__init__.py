"""Answers questions about a folder of articles, citing the exact source sentence behind every sentence."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "AnswerSentence",
    "Assistant",
    "Citation",
    "ConfigError",
    "CorpusError",
    "GeneratorError",
    "Hit",
    "IndexLockedError",
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
        AnswerSentence,
        Citation,
        ConfigError,
        CorpusError,
        GeneratorError,
        Hit,
        IndexLockedError,
        IndexMismatchError,
        IndexMissingError,
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

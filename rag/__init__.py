"""Answers questions about a folder of articles, citing the exact source sentence behind every sentence."""

__version__ = "0.1.0"

from .assistant import Assistant
from .config import Settings
from .types import (
    Answer,
    AnswerSentence,
    Citation,
    ConfigError,
    CorpusError,
    GeneratorError,
    Hit,
    IndexMismatchError,
    IndexMissingError,
    InputError,
    RagError,
    Sentence,
)

__all__ = [
    "Answer",
    "AnswerSentence",
    "Assistant",
    "Citation",
    "ConfigError",
    "CorpusError",
    "GeneratorError",
    "Hit",
    "IndexMismatchError",
    "IndexMissingError",
    "InputError",
    "RagError",
    "Sentence",
    "Settings",
]

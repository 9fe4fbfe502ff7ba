"""The answerer seam: one protocol that the extractive and the LLM answerers implement, and the factory
that picks one from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from .config import Settings
from .embed import Embedder
from .extractive import ExtractiveAnswerer
from .index import Index
from .rank import Evidence
from .scorer import AnswerScorer
from .types import Answer, AnswerSentence


class Answerer(Protocol):
    name: str

    def answer(self, question: str, evidence: Evidence, id: str | None = None) -> Answer:
        """A cited answer from the evidence, or a declined one with the reason in ``notes``."""
        ...

    def stream(self, question: str, evidence: Evidence, id: str | None = None) -> Iterator[AnswerSentence | Answer]:
        """Each checked answer sentence as soon as it is ready, then the whole ``Answer``."""
        ...


def make_answerer(settings: Settings, index: Index, embedder: Embedder, scorer: AnswerScorer) -> Answerer:
    extractive = ExtractiveAnswerer(settings, index, scorer)
    if settings.generator == "extractive":
        return extractive
    from .llm_answer import LLMAnswerer  # the openai client loads only when an LLM answers

    return LLMAnswerer(settings, index, embedder, fallback=extractive)

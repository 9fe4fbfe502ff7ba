"""The answerer seam: one protocol that the extractive and the LLM answerers implement, and the factory
that picks one from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from rag.answer.extractive import ExtractiveAnswerer
from rag.config import Settings
from rag.embed.embedder import Embedder
from rag.index.loaded import Index
from rag.rank.rerank import Evidence
from rag.rank.scorer import AnswerScorer
from rag.types import Answer, AnswerSentence


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
    from rag.answer.llm import LLMAnswerer  # the openai client loads only when an LLM answers

    return LLMAnswerer(settings, index, embedder, fallback=extractive)

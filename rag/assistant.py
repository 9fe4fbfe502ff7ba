"""The library facade: ``Assistant.from_dir("seeds").ask("...")`` -> a cited ``Answer``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .config import Settings
from .embed import Embedder, load_embedder
from .extractive import Extract, answer_extractive
from .llm_answer import Checked, LLMAnswerer, no_supported_sentence_note
from .retrieve import retrieve
from .store import BuildReport, Index, Progress, build_index, load_index, read_manifest
from .types import Answer, AnswerSentence, Hit, InputError

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


class Assistant:
    """Answers questions over one index. Build it with ``from_dir`` (indexes the folder first, embedding
    only what changed) or ``from_index`` (loads an existing index as it is)."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings, build_report: BuildReport | None = None):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.build_report = build_report
        self._generator: LLMAnswerer | None = None  # created on first use: extractive answers need no client

    @classmethod
    def from_dir(
        cls,
        corpus: str | Path = "seeds",
        index_dir: str | Path = "index",
        settings: Settings | None = None,
        *,
        rebuild: bool = False,
        progress: Progress | None = None,
    ) -> Assistant:
        settings = settings or Settings.load()
        embedder = load_embedder(settings.embedder, settings.threads, settings.batch_size)
        report = build_index(Path(corpus), Path(index_dir), settings, embedder, rebuild=rebuild, progress=progress)
        return cls(load_index(Path(index_dir), settings), embedder, settings, report)

    @classmethod
    def from_index(cls, index_dir: str | Path = "index", settings: Settings | None = None) -> Assistant:
        settings = settings or Settings.load()
        index = load_index(Path(index_dir), settings)  # refuses a mismatch before the model loads
        return cls(index, load_embedder(settings.embedder, settings.threads, settings.batch_size), settings)

    @classmethod
    def open(
        cls,
        index_dir: str | Path = "index",
        corpus: str | Path | None = None,
        settings: Settings | None = None,
        *,
        progress: Progress | None = None,
    ) -> Assistant:
        """What the CLI does: bring the index up to date with its corpus (``corpus``, else the one it was
        built from, else ``seeds``), or load it as it is when that folder is gone."""
        if corpus is None:
            manifest = read_manifest(Path(index_dir))
            corpus = Path(manifest["corpus"]) if manifest and manifest.get("corpus") else Path("seeds")
            if manifest is not None and not Path(corpus).is_dir():
                log.warning("corpus %s is gone: answering from the index as it is", corpus)
                return cls.from_index(index_dir, settings)
        return cls.from_dir(corpus, index_dir, settings, progress=progress)

    def ask(self, question: str, id: str | None = None, k: int | None = None) -> Answer:
        """Answer one question with checked sentence citations, or abstain."""
        question, query_vector, hits, timings = self._retrieve(question, k)
        t = time.perf_counter()
        if self.settings.generator == "extractive":
            ex = self._extract(question, query_vector, hits)
            sentences = tuple(AnswerSentence(c.text, (c,)) for c in ex.citations)
            notes = (ex.reason,) if ex.reason else ()
            answer = Answer(question, sentences, ex.abstained, tuple(hits), id, "extractive", notes)
        else:
            answer = self._llm_answer(question, query_vector, hits, id)
        timings["answer"] = time.perf_counter() - t
        timings["total"] = sum(timings.values())
        return Answer(**{**answer.__dict__, "timings": timings})

    def _retrieve(self, question: str, k: int | None) -> tuple[str, np.ndarray, list[Hit], dict[str, float]]:
        """Clean the question, embed it, fetch its passages; shared by ``ask`` and ``ask_stream``."""
        question = _clean(question)
        t0 = time.perf_counter()
        query_vector = self.embedder.embed([question], "query")[0]
        t1 = time.perf_counter()
        s = self.settings
        hits = retrieve(self.index, question, query_vector, k or s.k, s.fetch_factor, s.rrf_k)
        return question, query_vector, hits, {"embed": t1 - t0, "retrieve": time.perf_counter() - t1}

    def _extract(self, question: str, query_vector: np.ndarray, hits: list[Hit]) -> Extract:
        s = self.settings
        return answer_extractive(
            question, query_vector, hits, self.index, self.embedder, s.abstain_below, s.max_answer_sentences, s.answer_margin
        )

    def ask_many(self, questions: Iterable[str | tuple[str, str]], k: int | None = None) -> Iterator[Answer]:
        """Answer questions in order; items are questions or ``(id, question)`` pairs."""
        for i, item in enumerate(questions, 1):
            qid, q = item if isinstance(item, tuple) else (str(i), item)
            yield self.ask(q, id=qid, k=k)

    def _llm_answer(self, question: str, query_vector: np.ndarray, hits: list[Hit], id: str | None) -> Answer:
        result = self._llm().answer(question, hits)
        return self._llm_result(question, query_vector, hits, id, result)

    def ask_stream(self, question: str, id: str | None = None, k: int | None = None) -> Iterator[AnswerSentence | Answer]:
        """Yield each checked answer sentence as the generator finishes it, then the whole Answer.
        The extractive generator yields its sentences at once."""
        if self.settings.generator == "extractive":
            answer = self.ask(question, id, k)
            yield from answer.sentences
            yield answer
            return
        question, query_vector, hits, timings = self._retrieve(question, k)
        t = time.perf_counter()
        result = Checked()
        yield from self._llm().stream(question, hits, result)
        answer = self._llm_result(question, query_vector, hits, id, result)
        timings["answer"] = time.perf_counter() - t
        timings["total"] = sum(timings.values())
        yield Answer(**{**answer.__dict__, "timings": timings})

    def _llm(self) -> LLMAnswerer:
        if self._generator is None:
            self._generator = LLMAnswerer(self.settings, self.index, self.embedder)
        return self._generator

    def _llm_result(self, question: str, query_vector: np.ndarray, hits: list[Hit], id: str | None, result: Checked) -> Answer:
        name = self.settings.generator
        supported = [s for s in result.sentences if s.citations]
        if result.said_no_answer and not result.sentences:
            return Answer(question, (), True, tuple(hits), id, name, ("the model found no answer in the passages",))
        if supported:
            return Answer(question, tuple(result.sentences), False, tuple(hits), id, name, tuple(result.notes))
        ex = self._extract(question, query_vector, hits)
        notes = (*result.notes, no_supported_sentence_note(result, name), *((ex.reason,) if ex.reason else ()))
        sentences = tuple(AnswerSentence(c.text, (c,)) for c in ex.citations)
        return Answer(question, sentences, ex.abstained, tuple(hits), id, "extractive", notes, fallback=True)


def _clean(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty: ask something about the articles")
    question = " ".join(question.split())
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(question)} characters long: keep it under {MAX_QUESTION_CHARS}")
    return question

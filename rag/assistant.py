"""The library facade: ``Assistant.from_dir("seeds").ask("...")`` -> a cited ``Answer``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .config import Settings
from .embed import Embedder, load_embedder
from .extractive import answer_extractive
from .retrieve import retrieve
from .store import BuildReport, Index, Progress, build_index, load_index, read_manifest
from .types import Answer, AnswerSentence, InputError

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
        self._generator = None  # created on first use: the API client is not needed for extractive answers

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
        question = _clean(question)
        k = k or self.settings.k
        t0 = time.perf_counter()
        query_vector = self.embedder.embed([question], "query")[0]
        t1 = time.perf_counter()
        hits = retrieve(self.index, question, query_vector, k, self.settings.fetch_factor, self.settings.rrf_k)
        t2 = time.perf_counter()
        s = self.settings
        if s.generator == "extractive":
            ex = answer_extractive(
                question, query_vector, hits, self.index, self.embedder,
                s.abstain_below, s.max_answer_sentences, s.answer_margin,
            )
            sentences = tuple(AnswerSentence(c.text, (c,)) for c in ex.citations)
            notes = (ex.reason,) if ex.reason else ()
            answer = Answer(question, sentences, ex.abstained, tuple(hits), id, "extractive", notes)
        else:
            answer = self._llm_answer(question, query_vector, hits, id)
        t3 = time.perf_counter()
        timings = {"embed": t1 - t0, "retrieve": t2 - t1, "answer": t3 - t2, "total": t3 - t0}
        return Answer(**{**answer.__dict__, "timings": timings})

    def ask_many(self, questions: Iterable[str | tuple[str, str]], k: int | None = None) -> Iterator[Answer]:
        """Answer questions in order; items are questions or ``(id, question)`` pairs."""
        for i, item in enumerate(questions, 1):
            qid, q = item if isinstance(item, tuple) else (str(i), item)
            yield self.ask(q, id=qid, k=k)

    def _llm_answer(self, question, query_vector, hits, id):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def _clean(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty: ask something about the articles")
    question = " ".join(question.split())
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(question)} characters long: keep it under {MAX_QUESTION_CHARS}")
    return question

"""The library facade: ``Assistant.from_dir("seeds").ask("...")`` -> a cited ``Answer``."""

from __future__ import annotations

import itertools
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from rag.answer.base import Answerer, make_answerer
from rag.build import BuildReport, Progress, build_and_load
from rag.config import Settings
from rag.conflicts.scan import for_answer
from rag.embed.embedder import Embedder, load_embedder
from rag.index.disk import read_manifest
from rag.index.loaded import Index, load_index, recorded_store
from rag.rank.match import embed_unknown_words
from rag.rank.phrase import prefetch_phrase_reader
from rag.rank.reader import load_reader
from rag.rank.rerank import Evidence, candidates, rank
from rag.rank.retrieve import Rankings, rankings_many
from rag.rank.scorer import load_scorer
from rag.text.words import content_words
from rag.types import Answer, AnswerSentence, InputError, RagError, SplitterChangedError

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
        self.scorer = load_scorer()
        self._answerer: Answerer | None = None  # created on first use: a server starts only when asked
        if settings.answer_phrase and settings.generator == "extractive":
            prefetch_phrase_reader()

    @property
    def answerer(self) -> Answerer:
        if self._answerer is None:
            self._answerer = make_answerer(self.settings, self.index, self.embedder, self.scorer)
        return self._answerer

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
        settings = settings if rebuild else recorded_store(Path(index_dir), settings)
        embedder = load_embedder(settings.embedder, settings.threads, settings.batch_size)
        report, index = build_and_load(
            Path(corpus), Path(index_dir), settings, embedder, rebuild=rebuild, progress=progress
        )
        return cls(index, embedder, settings, report)

    @classmethod
    def from_index(cls, index_dir: str | Path = "index", settings: Settings | None = None) -> Assistant:
        settings = recorded_store(Path(index_dir), settings or Settings.load())
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
        try:
            return cls.from_dir(corpus, index_dir, settings, progress=progress)
        except SplitterChangedError as e:
            # Nothing the user chose differs: rebuild from the corpus at hand rather than stop them.
            log.warning("%s; re-indexing %s from scratch", e.what, corpus)
            return cls.from_dir(corpus, index_dir, settings, rebuild=True, progress=progress)

    def ask(self, question: str, id: str | None = None, k: int | None = None) -> Answer:
        """Answer one question with checked sentence citations, or abstain."""
        result = next(self.answers([(id, question)], k))
        if isinstance(result, RagError):
            raise result
        return result

    def ask_many(self, questions: Iterable[str | tuple[str, str]], k: int | None = None) -> Iterator[Answer]:
        """Answer questions in order; items are questions or ``(id, question)`` pairs. Raises the first
        question's error (use ``answers`` to get errors in place and go on)."""
        items = (item if isinstance(item, tuple) else (str(i), item) for i, item in enumerate(questions, 1))
        for result in self.answers(items, k):
            if isinstance(result, RagError):
                raise result
            yield result

    def answers(
        self, items: Iterable[tuple[str | None, str]], k: int | None = None, block: int = 32
    ) -> Iterator[Answer | RagError]:
        """An answer, or the RagError that stopped it, for each ``(id, question)`` pair, in order and each
        as soon as it is done. Questions are embedded in one model call and searched in one FAISS call
        per ``block``: several times faster than one by one."""
        remaining = iter(items)
        while part := list(itertools.islice(remaining, block)):
            yield from self._answer_block(part, k)

    def _answer_block(self, items: list[tuple[str | None, str]], k: int | None) -> Iterator[Answer | RagError]:
        t0 = time.perf_counter()
        cleaned: list[str | RagError] = []
        for _, question in items:
            try:
                cleaned.append(clean_question(question))
            except RagError as e:
                cleaned.append(e)
        texts = [q for q in cleaned if isinstance(q, str)]
        with single_threaded_blas():
            vectors, rankings, t_embed, t_search = self._search(texts, t0)
        row = iter(range(len(texts)))
        for (qid, _), ready in zip(items, cleaned, strict=True):
            if isinstance(ready, RagError):
                yield ready
                continue
            i = next(row)
            # Work shared by the block is split evenly, so per-question timings add up to the block's.
            timings = {"embed": t_embed / len(texts), "retrieve": t_search / len(texts)}
            try:
                with single_threaded_blas():
                    evidence = self._evidence(ready, vectors[i], rankings[i], k, timings)
                t = time.perf_counter()
                answer = self.answerer.answer(ready, evidence, qid)
                yield self._finished(answer, timings, t)
            except RagError as e:
                yield e

    def completer(self) -> Callable[[str], str] | None:
        """One prompt to the configured LLM, for chores such as rewriting a follow-up question; None when
        the generator is the extractive one."""
        complete: Callable[[str], str] | None = getattr(self.answerer, "complete_one", None)
        return complete

    def ask_stream(
        self, question: str, id: str | None = None, k: int | None = None
    ) -> Iterator[AnswerSentence | Answer]:
        """Yield each checked answer sentence as the answerer finishes it, then the whole Answer."""
        t0 = time.perf_counter()
        question = clean_question(question)
        with single_threaded_blas():
            vectors, rankings, t_embed, t_search = self._search([question], t0)
            timings = {"embed": t_embed, "retrieve": t_search}
            evidence = self._evidence(question, vectors[0], rankings[0], k, timings)
        t = time.perf_counter()
        for item in self.answerer.stream(question, evidence, id):
            yield self._finished(item, timings, t) if isinstance(item, Answer) else item

    def _search(self, texts: list[str], t0: float) -> tuple[np.ndarray, list[Rankings], float, float]:
        """Embed cleaned questions in one model call and rank their passages with one FAISS call; also
        the seconds each step took (embedding counted from ``t0``)."""
        vectors = self.embedder.embed(texts, "query") if texts else np.zeros((0, self.embedder.dim), np.float32)
        embed_unknown_words([w for t in texts for w in content_words(t)], self.index, self.embedder)
        t1 = time.perf_counter()
        s = self.settings
        rankings = rankings_many(self.index, texts, vectors, s.pool, s.rrf_k)
        return vectors, rankings, t1 - t0, time.perf_counter() - t1

    def _evidence(
        self, question: str, vector: np.ndarray, rankings: Rankings, k: int | None, timings: dict[str, float]
    ) -> Evidence:
        """The learned rerank of one question's pool; its time counts as retrieval."""
        t = time.perf_counter()
        c = candidates(question, vector, rankings, self.index, self.embedder)
        evidence = rank(
            c, rankings, self.index, self.scorer, k or self.settings.k, load_reader(threads=self.settings.threads)
        )
        timings["retrieve"] += time.perf_counter() - t
        return evidence

    def _finished(self, answer: Answer, timings: dict[str, float], since: float) -> Answer:
        """The answer with its timings, the title and date of the files it cites, and the conflicts its
        citations touch (for an abstention, those of what the documents do say)."""
        timings = {**timings, "answer": time.perf_counter() - since}
        timings["total"] = sum(timings.values())
        conflicts = for_answer(self.index, answer.citations)
        documents = self.index.documents_of(answer.citations + [c for x in conflicts for c in x.citations])
        return replace(answer, timings=timings, documents=documents, conflicts=conflicts)


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # scans the loaded libraries once (0.6 ms); limiting through it costs 0.02 ms


def single_threaded_blas() -> Any:
    """Answering does many small numpy and FAISS products between torch calls. With OpenBLAS on two
    threads, its threads spin after each product and starve torch's: measured on SQuAD-train questions
    over 5,000 paragraphs, a warm answer took 53 ms p50 (query embedding 21.8 ms), and 20.9 ms (10.9 ms)
    with BLAS on one thread. Torch keeps its own threads."""
    return _blas().limit(limits=1, user_api="blas")


# Terminal escape sequences (colours, cursor moves) and other control characters are noise pasted in
# with a question, never part of it.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")


def clean_question(question: str) -> str:
    """The question with escape sequences and control characters removed and whitespace collapsed;
    InputError if nothing is left or it is too long to be a question."""
    if not isinstance(question, str):
        raise InputError(f"the question must be text, not {type(question).__name__}")
    question = _ANSI.sub(" ", question)
    question = "".join(ch if unicodedata.category(ch)[0] != "C" or ch.isspace() else " " for ch in question)
    question = " ".join(question.split())
    if not question:
        raise InputError("the question is empty: ask something about the articles")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(
            f"the question is {len(question):,} characters long: ask it in under {MAX_QUESTION_CHARS:,} "
            "(put a document to ask about into the corpus folder instead)"
        )
    return question

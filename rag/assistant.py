"""The library facade: ``Assistant.from_dir("seeds").ask("...")`` -> a cited ``Answer``."""

from __future__ import annotations

import itertools
import logging
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .config import Settings
from .embed import Embedder, load_embedder
from .extractive import Extract, answer_extractive
from .llm_answer import Checked, LLMAnswerer, no_supported_sentence_note
from .retrieve import retrieve_many
from .store import BuildReport, Index, Progress, build_and_load, load_index, read_manifest
from .types import Answer, AnswerSentence, Hit, InputError, RagError

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
        report, index = build_and_load(Path(corpus), Path(index_dir), settings, embedder, rebuild=rebuild, progress=progress)
        return cls(index, embedder, settings, report)

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
        vectors, hits_list, t_embed, t_retrieve = self._search(texts, k, t0)
        hits = iter(hits_list)
        row = iter(range(len(texts)))
        for (qid, _), ready in zip(items, cleaned, strict=True):
            if isinstance(ready, RagError):
                yield ready
                continue
            i = next(row)
            # Work shared by the block is split evenly, so per-question timings add up to the block's.
            timings = {"embed": t_embed / len(texts), "retrieve": t_retrieve / len(texts)}
            try:
                yield self._answer(ready, vectors[i], next(hits), qid, timings)
            except RagError as e:
                yield e

    def _answer(self, question: str, query_vector: np.ndarray, hits: list[Hit], id: str | None, timings: dict[str, float]) -> Answer:
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

    def _search(self, texts: list[str], k: int | None, t0: float) -> tuple[np.ndarray, list[list[Hit]], float, float]:
        """Embed cleaned questions in one model call and fetch their passages in one FAISS call; also the
        seconds each step took (embedding counted from ``t0``)."""
        vectors = self.embedder.embed(texts, "query") if texts else np.zeros((0, self.embedder.dim), np.float32)
        t1 = time.perf_counter()
        s = self.settings
        hits = retrieve_many(self.index, texts, vectors, k or s.k, s.fetch_factor, s.rrf_k)
        return vectors, hits, t1 - t0, time.perf_counter() - t1

    def _retrieve(self, question: str, k: int | None) -> tuple[str, np.ndarray, list[Hit], dict[str, float]]:
        """Clean the question, embed it, fetch its passages (for ``ask_stream``)."""
        t0 = time.perf_counter()
        question = clean_question(question)
        vectors, hits, t_embed, t_retrieve = self._search([question], k, t0)
        return question, vectors[0], hits[0], {"embed": t_embed, "retrieve": t_retrieve}

    def _extract(self, question: str, query_vector: np.ndarray, hits: list[Hit]) -> Extract:
        s = self.settings
        return answer_extractive(
            question, query_vector, hits, self.index, self.embedder, s.abstain_below, s.max_answer_sentences, s.answer_margin
        )

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

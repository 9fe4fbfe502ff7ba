"""One thread that owns the model and answers queued questions, for callers on an event loop (the HTTP
and MCP servers).

Why one thread and not a pool: the embedding model already uses both cores of this machine for one
call, and neither a llama.cpp context nor the answerer's word-vector cache may be used from two threads
at once. Throughput comes from batching instead: single questions that wait together are answered in
one ``Assistant.answers`` call (one model call and one FAISS search for the lot), measured in
``benchmarks/serve_load.py``. The queue is bounded; a full one is refused at once (``Busy``), never
left to grow.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

from rag.assistant import Assistant
from rag.types import Answer, AnswerSentence, RagError

log = logging.getLogger(__name__)

BLOCK = 32  # questions per batched call: Assistant.answers' own block size


class Busy(RagError):
    """The queue is full: the caller should retry shortly (HTTP 429)."""


class ShuttingDown(RagError):
    """The server is stopping and will not answer (HTTP 503)."""


Item = AnswerSentence | Answer | RagError
_END = object()  # after a job's last item


@dataclass
class Job:
    """Questions to answer, and where the results go. ``emit`` is called on the worker thread."""

    items: list[tuple[str | None, str]]
    emit: Callable[[object], None]
    k: int | None = None
    generator: str | None = None
    stream: bool = False  # one question, its sentences one by one (Assistant.ask_stream)
    task: Callable[[Assistant], object] | None = None  # other model work, run on the worker thread
    cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def batchable(self) -> bool:
        return not self.stream and self.task is None and len(self.items) == 1

    def key(self) -> tuple[int | None, str | None]:
        return self.k, self.generator


class AnswerWorker:
    """Start it, ``submit`` jobs (or use ``results`` from async code), ``stop`` it."""

    def __init__(self, assistant: Assistant, max_waiting: int = 256):
        self.assistant = assistant
        self._by_generator: dict[str | None, Assistant] = {None: assistant, assistant.settings.generator: assistant}
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=max_waiting)
        self._held: deque[Job | None] = deque()  # taken from the queue while batching, not batchable with the rest
        self._thread = threading.Thread(target=self._run, name="rag-answer-worker", daemon=True)
        self._stopping = False

    @property
    def waiting(self) -> int:
        return self._queue.qsize() + len(self._held)

    def start(self) -> AnswerWorker:
        self._thread.start()
        return self

    def lifespan(self, app: object = None) -> AbstractAsyncContextManager[None]:
        """The worker running for as long as a server (FastAPI or MCP, which pass themselves) runs."""

        @asynccontextmanager
        async def running() -> AsyncIterator[None]:
            self.start()
            try:
                yield
            finally:
                self.stop()

        return running()

    def submit(self, job: Job) -> None:
        if self._stopping:
            raise ShuttingDown("the server is shutting down: retry against a running one")
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise Busy(f"{self._queue.maxsize} questions are already waiting: retry in a moment") from None

    def stop(self, timeout: float = 30.0) -> None:
        """Refuse new jobs, finish the one in hand, give the waiting ones an error, end the thread."""
        self._stopping = True
        pending = [j for j in self._held if j is not None]
        self._held.clear()
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                pending.append(job)
        for job in pending:
            self._finish(job, ShuttingDown("the server is shutting down: this question was not answered"))
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            job = self._held.popleft() if self._held else self._queue.get()
            if job is None:
                return
            jobs = self._gather(job) if job.batchable else [job]
            jobs = [j for j in jobs if not j.cancelled.is_set()]
            if not jobs:
                continue
            try:
                self._answer(jobs)
            except Exception as e:  # noqa: BLE001 - a bug must fail these requests, not the server
                log.exception("answering failed")
                error = e if isinstance(e, RagError) else RagError(f"internal error: {type(e).__name__}: {e}")
                for j in jobs:
                    self._finish(j, error)

    def _gather(self, first: Job) -> list[Job]:
        """``first`` and the single questions waiting behind it with the same k and generator."""
        jobs = [first]
        while len(jobs) < BLOCK:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None and job.batchable and job.key() == first.key():
                jobs.append(job)
            else:
                self._held.append(job)  # None is the stop signal: kept in order
                break
        return jobs

    def _answer(self, jobs: list[Job]) -> None:
        assistant = self._assistant(jobs[0].generator)
        if jobs[0].task is not None:
            self._finish(jobs[0], jobs[0].task(assistant))
            return
        if jobs[0].stream:
            job = jobs[0]
            qid, question = job.items[0]
            try:
                for item in assistant.ask_stream(question, qid, job.k):
                    if job.cancelled.is_set():
                        log.info("the client left: stopped answering %r", question[:60])
                        return
                    job.emit(item)
            except RagError as e:
                job.emit(e)
            job.emit(_END)
            return
        if len(jobs) > 1:  # many single questions: one batched call, each answer to its own job
            for job, result in zip(jobs, assistant.answers([j.items[0] for j in jobs], jobs[0].k), strict=True):
                self._finish(job, result)
            return
        job = jobs[0]
        for result in assistant.answers(job.items, job.k):
            if job.cancelled.is_set():
                log.info("the client left: stopped a batch")
                return
            job.emit(result)
        job.emit(_END)

    def _assistant(self, generator: str | None) -> Assistant:
        """The assistant for a generator other than the configured one, sharing index and model."""
        if generator not in self._by_generator:
            base = self.assistant
            self._by_generator[generator] = Assistant(
                base.index, base.embedder, base.settings.replace(generator=generator), base.build_report
            )
        return self._by_generator[generator]

    @staticmethod
    def _finish(job: Job, result: object) -> None:
        job.emit(result)
        job.emit(_END)

    async def results(
        self,
        items: list[tuple[str | None, str]],
        k: int | None = None,
        generator: str | None = None,
        stream: bool = False,
    ) -> AsyncIterator[Item]:
        """Submit from async code and iterate the results as the worker produces them. Leaving the loop
        early (a client that disconnected) cancels what is not yet answered."""
        inbox: asyncio.Queue[object] = asyncio.Queue()
        job = Job(items, _emitter(inbox), k, generator, stream)
        self.submit(job)
        try:
            while (item := await inbox.get()) is not _END:
                yield item  # type: ignore[misc]
        finally:
            job.cancelled.set()

    async def call(self, task: Callable[[Assistant], object], generator: str | None = None) -> object:
        """Run ``task(assistant)`` on the worker thread (model work that is not an answer) and return
        its result; it queues like a question."""
        inbox: asyncio.Queue[object] = asyncio.Queue()
        self.submit(Job([], _emitter(inbox), generator=generator, task=task))
        result = await inbox.get()
        await inbox.get()  # the end marker
        if isinstance(result, RagError):
            raise result
        return result

    async def ask(
        self, question: str, k: int | None = None, generator: str | None = None, id: str | None = None
    ) -> Answer:
        """One answer; raises the RagError that stopped it."""
        async for item in self.results([(id, question)], k, generator):
            if isinstance(item, RagError):
                raise item
            if isinstance(item, Answer):
                return item
        raise ShuttingDown("the server stopped before answering")


def _emitter(inbox: asyncio.Queue[object]) -> Callable[[object], None]:
    """Hands the worker's results to the running event loop's ``inbox``, from the worker thread."""
    loop = asyncio.get_running_loop()

    def emit(item: object) -> None:
        try:
            loop.call_soon_threadsafe(inbox.put_nowait, item)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            pass

    return emit

"""`rag serve`: the page, the JSON API and an OpenAI-compatible endpoint over one loaded ``Assistant``.

A thin layer: it parses, hands the question to the answer worker (rag/serve/worker.py: model work off the
event loop, bounded queue), and renders the same records and one-line errors as the CLI. Errors map to
status codes in one place (``_status``); every error body is ``{"error": {"message", "type"}}``, the
shape OpenAI clients read.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
from collections.abc import AsyncIterator, Sequence
from importlib.resources import files
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from rag import __version__
from rag.assistant import Assistant, clean_question
from rag.batch import record_of
from rag.serve.errors import ApiError, error_response, status_of, validation_message
from rag.serve.worker import AnswerWorker
from rag.types import Answer, AnswerSentence, ConfigError, RagError

log = logging.getLogger(__name__)

API_KEY_ENV = "RAG_SERVE_KEY"
MAX_BODY_BYTES = 4 * 1024 * 1024  # a batch of thousands of questions fits; a runaway upload does not
MAX_BATCH = 1000
NDJSON = "application/x-ndjson"
OPEN_PATHS = {"/", "/health", "/openapi.json"}  # the page asks for the key itself
LOOPBACK = {"127.0.0.1", "::1", "localhost"}

Generator = Literal["extractive", "local", "openai"]


class AskRequest(BaseModel):
    question: str = Field(description="The question about the articles.")
    k: int | None = Field(None, ge=1, le=100, description="Passages to retrieve (default: the server's).")
    generator: Generator | None = Field(None, description="Who writes the answer (default: the server's).")
    stream: bool = Field(
        False, description="NDJSON lines: each checked sentence as it is ready, then the answer record."
    )


class BatchItem(BaseModel):
    id: str | None = None
    question: str


class BatchRequest(BaseModel):
    questions: list[str | BatchItem] = Field(max_length=MAX_BATCH)
    k: int | None = Field(None, ge=1, le=100)
    generator: Generator | None = None


def exposed_without_key(host: str, key: str | None) -> bool:
    return host not in LOOPBACK and not key


def create_app(
    assistant: Assistant, api_key: str | None = None, max_waiting: int = 256, generators: Sequence[str] = ()
) -> FastAPI:
    """The ASGI app over one loaded assistant; the answer worker starts and stops with it. A request may
    choose a generator only among the server's own and ``generators`` (``rag serve --generators``): a
    client must not make the server load, or pull, a model its operator did not enable."""
    enabled = sorted({assistant.settings.generator, *generators})

    def allowed(generator: str | None) -> str | None:
        if generator is not None and generator not in enabled:
            raise ApiError(
                400,
                f'generator "{generator}" is not enabled on this server (it answers with {", ".join(enabled)}): '
                f"its operator can start it with `rag serve --generators {generator}`",
            )
        return generator

    worker = AnswerWorker(assistant, max_waiting)
    app = FastAPI(
        title="rag-cite",
        version=__version__,
        lifespan=worker.lifespan,
        # Swagger's and ReDoc's pages load their scripts from a CDN, so offline they were blank: the
        # description is served as /openapi.json only.
        docs_url=None,
        redoc_url=None,
        strict_content_type=False,
        description="Answers about a folder of articles; every sentence cites the source sentence it rests on.",
    )
    app.state.worker = worker

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        """The API key and the body size, before any route runs."""
        if api_key and request.url.path not in OPEN_PATHS:
            given = request.headers.get("authorization", "")
            if not secrets.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
                return error_response(
                    401,
                    f"missing or wrong API key: send the header `Authorization: Bearer <{API_KEY_ENV}>`",
                    "authentication_error",
                    {"WWW-Authenticate": "Bearer"},
                )
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > MAX_BODY_BYTES:
            return error_response(
                413,
                f"the request body is {int(size):,} bytes: send at most {MAX_BODY_BYTES:,}",
                "invalid_request_error",
            )
        if size is None and request.method in ("POST", "PUT", "PATCH"):
            # A body sent in chunks declares no size: read it up to the limit, and stop there. What was
            # read is kept as the request's body, which Starlette hands on to the route.
            chunks, read = [], 0
            async for chunk in request.stream():
                read += len(chunk)
                if read > MAX_BODY_BYTES:
                    return error_response(
                        413,
                        f"the request body is over {MAX_BODY_BYTES:,} bytes: send at most {MAX_BODY_BYTES:,}",
                        "invalid_request_error",
                    )
                chunks.append(chunk)
            request._body = b"".join(chunks)
        return await call_next(request)

    @app.exception_handler(RagError)
    async def rag_error(request: Request, e: RagError) -> JSONResponse:
        status, kind = status_of(e)
        return error_response(status, str(e), kind, {"Retry-After": "1"} if status == 429 else None)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, e: ApiError) -> JSONResponse:
        return error_response(e.status, str(e), e.kind, e.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, e: RequestValidationError) -> JSONResponse:
        return error_response(
            400, validation_message(e, request.headers.get("content-type", "")), "invalid_request_error"
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException) -> JSONResponse:
        message = f"no such path {request.url.path}: see /docs" if e.status_code == 404 else str(e.detail)
        return error_response(e.status_code, message, "invalid_request_error", getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def bug(request: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(500, f"internal error: {type(e).__name__}: {e}", "server_error")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return files("rag.serve").joinpath("static/index.html").read_text(encoding="utf-8")

    @app.get("/health", summary="Liveness, the index's size and the queue")
    async def health() -> dict[str, Any]:
        index = assistant.index
        return {
            "status": "ok",
            "files": len(index.manifest["files"]),
            "sentences": len(index.sentences),
            "generator": assistant.settings.generator,
            "generators": enabled,
            "waiting": worker.waiting,
        }

    @app.post("/ask", summary="Answer one question with checked sentence citations, or decline")
    async def ask(body: AskRequest) -> Any:
        question = clean_question(body.question)  # bad input answers 400 before anything queues
        generator = allowed(body.generator)
        if not body.stream:
            return (await worker.ask(question, body.k, generator)).to_dict()
        results = worker.results([(None, question)], body.k, generator, stream=True)
        return StreamingResponse(_ndjson_stream(results), media_type=NDJSON)

    @app.post("/batch", summary="Answer a list of questions; one NDJSON line each, in order, as each is done")
    async def batch(body: BatchRequest | list[str | BatchItem]) -> StreamingResponse:
        if not isinstance(body, BatchRequest) and len(body) > MAX_BATCH:  # checked here: a bare list has no model
            raise ApiError(
                400, f"the batch holds {len(body)} questions, over the limit of {MAX_BATCH}: send it in parts"
            )
        request = body if isinstance(body, BatchRequest) else BatchRequest(questions=body, k=None, generator=None)
        items: list[tuple[str | None, str]] = [
            (q.id or str(i), q.question) if isinstance(q, BatchItem) else (str(i), q)
            for i, q in enumerate(request.questions, 1)
        ]
        if not items:
            raise ApiError(400, "the batch holds no questions: send a list of question strings")
        results = worker.results(items, request.k, allowed(request.generator))

        async def lines() -> AsyncIterator[str]:
            async for (qid, question), result in _zip_async(items, results):
                yield json.dumps(record_of(result, qid, question), ensure_ascii=False) + "\n"

        return StreamingResponse(lines(), media_type=NDJSON)

    @app.get("/sources/{file:path}", summary="A source sentence with its neighbours, as a citation names it")
    async def source(
        file: str, sentence: Annotated[int, Query(ge=1)], around: Annotated[int, Query(ge=0, le=20)] = 3
    ) -> dict[str, Any]:
        return source_context(assistant, file, sentence, around)

    from rag.serve.openai_api import add_openai_routes

    add_openai_routes(app, worker)
    return app


async def _zip_async(
    items: list[tuple[str | None, str]], results: AsyncIterator[Any]
) -> AsyncIterator[tuple[tuple[str | None, str], Any]]:
    i = 0
    async for result in results:
        yield items[i], result
        i += 1


async def _ndjson_stream(results: AsyncIterator[Any]) -> AsyncIterator[str]:
    """``{"sentence": ...}`` per checked sentence, then ``{"answer": record}``, or ``{"error": ...}``."""
    async for item in results:
        if isinstance(item, AnswerSentence):
            yield json.dumps({"sentence": item.to_dict()}, ensure_ascii=False) + "\n"
        elif isinstance(item, Answer):
            yield json.dumps({"answer": item.to_dict()}, ensure_ascii=False) + "\n"
        else:
            status, kind = status_of(item)
            yield (
                json.dumps({"error": {"message": str(item), "type": kind, "status": status}}, ensure_ascii=False) + "\n"
            )


def source_context(assistant: Assistant, file: str, n: int, around: int) -> dict[str, Any]:
    """Sentence ``n`` of ``file`` and up to ``around`` sentences either side, for showing a citation in
    its surrounding text."""
    index = assistant.index
    s = index.sentence(file, n)
    if s is None:
        known = file in index.manifest["files"]
        raise ApiError(
            404, f"{file} has no sentence {n}" if known else f"no file {file} in the index: use a file a citation names"
        )
    rows = [x for m in range(n - around, n + around + 1) if (x := index.sentence(file, m)) is not None]
    return {
        "file": file,
        "sentence": n,
        "about": {k: v for k, v in index.manifest["files"][file].items() if k in ("title", "date")},
        "sentences": [
            {
                "n": x.n,
                "text": x.text,
                "start": x.start,
                "end": x.end,
                **({"page": x.page} if x.page else {}),
                "cited": x.n == n,
            }
            for x in rows
        ],
    }


def check_port(host: str, port: int) -> None:
    """Fail in one line, before the model loads, when the address cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({e.strerror}): pass another --port or --host, or stop what uses it"
            ) from None


def run_server(
    assistant: Assistant,
    host: str,
    port: int,
    api_key: str | None = None,
    max_waiting: int = 256,
    generators: Sequence[str] = (),
) -> None:
    """Serve until Ctrl-C: uvicorn stops taking connections, lets requests in flight finish (up to 30 s,
    then they are cut), and the worker answers what it holds and refuses what waits."""
    import uvicorn

    app = create_app(assistant, api_key, max_waiting, generators)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=30)

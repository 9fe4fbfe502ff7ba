"""``POST /v1/chat/completions`` and ``GET /v1/models``: any OpenAI client or chat UI pointed at
``http://127.0.0.1:8000/v1`` gets cited answers.

The reply's text carries the ``[n]`` markers and, after the answer, the numbered source list, for
clients that show only text. The same sources travel as data in a ``citations`` field on the message
(on the last chunk's delta when streaming): ``n``, file, sentence, span, text and page.
The question is the last user message. When earlier user turns exist and it is a follow-up ("And how
much?"), it is rewritten to stand alone first (rag/answer/followup.py): by the LLM when one is configured.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from functools import cache
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from rag.answer.followup import rewrite
from rag.assistant import Assistant, clean_question
from rag.render import StreamRenderer, render
from rag.serve.worker import AnswerWorker
from rag.types import Answer, AnswerSentence, InputError, RagError

MODEL = "rag-cite"
MAX_TURNS = 4  # user turns read for a follow-up: the last and up to three before it


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields this endpoint reads; others a client sends (temperature, max_tokens...) are ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = MODEL
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None  # {"include_usage": true}: a last chunk with the usage


def usage_of(question: str, content: str) -> dict[str, int]:
    """OpenAI's ``usage``, counted in the embedding model's word pieces: the question read and the text
    returned. An extractive answer runs no LLM, so these are the only tokens there are; an LLM answer's
    own prompt (the passages) is not counted."""
    pieces = _word_pieces()
    prompt, completion = (len(pieces.encode(t, add_special_tokens=False).ids) for t in (question, content))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@cache
def _word_pieces() -> Any:
    """MiniLM's tokenizer, counting whole texts: its file pads and cuts every text to 128 pieces."""
    from tokenizers import Tokenizer

    from rag.embed.embedder import _minilm_path

    tokenizer = Tokenizer.from_file(str(_minilm_path() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def user_turns(messages: list[ChatMessage]) -> list[str]:
    """The text of each user message in order (text parts joined, for clients that send parts)."""
    out = []
    for m in messages:
        if m.role == "user":
            if isinstance(m.content, list):
                out.append(" ".join(str(p.get("text", "")) for p in m.content if p.get("type") == "text"))
            else:
                out.append(m.content or "")
    if not out:
        raise InputError('no user message: send messages with one {"role": "user", "content": "your question"}')
    return out


def standalone(turns: list[str], assistant: Assistant) -> str:
    """The last user turn made to stand alone: earlier turns rewritten by the rules in order, the last
    by the LLM when one is configured (rag/answer/followup.py). Runs on the worker thread."""
    history: list[str] = []
    for turn in turns[:-1]:
        history.append(rewrite(turn, history))
    return rewrite(turns[-1], history, assistant.completer())


def citations_of(answer: Answer) -> list[dict[str, Any]]:
    """The numbered sources of an answer, as data: ``n`` is the marker in the text."""
    return [{"n": n, **c.to_dict(), **answer.documents.get(c.file, {})} for n, c in enumerate(answer.citations, 1)]


def add_openai_routes(app: FastAPI, worker: AnswerWorker) -> None:
    @app.get("/v1/models", summary="OpenAI-compatible: the one model, rag-cite")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "rag-cite"}]}

    @app.post(
        "/v1/chat/completions", summary="OpenAI-compatible chat completion: a cited answer to the last user message"
    )
    async def chat_completions(body: ChatRequest) -> Any:
        if body.model != MODEL:
            raise InputError(f"unknown model {body.model!r}: use {MODEL!r}")
        turns = [clean_question(t) for t in user_turns(body.messages)[-MAX_TURNS:]]
        question = turns[-1]
        if len(turns) > 1:  # a follow-up ("And how much?") is asked as the question it stands for
            question = str(await worker.call(lambda assistant: standalone(turns, assistant)))
        created, cid = int(time.time()), f"chatcmpl-{uuid.uuid4().hex}"
        if not body.stream:
            answer = await worker.ask(question)
            message = {
                "role": "assistant",
                "content": render(answer),
                "citations": citations_of(answer),
                "abstained": answer.abstained,
            }
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": MODEL,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": usage_of(question, render(answer)),
            }
        results = worker.results([(None, question)], stream=True)
        usage = question if (body.stream_options or {}).get("include_usage") else None
        return StreamingResponse(_sse(results, cid, created, usage), media_type="text/event-stream")


async def _sse(results: AsyncIterator[Any], cid: str, created: int, usage_for: str | None) -> AsyncIterator[str]:
    """Server-sent events as OpenAI streams them: a role chunk, a content chunk per checked sentence,
    the sources and citations with ``finish_reason``, then ``[DONE]``. An error after the stream has
    started arrives as an ``error`` event, since the status line is already sent."""

    def chunk(delta: dict[str, Any], finish: Literal["stop"] | None = None) -> str:
        body = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    renderer = StreamRenderer()
    sent: list[str] = []
    async for item in results:
        if isinstance(item, RagError):
            yield f"data: {json.dumps({'error': {'message': str(item), 'type': type(item).__name__}})}\n\n"
            return
        sent.append(renderer.piece(item))
        if isinstance(item, AnswerSentence):
            yield chunk({"content": sent[-1]})
        else:
            yield chunk({"content": sent[-1], "citations": citations_of(item), "abstained": item.abstained}, "stop")
    if usage_for is not None:  # as OpenAI sends it: one more chunk, no choices, the usage
        last = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL, "choices": []}
        yield f"data: {json.dumps({**last, 'usage': usage_of(usage_for, ''.join(sent))})}\n\n"
    yield "data: [DONE]\n\n"

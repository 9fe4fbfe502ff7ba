"""`rag mcp` as chat tools run it: a subprocess on stdio, driven by the official MCP SDK's own client."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from rag.evaluate import citation_is_valid, facts_found

ROOT = Path(__file__).resolve().parent.parent


def call_all(index_dir: Path, corpus: Path, calls: list[dict]) -> tuple[list[str], list]:
    async def main() -> tuple[list[str], list]:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "rag.cli", "mcp", "--index-dir", str(index_dir), "--corpus", str(corpus)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        async with Client(params, read_timeout_seconds=120) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            return tools, [await client.call_tool("ask_articles", args) for args in calls]

    return anyio.run(main)


@pytest.fixture(scope="module")
def results(index_dir, corpus, dev):
    q = next(q for q in dev if q.get("answerable") and q.get("answer_all"))
    calls = [
        {"question": q["question"]},
        {"question": "What is the capital of Peru?", "k": 3},
        {"question": "   "},
        *({"question": q["question"], "k": k} for k in (0, -5, 100000)),
    ]
    return q, *call_all(index_dir, corpus, calls)


def test_the_one_tool_answers_with_checked_citations(results, assistant):
    q, tools, (answered, *_) = results
    assert tools == ["ask_articles"]
    assert not answered.is_error
    data = answered.structured_content
    assert not data["abstained"] and facts_found(data["answer"], q["answer_all"])
    assert data["citations"] and all(
        citation_is_valid(c, assistant.index) and f"[{c['n']}]" in data["answer"] for c in data["citations"]
    )


def test_an_unanswerable_question_is_declined_and_bad_input_is_a_tool_error(results):
    _, _, (_, declined, empty, *bad_k) = results
    assert declined.structured_content["abstained"] and declined.structured_content["citations"] == []
    assert empty.is_error and "the question is empty" in empty.content[0].text
    # k out of the bounds the CLI and the HTTP API take is refused the same way
    for r in bad_k:
        assert r.is_error and "k" in r.content[0].text, r.content

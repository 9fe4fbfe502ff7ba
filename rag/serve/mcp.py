"""`rag mcp`: a stdio MCP server (the official ``mcp`` SDK) with one tool, ``ask_articles``, so chat
tools that speak MCP get checked, sentence-level citations. Stdout carries only the protocol; logs and
progress go to stderr."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from rag.assistant import Assistant
from rag.render import render
from rag.serve.openai_api import citations_of
from rag.serve.worker import AnswerWorker
from rag.types import RagError

TOOL_DESCRIPTION = (
    "Answer a question from the indexed articles. Every answer sentence carries [n] markers that point "
    "to the exact source sentences (file, sentence number, character span, text) listed in `citations`. "
    "When the articles do not contain the answer, `abstained` is true: do not answer from elsewhere."
)


def create_mcp(assistant: Assistant) -> MCPServer:
    worker = AnswerWorker(assistant)
    server: MCPServer = MCPServer("rag-cite", instructions=TOOL_DESCRIPTION, lifespan=worker.lifespan)

    @server.tool(name="ask_articles", description=TOOL_DESCRIPTION)
    async def ask_articles(
        question: str,
        # The bounds the CLI and the HTTP API take (Settings.k): the SDK checks them from this signature.
        k: Annotated[int | None, Field(ge=1, le=100, description="passages to retrieve")] = None,
    ) -> dict[str, Any]:
        """``answer`` (text with [n] markers and the source list), ``abstained``, ``confidence`` and the
        numbered ``citations``."""
        try:
            answer = await worker.ask(question, k)
        except RagError as e:  # the same one-line message as the CLI, as a tool error the model can read
            raise ToolError(str(e)) from None
        return {
            "answer": render(answer),
            "abstained": answer.abstained,
            "confidence": answer.confidence,
            "citations": citations_of(answer),
        }

    return server


def run_mcp(assistant: Assistant) -> None:
    create_mcp(assistant).run("stdio")

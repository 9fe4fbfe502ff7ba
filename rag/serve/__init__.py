"""``rag serve`` and ``rag mcp``: the HTTP app and its page, the OpenAI-compatible routes, the MCP server, and the worker thread that owns the model."""

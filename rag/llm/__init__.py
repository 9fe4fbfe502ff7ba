"""Talking to language models: the OpenAI-compatible client (prompt, reply parser) and the local models pulled from the package registry."""

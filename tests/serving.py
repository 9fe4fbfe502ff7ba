"""`rag serve`'s app on a real uvicorn server in a thread, on a free loopback port, for tests that talk
to it with real HTTP clients (httpx, the openai client, a browser)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2 as httpx
import uvicorn

from rag.assistant import Assistant
from rag.serve.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(
    assistant: Assistant, api_key: str | None = None, max_waiting: int = 256, generators: tuple[str, ...] = ()
) -> Iterator[str]:
    """The server's base URL while it runs; it is shut down (and its worker stopped) on exit."""
    port = free_port()
    app = create_app(assistant, api_key, max_waiting, generators)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(30)


def wait_healthy(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never became healthy"
        time.sleep(0.2)

"""A real HTTP server on 127.0.0.1 speaking the chat-completions protocol (plain and streaming SSE),
replaying scripted replies. Replies may be functions of the request, so a script can cite the id the
prompt actually gave a sentence."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Action = dict[str, Any]  # {"reply": str | fn(request)} | {"status": int} | {"sleep": s, ...} | {"raw": str}


def sid(request: dict[str, Any], quote: str) -> str:
    """The id ("S7") the prompt gave the sentence containing ``quote``."""
    user = request["messages"][-1]["content"]
    m = re.search(r"\[(S\d+)\] [^\n]*" + re.escape(quote), user)
    assert m, f"{quote!r} was not in the context shown to the model"
    return m.group(1)


class ChatServer:
    def __init__(self) -> None:
        self.script: list[Action] | Callable[[dict[str, Any]], Action] = []
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                action = server.next_action(body)
                if "sleep" in action:
                    time.sleep(action["sleep"])
                if "status" in action:
                    payload = json.dumps(
                        {"error": {"message": action.get("message", "scripted error"), "type": "error"}}
                    ).encode()
                    self.send_response(action["status"])
                    self.send_header("Content-Type", "application/json")
                    self.send_header("retry-after-ms", "5")  # keep the client's backoff short in tests
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if "raw" in action:
                    payload = action["raw"].encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                reply = action["reply"](body) if callable(action["reply"]) else action["reply"]
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for i in range(0, len(reply), 7):  # small pieces: markers and sentences arrive split
                        self.wfile.write(b"data: " + json.dumps(_chunk(body, reply[i : i + 7])).encode() + b"\n\n")
                        self.wfile.flush()
                    self.wfile.write(b"data: " + json.dumps(_chunk(body, None)).encode() + b"\n\ndata: [DONE]\n\n")
                    return
                payload = json.dumps(_completion(body, reply)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def next_action(self, request: dict[str, Any]) -> Action:
        if callable(self.script):
            return self.script(request)
        if len(self.script) > 1:
            return self.script.pop(0)
        return self.script[0]  # the last action repeats ("a 500 forever")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _completion(request: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "m"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(request: dict[str, Any], piece: str | None) -> dict[str, Any]:
    delta = {"content": piece} if piece is not None else {}
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.get("model", "m"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": None if piece is not None else "stop"}],
    }

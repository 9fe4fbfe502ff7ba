"""How the HTTP API says what went wrong: one JSON shape, ``{"error": {"message", "type"}}``, one line of
message, and one mapping from the library's typed errors to statuses."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from rag.serve.worker import Busy, ShuttingDown
from rag.types import UNUSABLE, ConfigError, InputError, RagError


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, kind: str = "invalid_request_error", headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.kind, self.headers = status, kind, headers


def error_response(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status, headers=headers)


def status_of(e: RagError) -> tuple[int, str]:
    """The one mapping from library errors to HTTP: bad input 400, an unusable index or model 503,
    a full queue 429."""
    if isinstance(e, Busy):
        return 429, "rate_limit_error"
    if isinstance(e, (*UNUSABLE, ShuttingDown)):
        return 503, "service_unavailable"
    if isinstance(e, InputError | ConfigError):
        return 400, "invalid_request_error"
    return 500, "server_error"


EXAMPLES = {
    "question": '{"question": "..."}',
    "messages": '{"messages": [{"role": "user", "content": "..."}]}',
}


def validation_message(e: RequestValidationError, content_type: str) -> str:
    """One line for what pydantic found wrong with a request body."""
    first = e.errors()[0] if e.errors() else {}
    if first.get("loc") == ("body",) and content_type and "json" not in content_type:
        return f"the body was sent as {content_type.split(';')[0]}: send JSON with the header `Content-Type: application/json`"
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    if first.get("type") == "json_invalid":
        at = first.get("loc", ("body", "?"))[-1]
        return f"the request body is not valid JSON ({first.get('ctx', {}).get('error', 'malformed')} at character {at}): send a JSON object"
    if first.get("type") == "missing":
        # The example is the missing field's own: a chat request told to send "question" was misled.
        example = EXAMPLES.get(where, f'{{"{where}": ...}}' if where else '{"question": "..."}')
        return f'"{where or "body"}" is missing: send it in the JSON body, e.g. {example}'
    return f'"{where or "body"}": {first.get("msg", "invalid")}'

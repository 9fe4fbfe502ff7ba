"""LLM generators: the prompt that shows the retrieved sentences with ids, the one parser for the
citations in a reply, and the OpenAI-compatible client (OpenAI, vLLM, Ollama, llama.cpp server...)."""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal

import sentencex

from rag.types import GeneratorError, Sentence

NO_ANSWER = "NO_ANSWER"
# The longest answer the local model wrote in its 300-question live run (benchmarks/local_llm.py) came to
# about 290 tokens with its citations, and the 99th percentile to about 180. A bound stops a reply
# that loops: one repeated a sentence 130 times and took 278 s.
ANSWER_MAX_TOKENS = 384
# One syntax for citations: [S3] or [S3, S7] (also [S3][S7]); the parser accepts "S" in any case.
_CITE = re.compile(r"\[\s*[sS]\d+(?:\s*[,;]\s*[sS]?\d+)*\s*\]")
_ID = re.compile(r"\d+")
_LEADING = re.compile(r"^(?:\s*" + _CITE.pattern + r")+")

SYSTEM_PROMPT = f"""You answer questions using only the numbered source sentences you are given.
Rules:
- Write one to three short sentences. After every sentence put the ids of the source sentences that state it, like [S2] or [S2, S5].
- Cite only ids from the list. Never cite a sentence that does not state what you wrote.
- Copy numbers, names and dates exactly as the sources give them.
- If the sources do not contain the answer, reply exactly: {NO_ANSWER}

Good: Microsoft first invested $1 billion in OpenAI in 2019. [S4]
Bad: Microsoft invested heavily. (no citation)
Bad: Microsoft first invested $2 billion. [S4] (the source says $1 billion)
Bad: OpenAI was founded in 2015. [S99] (no such id)"""


@dataclass(frozen=True)
class Context:
    """The retrieved sentences shown to the model; id ``S{i+1}`` names ``sentences[i]``."""

    sentences: tuple[Sentence, ...]

    def id_of(self, i: int) -> str:
        return f"S{i + 1}"

    def resolve(self, number: int) -> Sentence | None:
        return self.sentences[number - 1] if 1 <= number <= len(self.sentences) else None

    def prompt(self, question: str) -> list[dict[str, str]]:
        lines = []
        current = None
        for i, s in enumerate(self.sentences):
            if s.file != current:
                current = s.file
                lines.append(f"\nFrom {s.file}:")
            lines.append(f"[{self.id_of(i)}] {s.text}")
        user = "Sources:" + "\n".join(lines) + f"\n\nQuestion: {question}\nAnswer with a citation after every sentence."
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class Draft:
    """One sentence of a model's reply with the sentence numbers it cited (as written, unchecked)."""

    text: str
    cited: tuple[int, ...]


def parse_reply(reply: str) -> tuple[list[Draft], bool]:
    """Split a reply into sentences with their cited ids. Returns (drafts, said_no_answer).

    Markers after a sentence's full stop ("... 2019. [S4]") belong to that sentence, as do markers
    inside it ("... in 2019 [S4]."); a line of markers alone attaches to the sentence before it."""
    text = reply.strip()
    if not text or text.upper().startswith(NO_ANSWER) or (NO_ANSWER in text.upper() and not _CITE.search(text)):
        return [], True
    # Pull every marker to the end of its sentence: split on markers, keep them as tokens.
    drafts: list[Draft] = []
    for line in text.splitlines():
        for chunk, _ in _sentences(line):
            chunk = chunk.strip()
            if not chunk:
                continue
            lead = _LEADING.match(chunk)
            if lead and drafts:  # "[S4]" written after "2019." opens the next segment but closes this one
                last = drafts[-1]
                drafts[-1] = Draft(last.text, tuple(dict.fromkeys(last.cited + _ids(lead.group()))))
                chunk = chunk[lead.end() :]
            body = " ".join(_CITE.sub(" ", chunk).split())
            body = re.sub(r"\s+([.,;:!?])", r"\1", body)
            if re.search(r"\w", body):
                drafts.append(Draft(body, _ids(chunk)))
    return drafts, False


def _sentences(line: str) -> list[tuple[str, int]]:
    """The sentences of one line of a reply, each with where it ends. A split inside an open parenthesis
    is undone: the splitter takes "(d. 180 BC)" and "(25+26 Hen. VI, m. 32)" for sentence ends, and the
    first half, left without the citation that closes the sentence, was dropped (2 of 600 held-out
    answers lost their answer so)."""
    out: list[tuple[str, int]] = []
    open_paren = False
    for b in sentencex.get_sentence_boundaries("en", line):
        if open_paren:
            out[-1] = (out[-1][0] + b["text"], b["end_index"])
        else:
            out.append((b["text"], b["end_index"]))
        open_paren = out[-1][0].count("(") > out[-1][0].count(")")
    return out


def _ids(text: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(n) for m in _CITE.finditer(text) for n in _ID.findall(m.group())))


def split_complete(buffer: str) -> tuple[str, str]:
    """For streaming: the finished sentences at the start of ``buffer`` (with the markers that follow
    them) and the unfinished rest. A sentence is finished once words of the next one have begun."""
    cut = 0
    at = 0
    for line in buffer.split("\n"):
        ends = [at + end for _, end in _sentences(line)]
        cut = max([cut] + ends[:-1])
        at += len(line) + 1
        if at <= len(buffer):  # a finished line ends its last sentence too
            cut = max([cut] + ends[-1:])
    rest = buffer[cut:]
    lead = _LEADING.match(rest)
    if lead:
        cut += lead.end()
        rest = buffer[cut:]
    if not re.search(r"\w", re.sub(r"\[[^\]]*$", "", _CITE.sub("", rest))):
        return "", buffer  # the next sentence has not begun: more markers may still arrive for this one
    return buffer[:cut], rest


class OpenAIGenerator:
    """Chat completions through the ``openai`` client against any compatible endpoint. Retries with
    backoff on 429, 5xx, timeouts and dropped connections are the client's own (``max_retries``)."""

    def __init__(
        self,
        model: str | None,
        base_url: str | None,
        api_key: str | None,
        timeout: float,
        max_retries: int,
        temperature: float = 0.0,
    ):
        import openai

        self.model = model or os.environ.get("OPENAI_MODEL")
        if not self.model:
            raise GeneratorError("no model named: pass --model (e.g. gpt-4o-mini, or the name your server serves)")
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise GeneratorError(
                "no API key: set OPENAI_API_KEY (or api_key in rag.toml); a local server takes any value, e.g. OPENAI_API_KEY=local"
            )
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        self.temperature = temperature
        self.client = openai.OpenAI(api_key=key, base_url=self.base_url, timeout=timeout, max_retries=max_retries)

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str:
        with self._errors():
            limit = {} if max_tokens is None else {"max_tokens": max_tokens}
            reply = self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=self.temperature, **limit
            )  # type: ignore[arg-type,call-overload]
            if not reply.choices or reply.choices[0].message is None:
                raise GeneratorError(f"malformed reply from {self.base_url}: no choices")
            return reply.choices[0].message.content or ""

    def stream(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> Generator[str, None, None]:
        """The reply's text as it arrives. Left unfinished, the request is closed, so the server stops writing."""
        with self._errors():
            limit = {} if max_tokens is None else {"max_tokens": max_tokens}
            chunks = self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=self.temperature, stream=True, **limit
            )  # type: ignore[arg-type,call-overload]
            try:
                for chunk in chunks:
                    assert not isinstance(chunk, tuple)  # stream=True yields chunks; the stubs union in a tuple
                    if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
            finally:
                chunks.close()

    def _errors(self):  # type: ignore[no-untyped-def]
        return _translate_errors(self.base_url, self.model or "")


class _translate_errors:
    """Turns the client's exceptions into one-line GeneratorErrors that name the fix."""

    def __init__(self, base_url: str, model: str):
        self.base_url, self.model = base_url, model

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> Literal[False]:  # type: ignore[no-untyped-def]
        import openai

        if exc is None or isinstance(exc, GeneratorError) or not isinstance(exc, (openai.OpenAIError, ValueError)):
            return False
        # The first class the error is an instance of gives its message (a timeout is a connection error too).
        known = (
            (openai.AuthenticationError, "{where} refused the API key (401): check OPENAI_API_KEY"),
            (openai.NotFoundError, "{where} does not know model {model!r} (404): check --model"),
            (openai.RateLimitError, "{where} kept rate-limiting (429) after retries: wait, or lower the batch pace"),
            (openai.APITimeoutError, "{where} did not answer in time: raise timeout in rag.toml or check the server"),
            (
                openai.APIConnectionError,
                "cannot connect to {where}: is the server running? (--base-url / OPENAI_BASE_URL)",
            ),
            (openai.InternalServerError, "{where} failed with {status} after retries: try again later"),
            (openai.APIStatusError, "{where} answered {status}: {detail}"),
        )
        template = next((t for cls, t in known if isinstance(exc, cls)), "malformed reply from {where}: {detail}")
        status, detail = getattr(exc, "status_code", None), str(exc)[:200]
        msg = template.format(where=self.base_url, model=self.model, status=status, detail=detail)
        raise GeneratorError(msg) from exc

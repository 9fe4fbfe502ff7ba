"""`rag serve` over real HTTP: the JSON API, its errors, the queue and disconnects, the OpenAI-compatible
endpoint through the real `openai` client, and Ctrl-C on the real command. The index is the seeds'."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx2 as httpx
import openai
import pytest

from rag.evaluate import citation_is_valid, facts_found
from rag.serve.worker import AnswerWorker, Busy, Job
from tests.serving import free_port, running, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
UNANSWERABLE = "What is the capital of Peru?"


@pytest.fixture(scope="module")
def url(assistant):
    with running(assistant) as base:
        yield base


@pytest.fixture(scope="module")
def answerable(dev):
    return [q for q in dev if q.get("answerable") and q.get("answer_all")]


def post(url: str, path: str, body: object, **kw: object) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=60, **kw)


def assert_one_line_error(r: httpx.Response, status: int, *words: str) -> str:
    assert r.status_code == status, r.text
    message = r.json()["error"]["message"]
    assert "\n" not in message and "Traceback" not in message
    assert all(w in message for w in words), message
    return message


def test_ask_answers_dev_questions_with_citations_that_resolve(url, answerable, assistant):
    for q in answerable:
        r = post(url, "/ask", {"question": q["question"]})
        assert r.status_code == 200, r.text
        record = r.json()
        if record["abstained"]:
            continue  # the dev set's figures are the eval tests' job; here every answer must be checked
        assert facts_found(record["answer"], q["answer_all"]), (q["question"], record["answer"])
        cited = [c for s in record["sentences"] for c in s["citations"]]
        assert cited and all(citation_is_valid(c, assistant.index) for c in cited)
    assert (
        sum(not post(url, "/ask", {"question": q["question"]}).json()["abstained"] for q in answerable)
        >= len(answerable) - 1
    )


def test_an_unanswerable_question_is_declined_not_an_error(url):
    r = post(url, "/ask", {"question": UNANSWERABLE, "k": 3})
    assert r.status_code == 200 and r.json()["abstained"] is True and r.json()["sentences"] == []


def test_streamed_sentences_add_up_to_the_final_record(url, answerable):
    with httpx.stream(
        "POST", f"{url}/ask", json={"question": answerable[0]["question"], "stream": True}, timeout=60
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in r.iter_lines() if line]
    sentences = [e["sentence"] for e in events if "sentence" in e]
    final = events[-1]["answer"]
    # An extractive answer led by its phrase comes whole, as the record alone (it is ready all at once).
    assert sentences == final["sentences"] or (not sentences and final["answer_phrase"] and final["sentences"])


def test_batch_streams_one_line_per_question_in_order(url, answerable):
    questions = [answerable[0]["question"], "   ", {"id": "peru", "question": UNANSWERABLE}]
    r = post(url, "/batch", questions)
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [line["id"] for line in lines] == ["1", "2", "peru"]
    assert not lines[0]["abstained"] and "empty" in lines[1]["error"] and lines[2]["abstained"]
    # The object form takes options too.
    r = post(url, "/batch", {"questions": [UNANSWERABLE], "k": 2})
    assert len(json.loads(r.text)["passages"]) <= 2


def test_sources_returns_the_cited_sentence_among_its_neighbours(url, assistant):
    s = assistant.index.sentences[10]
    body = httpx.get(f"{url}/sources/{s.file}", params={"sentence": s.n, "around": 2}).json()
    cited = [x for x in body["sentences"] if x["cited"]]
    assert cited == [{"n": s.n, "text": s.text, "start": s.start, "end": s.end, "cited": True}]
    assert [x["n"] for x in body["sentences"]] == list(range(s.n - 2, s.n + 3))
    assert_one_line_error(httpx.get(f"{url}/sources/{s.file}", params={"sentence": 9999}), 404, "has no sentence 9999")
    assert_one_line_error(httpx.get(f"{url}/sources/nope.txt", params={"sentence": 1}), 404, "no file nope.txt")


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ('{"question": "Who', 400, ["not valid JSON"]),
        ("{}", 400, ['"question" is missing']),
        (json.dumps({"question": "x" * 1_000_000}), 400, ["1,000,000 characters", "under 2,000"]),
        (json.dumps({"question": "Who?", "k": 0}), 400, ['"k"']),
        (json.dumps({"question": "Who?", "generator": "gpt"}), 400, ['"generator"']),
        (json.dumps({"question": "x" * 5_000_000}), 413, ["bytes: send at most"]),
    ],
)
def test_bad_requests_get_one_line_and_the_right_status(url, body, status, words):
    r = httpx.post(f"{url}/ask", content=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert_one_line_error(r, status, *words)


def test_a_form_body_is_told_to_send_json(url):
    r = httpx.post(f"{url}/ask", data={"question": "Who?"})
    assert_one_line_error(r, 400, "Content-Type: application/json")


def test_the_api_key_is_checked_as_a_bearer_token(assistant):
    with running(assistant, api_key="s3cret") as base:
        assert_one_line_error(post(base, "/ask", {"question": "Who?"}), 401, "wrong API key")
        wrong = post(base, "/ask", {"question": "Who?"}, headers={"Authorization": "Bearer nope"})
        assert_one_line_error(wrong, 401, "RAG_SERVE_KEY")
        assert (
            post(base, "/ask", {"question": UNANSWERABLE}, headers={"Authorization": "Bearer s3cret"}).status_code
            == 200
        )
        assert (
            httpx.get(f"{base}/health").status_code == 200 and httpx.get(base).status_code == 200
        )  # page and probe stay open


def test_a_full_queue_answers_429_and_a_client_that_leaves_stops_its_work(assistant):
    with running(assistant, max_waiting=1) as base:
        many = [f"What did Microsoft invest in OpenAI, asked for the {i}th time?" for i in range(400)]
        with httpx.stream("POST", f"{base}/batch", json=many, timeout=60) as r:
            first = next(r.iter_lines())  # the worker is now busy with the batch
            assert json.loads(first)["id"] == "1"
            results: list[httpx.Response] = []
            asks = [
                threading.Thread(target=lambda: results.append(post(base, "/ask", {"question": UNANSWERABLE})))
                for _ in range(3)
            ]
            for t in asks:
                t.start()
            while not any(x.status_code == 429 for x in results):
                assert any(t.is_alive() for t in asks), [x.text for x in results]
            refused = next(x for x in results if x.status_code == 429)
            assert_one_line_error(refused, 429, "waiting: retry")
            assert refused.headers["retry-after"] == "1"
        # The client left mid-stream: the batch is cancelled, the waiting question is answered.
        for t in asks:
            t.join(60)
        assert any(x.status_code == 200 and x.json()["abstained"] for x in results)
        assert httpx.get(f"{base}/health").json()["waiting"] == 0


def test_worker_refuses_past_its_queue_without_starting(assistant):
    worker = AnswerWorker(assistant, max_waiting=2)  # not started: nothing is taken off the queue
    jobs = [Job([(None, "q")], lambda item: None) for _ in range(3)]
    worker.submit(jobs[0])
    worker.submit(jobs[1])
    with pytest.raises(Busy):
        worker.submit(jobs[2])
    assert worker.waiting == 2


def test_openai_client_gets_cited_answers_plain_and_streaming(url, answerable, assistant):
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["rag-cite"]
    q = answerable[0]
    reply = client.chat.completions.create(
        model="rag-cite",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": q["question"]}],
    )
    message = reply.choices[0].message
    citations = message.model_extra["citations"]
    assert facts_found(message.content, q["answer_all"]) and citations
    for c in citations:  # each [n] in the text is a listed, checked source
        assert f"[{c['n']}]" in message.content and f'"{c["text"]}"' in message.content
        assert citation_is_valid(c, assistant.index)
    stream = client.chat.completions.create(
        model="rag-cite", messages=[{"role": "user", "content": q["question"]}], stream=True
    )
    chunks = list(stream)
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks) == message.content
    assert (
        chunks[-1].choices[0].finish_reason == "stop"
        and chunks[-1].choices[0].delta.model_extra["citations"] == citations
    )
    # usage, counted in the embedding model's word pieces: on the plain reply, and as a last chunk on asking
    assert reply.usage.prompt_tokens > 3 and reply.usage.completion_tokens > 10
    assert reply.usage.prompt_tokens < 40 < 128 < reply.usage.completion_tokens  # the question, the whole reply
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    counted = list(
        client.chat.completions.create(
            model="rag-cite",
            messages=[{"role": "user", "content": q["question"]}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert counted[-1].choices == [] and counted[-1].usage.completion_tokens == reply.usage.completion_tokens
    assert chunks[-1].usage is None  # not asked for
    declined = client.chat.completions.create(model="rag-cite", messages=[{"role": "user", "content": UNANSWERABLE}])
    assert declined.choices[0].message.model_extra["abstained"] and declined.choices[0].message.content.startswith(
        "The articles do not say."
    )
    with pytest.raises(openai.BadRequestError, match="unknown model 'gpt-4'"):
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError, match="no user message"):
        client.chat.completions.create(model="rag-cite", messages=[{"role": "system", "content": "x"}])


@pytest.mark.slow
def test_ctrl_c_stops_the_server_cleanly_after_answering_what_it_holds(tmp_path, index_dir, corpus):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAG_SERVE_KEY", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--index-dir",
            str(index_dir),
            "--corpus",
            str(corpus),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        results: list[int | str] = []

        def ask() -> None:
            try:
                results.append(post(base, "/ask", {"question": "Who invested in OpenAI?"}).status_code)
            except httpx.TransportError as e:  # refused, or closed unread, once Ctrl-C came: never left hanging
                results.append(type(e).__name__)

        clients = [threading.Thread(target=ask) for _ in range(8)]
        for t in clients:
            t.start()
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=60)
        for t in clients:
            t.join(60)
    finally:
        server.kill()
    assert server.returncode == 0, stderr
    assert "warning" in stderr and "RAG_SERVE_KEY" in stderr  # listening beyond loopback with no key
    assert "Traceback" not in stderr, stderr
    assert len(results) == 8, results  # every client got an outcome
    assert all(r in (200, 503) for r in results if isinstance(r, int)), (
        results
    )  # a request taken in was answered or refused


def test_a_port_in_use_is_a_one_line_error_before_the_model_loads(index_dir):
    import socket

    from typer.testing import CliRunner

    from rag.cli.main import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port), "--index-dir", str(index_dir)])
    assert result.exit_code == 1 and "cannot listen on 127.0.0.1" in result.output and "--port" in result.output


def test_an_api_llm_chosen_per_request_streams_only_checked_sentences(assistant):
    from rag.assistant import Assistant
    from tests.chat_server import ChatServer, sid

    chat = ChatServer()
    sole = "sole provider of computational resources"
    chat.script = lambda r: {
        "reply": f"Microsoft was to be OpenAI's sole provider of computational resources. [{sid(r, sole)}] The moon is made of cheese. [S99]"
    }
    settings = assistant.settings.replace(model="test-model", base_url=chat.base_url, api_key="test-key", max_retries=0)
    try:
        with running(Assistant(assistant.index, assistant.embedder, settings), generators=("openai",)) as base:
            body = {
                "question": "Who was meant to be OpenAI's only supplier of computing resources?",
                "generator": "openai",
                "stream": True,
            }
            with httpx.stream("POST", f"{base}/ask", json=body, timeout=60) as r:
                events = [json.loads(line) for line in r.iter_lines() if line]
            assert (
                post(base, "/ask", {"question": "Who?"}).json()["generator"] == "extractive"
            )  # the server's default stays
    finally:
        chat.close()
    sentences = [e["sentence"] for e in events if "sentence" in e]
    assert [s["text"] for s in sentences] == ["Microsoft was to be OpenAI's sole provider of computational resources."]
    assert sole in sentences[0]["citations"][0]["text"]
    record = events[-1]["answer"]
    assert record["generator"] == "openai" and any("S99" in n for n in record["notes"])


def test_a_follow_up_in_a_conversation_is_asked_as_the_question_it_stands_for(url):
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    first = "When did Microsoft first invest in OpenAI?"
    alone = client.chat.completions.create(model="rag-cite", messages=[{"role": "user", "content": "And how much?"}])
    assert alone.choices[0].message.model_extra["abstained"]  # with nothing before it, it cannot be answered
    turns = [
        {"role": "user", "content": first},
        {"role": "assistant", "content": "In 2019. [1]"},
        {"role": "user", "content": "And how much?"},
    ]
    reply = client.chat.completions.create(model="rag-cite", messages=turns).choices[0].message
    assert not reply.model_extra["abstained"] and "$1 billion" in reply.content


@pytest.mark.parametrize("body", [["Who?"] * 20_000, {"questions": ["Who?"] * 20_000}])
def test_a_batch_over_the_limit_is_a_400_naming_it(url, body):
    r = httpx.post(f"{url}/batch", json=body, timeout=60)
    assert_one_line_error(r, 400, "1000")


def test_the_api_is_described_offline(url):
    """The description is JSON the server holds; no page that loads its scripts from a CDN."""
    spec = httpx.get(f"{url}/openapi.json", timeout=30)
    assert spec.status_code == 200 and "/ask" in spec.json()["paths"]
    assert httpx.get(f"{url}/docs", timeout=30).status_code == 404


def test_a_chat_request_without_messages_is_shown_the_messages_shape(url):
    r = httpx.post(f"{url}/v1/chat/completions", json={"model": "rag-cite"}, timeout=30)
    assert_one_line_error(r, 400, '"messages" is missing', '{"messages": [{"role": "user"')


def test_a_chunked_body_over_the_limit_is_a_413_and_one_under_it_is_answered(url):
    def chunks(total: int):
        piece = b" " * 65536
        yield b'{"question": "What is Stargate?"'
        for _ in range(total // len(piece)):
            yield piece
        yield b"}"

    big = httpx.post(
        f"{url}/ask", content=chunks(100 * 1024 * 1024), headers={"Content-Type": "application/json"}, timeout=60
    )
    assert_one_line_error(big, 413, "send at most")
    small = httpx.post(f"{url}/ask", content=chunks(65536), headers={"Content-Type": "application/json"}, timeout=60)
    assert small.status_code == 200 and "Stargate" in small.json()["answer"]


def test_a_request_may_choose_only_a_generator_the_operator_enabled(url):
    """A client must not make the server load (or pull) a model: "local" is refused unless enabled."""
    for path, body in (
        ("/ask", {"question": "What is Stargate?", "generator": "local"}),
        ("/batch", {"questions": ["What is Stargate?"], "generator": "openai"}),
    ):
        r = httpx.post(f"{url}{path}", json=body, timeout=30)
        assert_one_line_error(r, 400, "is not enabled on this server", "--generators")
    assert httpx.get(f"{url}/health", timeout=30).json()["generators"] == ["extractive"]

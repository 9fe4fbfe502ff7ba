"""The checks around an LLM's answer (rag/verify/whole_answer.py), each on and off, through the real
``openai`` client against a real local HTTP server; and the presets that choose them."""

import re
import typing

import pytest

from rag.config import LLM_PRESETS, LLMCheck, Settings
from rag.types import Answer
from rag.verify import whole_answer

from .chat_server import sid
from .llm_replies import FIRST, SOLE, SUPPLIER, reply


def test_every_check_is_registered_once_and_the_presets_name_only_those():
    registered = [
        *whole_answer.SENTENCE_RULES,
        *whole_answer.SENTENCE_FINISHERS,
        *whole_answer.GATES,
        *whole_answer.FINISHERS,
    ]
    assert sorted(registered) == sorted(typing.get_args(LLMCheck)) and len(set(registered)) == len(registered)
    assert set(LLM_PRESETS["local"].checks) == set(registered) and LLM_PRESETS["api"].checks == ()


def test_the_preset_follows_the_generator_unless_chosen():
    assert Settings(generator="local").llm_preset() == LLM_PRESETS["local"] == Settings(generator="llama").llm_preset()
    assert Settings(generator="openai").llm_preset() == LLM_PRESETS["api"]
    assert Settings(generator="openai", llm="local").llm_preset() == LLM_PRESETS["local"]
    assert Settings(generator="local", llm_checks=("reader",)).llm_preset().checks == ("reader",)


def test_an_unknown_check_is_refused_naming_it():
    from rag.types import ConfigError

    with pytest.raises(ConfigError, match="llm_checks"):
        Settings.load(llm_checks=("spellcheck",))


def test_with_gates_no_sentence_is_streamed_before_they_pass(server, llm):
    """A gate that drops the answer drops it before anything is shown: the stream holds only the
    extractive answer that stands in, and the note says which gate and why."""
    server.script = reply(lambda r: f"{STARGATE} [{sid(r, SOLE)}]")
    *streamed, final = list(llm(llm_checks=("reader",)).ask_stream(SUPPLIER))
    assert isinstance(final, Answer) and final.fallback and not streamed
    assert any("the reader scores it" in n for n in final.notes)


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
    answer = llm(llm_checks=("anchor_first", "asked") if agree_first else ()).ask(SUPPLIER)
    if agree_first:  # dropped; the extractive answer, which rests on the right sentence, stands in
        assert answer.fallback and any("rests on other sentences" in n for n in answer.notes)
        assert any(SOLE in c.text for c in answer.citations)
    else:
        assert not answer.fallback and not any(SOLE in c.text for c in answer.citations)


def test_agree_first_keeps_an_answer_citing_the_best_ranked_sentence(server, llm):
    server.script = reply(
        lambda r: (
            f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}] "
            + _another_context_sentence(r, SOLE)
        )
    )
    answer = llm(llm_checks=("anchor_first", "asked")).ask(SUPPLIER)
    assert not answer.fallback and answer.generator == "openai" and len(answer.sentences) == 2


def test_context_is_4_sentences_for_the_local_model_and_8_for_an_api_model(server, llm):
    assert Settings(generator="local").llm_preset().context_sentences == 4
    assert Settings(generator="openai").llm_preset().context_sentences == 8
    assert Settings(generator="local", context_sentences=6).llm_preset().context_sentences == 6
    for asked, shown in ((None, 8), (4, 4)):
        server.requests.clear()
        server.script = reply(
            lambda r: (
                f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]"
            )
        )
        llm(context_sentences=asked).ask(SUPPLIER)
        prompt = server.requests[0]["messages"][-1]["content"]
        assert f"[S{shown}]" in prompt and f"[S{shown + 1}]" not in prompt


TOTAL_Q = "How much did Microsoft invest in OpenAI in total?"
TOTAL = "Microsoft's total stake to over $10 billion"


@pytest.mark.parametrize("agree_first", [True, False])
def test_an_anchored_answer_without_the_figure_asked_for_gives_the_extractive_answer(server, llm, agree_first):
    # Cited to the right sentence and supported by it, but the figure it was asked for is left out.
    server.script = reply(lambda r: f"Subsequent investments have raised Microsoft's total stake. [{sid(r, TOTAL)}]")
    answer = llm(llm_checks=("anchor_first", "asked") if agree_first else ()).ask(TOTAL_Q)
    if agree_first:
        assert answer.fallback and any("does not state the figure asked for" in n for n in answer.notes)
        assert "$10 billion" in answer.text
    else:
        assert not answer.fallback and "$10 billion" not in answer.text


def test_an_anchored_answer_without_the_name_asked_for_gives_the_extractive_answer(server, llm):
    server.script = reply(
        lambda r: f"It was meant to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]"
    )
    answer = llm(llm_checks=("anchor_first", "asked")).ask(SUPPLIER)
    assert answer.fallback and any("does not state the name asked for" in n for n in answer.notes)
    assert "Microsoft" in answer.text


@pytest.mark.parametrize(
    "question, answer, reference, why",
    [
        # The held-out cases that led to the rule (benchmarks/local_llm.py, SQuAD-train validation part).
        (
            "There is a Federal Reserve Bank located in Richmond.  How many are there, total?",
            "There is a Federal Reserve Bank located in Richmond.",
            "The city is home to the Federal Reserve Bank of Richmond, one of 12 Federal Reserve Banks.",
            "restates",
        ),
        (
            "How large was the typical television recommended for the device?",
            "The typical television recommended for the device is meant to be placed atop it.",
            'The television it is connected to (typically 11" to 14") is meant to be placed atop it.',
            "figure",
        ),
        (
            "When did the protests begin?",
            "The protests began after the purge.",
            "On 17 February 2011, major protests broke out.",
            "date",
        ),
        (
            "On what date in 2011 did protests begin in Libya?",
            "On February 17, 2011, major protests broke out.",
            "On 17 February 2011, major protests broke out.",
            None,
        ),
        (
            "Who was commonly considered to be social parasites?",
            "State-registered merchants were considered social parasites.",
            "State-registered merchants were considered by the gentry as social parasites.",
            None,
        ),
        # No date where the reference has none either: the rule asks only for what the evidence gives.
        (
            "When did the protests begin?",
            "The protests began after the purge.",
            "The protests began after the purge of the army.",
            None,
        ),
        (
            "Bees can detect what kind of light?",
            "Bees can detect ultraviolet wavelengths.",
            "Bees can perceive ultraviolet wavelengths or polarized light.",
            None,
        ),
    ],
)
def test_why_not_an_answer_table(question, answer, reference, why):
    from rag.verify.asked import why_not_an_answer

    found = why_not_an_answer(question, answer, reference)
    assert (found is None) if why is None else (found is not None and why in found)


def _reads(phrase):
    """The answer prompt gets the right sentence, cited; the cross-check's prompt gets ``phrase``."""

    def script(request):
        if "Answer the question with a short phrase" in request["messages"][-1]["content"]:
            return {"reply": phrase}
        return {
            "reply": f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(request, SOLE)}]"
        }

    return script


def test_the_cross_check_drops_an_answer_the_model_reads_otherwise(server, llm):
    server.script = _reads("Oracle")
    answer = llm(llm_checks=("cross_check",)).ask(SUPPLIER)
    assert answer.fallback and any("reads 'Oracle' in the sentences it was given" in n for n in answer.notes)
    assert any(SOLE in c.text for c in answer.citations)
    check = server.requests[1]["messages"][-1]["content"]
    assert (
        check.rstrip().endswith(f"Question: {SUPPLIER}\nAnswer:")
        and SOLE in check
        and server.requests[1]["max_tokens"] == 24
    )
    assert "[S" not in check  # only the cited sentence, without the ids of the answer prompt


@pytest.mark.parametrize("phrase", ["Microsoft", "NONE", "  microsoft.\nThe rest is ignored."])
def test_the_cross_check_keeps_an_answer_it_reads_alike_or_cannot_read(server, llm, phrase):
    server.script = _reads(phrase)
    answer = llm(llm_checks=("cross_check",)).ask(SUPPLIER)
    assert not answer.fallback and answer.generator == "openai" and len(server.requests) == 2


EXCLUSIVE = "exclusive rights to sell OpenAI software tools"


def test_the_cross_check_reads_the_extractive_answers_sentences_after_the_cited_ones(server, llm):
    """An answer resting on another sentence than the extractive answer's is read again with both."""

    def script(request):
        if "Answer the question with a short phrase" in request["messages"][-1]["content"]:
            return {"reply": "Microsoft"}
        return {
            "reply": f"Microsoft has exclusive rights to sell OpenAI software tools on Azure. [{sid(request, EXCLUSIVE)}]"
        }

    server.script = script
    answer = llm(llm_checks=("cross_check",)).ask(SUPPLIER)
    assert not answer.fallback and EXCLUSIVE in answer.sentences[0].citations[0].text
    check = server.requests[1]["messages"][-1]["content"]
    assert EXCLUSIVE in check and SOLE in check and check.index(EXCLUSIVE) < check.index(SOLE)


def test_the_api_preset_asks_the_model_once(server, llm):
    server.script = _reads("Oracle")
    assert not llm().ask(SUPPLIER).fallback and len(server.requests) == 1


@pytest.mark.parametrize(
    "question, first, phrase, clash",
    [
        # Held-out answers of the local model (benchmarks/cross_check.py): a wrong member of the sentence...
        (
            "One company that IBM acquired in 2002 is?",
            "One company that IBM acquired in 2002 is Lexmark (1991).",
            "PwC",
            True,
        ),
        (
            "The microprocessor does what in a digital RGB LED?",
            "It sources the data in of the first LED.",
            "controls the brightness and color of each LED",
            True,
        ),
        # ...or a rewording that keeps some of the phrase's words and loses the one asked for...
        (
            "What are the ways an operator can malpractice?",
            "An operator can malpractice by intentionally or accidentally deviating from secure procedures.",
            "Due to them being tricked into deviating from secure procedures",
            True,
        ),
        # ...and right ones, figures written either way.
        ("How many boroughs are in NYC?", "There are five boroughs (counties) in New York City.", "5", False),
        (
            "How many Japanese merchant ships did Allied submarines sink during the war?",
            "The number of Japanese merchant ships destroyed by Allied submarines during the war was 1,200.",
            "1200",
            False,
        ),
        ("Who designed the museum?", "It was designed by Ana Ruiz.", "the museum", False),  # nothing the question lacks
    ],
)
def test_clashes_table(question, first, phrase, clash):
    from rag.verify.cross_check import clashes

    assert clashes(question, first, phrase) is clash


def test_a_reading_of_none_or_of_a_worked_example_is_no_verdict():
    from rag.verify.cross_check import reading

    assert reading("NONE") is None and reading("") is None and reading("Ana Ruiz") is None
    assert reading(' "PwC."\nmore') == "PwC"


STARGATE = "Microsoft allowed OpenAI to launch a self-built data center project called Stargate."


@pytest.mark.parametrize("reader_check", [True, False])
def test_the_reader_check_drops_a_true_cited_sentence_that_does_not_answer(server, llm, reader_check):
    # Every word is in the cited sentence, which is the one the extractive answer rests on, so the
    # citation check keeps it; read with the question, it is no answer to who the supplier was.
    server.script = reply(lambda r: f"{STARGATE} [{sid(r, SOLE)}]")
    answer = llm(llm_checks=("reader",) if reader_check else ()).ask(SUPPLIER)
    if reader_check:
        assert answer.fallback and any("the reader scores it" in n for n in answer.notes)
        assert "the extractive answer stands in" in answer.notes and not any(
            "survived the checks" in n for n in answer.notes
        )
        assert SOLE in answer.sentences[0].text and answer.sentences[0].text != STARGATE
    else:
        assert not answer.fallback and answer.sentences[0].text == STARGATE


def test_the_reader_check_keeps_an_answer_that_reads_as_well(server, llm):
    server.script = reply(
        lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]"
    )
    answer = llm(llm_checks=("reader",)).ask(SUPPLIER)
    assert not answer.fallback and answer.generator == "openai"


def test_weaker_answer_compares_the_best_sentences_by_the_margin():
    from rag.rank.reader import load_reader
    from rag.verify.reader_check import weaker_answer

    reader = load_reader(threads=1)
    answering = [
        "Although Microsoft is supposed to be the sole provider of computational resources for OpenAI, last year "
        "Microsoft allowed OpenAI to launch a self-built data center project called Stargate."
    ]
    read = weaker_answer(reader.logits, SUPPLIER, [STARGATE], answering)
    assert read is not None and read[0] < read[1] - 1
    assert weaker_answer(reader.logits, SUPPLIER, [STARGATE, *answering], answering) is None  # the best sentence counts
    assert weaker_answer(reader.logits, SUPPLIER, [STARGATE], answering, margin=100.0) is None
    assert weaker_answer(reader.logits, SUPPLIER, [], answering) is None


@pytest.mark.parametrize("complete", [True, False])
def test_complete_answer_adds_the_extractive_sentences_the_answer_does_not_cite(server, llm, complete):
    # The extractive answer gives the total, then the first investment; the model rewrites only the total.
    server.script = reply(
        lambda r: f"Subsequent investments raised Microsoft's total stake to over $10 billion. [{sid(r, TOTAL)}]"
    )
    answer = llm(llm_checks=("left_out",) if complete else ()).ask(TOTAL_Q)
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
    server.script = reply(
        lambda r: f"Microsoft was supposed to be OpenAI's sole provider of computational resources. [{sid(r, SOLE)}]"
    )
    extractive = assistant.ask(SUPPLIER)
    assert len(extractive.sentences) == 2 and SOLE in extractive.sentences[0].text
    answer = llm(llm_checks=("left_out",)).ask(SUPPLIER)
    assert not answer.fallback and len(answer.sentences) == 1 and not any(n.startswith("added") for n in answer.notes)


def test_complete_answer_streams_the_added_sentences(server, llm):
    server.script = reply(
        lambda r: f"Subsequent investments raised Microsoft's total stake to over $10 billion. [{sid(r, TOTAL)}]"
    )
    *streamed, final = list(llm(llm_checks=("left_out",)).ask_stream(TOTAL_Q))
    assert isinstance(final, Answer) and [s.text for s in streamed] == [s.text for s in final.sentences]
    assert [s.text for s in streamed][-1] == FIRST


@pytest.mark.parametrize("wording", [True, False])
def test_source_wording_puts_a_near_quote_in_the_cited_sentences_words(server, llm, wording):
    # The model adds a serial comma to the sentence it copies; the check keeps it either way.
    server.script = reply(
        lambda r: (
            "Microsoft has exclusive rights to sell OpenAI software tools on its Azure cloud platform, "
            f"and has priority usage rights to OpenAI technologies. [{sid(r, EXCLUSIVE)}]"
        )
    )
    answer = llm(llm_checks=("source_wording",) if wording else ()).ask(SUPPLIER)
    (sentence,) = answer.sentences
    assert not answer.fallback and sentence.citations
    assert ("platform and has priority" in sentence.text) is wording and (
        "platform, and has" in sentence.text
    ) is not wording
    assert sentence.text.startswith("Microsoft has exclusive rights")


def test_a_retired_check_setting_names_its_replacement(tmp_path):
    from rag.types import ConfigError

    config = tmp_path / "rag.toml"
    config.write_text("agree_first = true\nreader_check = false\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r'llm_checks = \["anchor_first", "asked", "reader"\]'):
        Settings.load(config)

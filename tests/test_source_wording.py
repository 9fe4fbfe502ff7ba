"""Near-quotes put back in the cited sentence's wording (rag/verify/source_wording.py), on the seeds' sentences."""

from pathlib import Path

from rag.verify.source_wording import in_source_wording

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_804249f35b507f04.txt"
SOLE = "Although Microsoft is supposed to be the sole provider of computational resources for OpenAI, last year Microsoft allowed OpenAI to launch a self-built data center project called Stargate."
RIGHTS = "According to existing contracts, Microsoft has exclusive rights to sell OpenAI software tools on its Azure cloud platform and has priority usage rights to OpenAI technologies."


def test_the_seed_sentence_is_real():
    text = SEED.read_text(encoding="utf-8")
    assert RIGHTS in text and SOLE in text


def test_a_serial_comma_and_a_dropped_article_take_the_sources_wording():
    answer = "Microsoft has exclusive rights to sell OpenAI software tools on its Azure cloud platform, and has priority usage rights."
    assert in_source_wording(answer, [RIGHTS]) == (
        "Microsoft has exclusive rights to sell OpenAI software tools on its Azure cloud platform and has priority usage rights."
    )
    dropped = "Microsoft was supposed to be sole provider of computational resources for OpenAI."
    assert (
        in_source_wording(dropped, [SOLE])
        == "Microsoft was supposed to be the sole provider of computational resources for OpenAI."
    )


def test_words_the_source_lacks_and_short_runs_stay_as_written():
    answer = "Microsoft was granted priority access, and it sells OpenAI's tools."
    assert in_source_wording(answer, [RIGHTS]) == answer
    changed = "Microsoft has exclusive rights to sell OpenAI software tools on its Google cloud platform."
    assert "Google cloud platform" in in_source_wording(changed, [RIGHTS])


def test_the_answers_first_letter_keeps_its_case():
    answer = "microsoft has exclusive rights to sell OpenAI software tools."
    assert in_source_wording(answer, [RIGHTS]).startswith("microsoft has exclusive")
    mid = "Under existing contracts, Microsoft Has Exclusive Rights to sell them."
    assert in_source_wording(mid, [RIGHTS]) == "Under existing contracts, Microsoft has exclusive rights to sell them."


def test_a_run_that_would_cut_a_quotation_in_two_stays_as_written():
    source = 'They call themselves "non-denominational" or "evangelical" to stand apart.'
    answer = "These groups are non-denominational or evangelical, by their own account."
    assert in_source_wording(answer, [source]) == answer
    quoted = 'They call themselves "non-denominational" or "evangelical" groups.'
    assert in_source_wording(quoted, [source]) == quoted

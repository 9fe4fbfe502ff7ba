"""The qualifier and relation rules of the citation check, on the seeds' own sentences: the false claims
a small model was seen to make (issue 10) are dropped, their true counterparts are kept."""

from __future__ import annotations

import pytest

from rag.types import Sentence
from rag.verify.claims import contradiction
from rag.verify.support import Verifier

from .chat_server import ChatServer, sid

FIRST = "Microsoft first invested $1 billion in OpenAI in 2019."
STARGATE = "OpenAI, in collaboration with SoftBank and Oracle, announced the 'Stargate' project"
FTC = "launched a comprehensive antitrust investigation into Microsoft"
TRANSITION = "transition from a for-profit to a non-profit entity"
STAKE = "raised Microsoft's total stake to over $10 billion"
SHARE = "from the current 20% to approximately 10% by 2030"

FALSE = [  # (claim, quote of the cited sentence, the rule that must catch it)
    ("The total investment by Microsoft in OpenAI was $1 billion.", FIRST, "qualifier"),
    ("SoftBank is putting $500 billion into the Stargate project.", STARGATE, "singled_out"),
    ("The FTC concluded its antitrust investigation into Microsoft.", FTC, "predicate"),
    ("Biden leads Microsoft.", FTC, "unlinked"),
    ("OpenAI invested $1 billion in Microsoft in 2019.", FIRST, "reversed"),
    ("OpenAI announced a move from a non-profit to a for-profit entity.", TRANSITION, "direction"),
    ("Microsoft did not invest in OpenAI in 2019.", FIRST, "negation"),
    ("Microsoft's total stake in OpenAI is $10 billion.", STAKE, "hedged"),
    ("OpenAI plans to cut Microsoft's revenue share to 10% by 2030.", SHARE, "hedged"),
]
TRUE = [
    ("Microsoft initially invested $1 billion in OpenAI in 2019.", FIRST),
    ("Microsoft invested $1 billion in OpenAI.", FIRST),
    ("OpenAI, SoftBank and Oracle announced a $500 billion project called Stargate.", STARGATE),
    ("OpenAI announced the $500 billion Stargate project with SoftBank and Oracle.", STARGATE),
    ("The FTC launched an antitrust investigation into Microsoft.", FTC),
    ("OpenAI announced a transition from a for-profit to a non-profit entity.", TRANSITION),
    ("Microsoft's total stake in OpenAI has been raised to more than $10 billion.", STAKE),
    ("OpenAI plans to reduce Microsoft's revenue share to about 10% by 2030.", SHARE),
]


def cited(index, quote: str) -> Sentence:
    hits = [s for s in index.sentences if quote in s.text]
    assert hits, quote
    return hits[0]


@pytest.fixture(scope="module")
def verifier(assistant):
    return Verifier(assistant.index, assistant.embedder, assistant.settings.support_threshold)


@pytest.mark.parametrize(("claim", "quote", "kind"), FALSE)
def test_each_kind_of_false_claim_is_caught_by_its_rule_and_dropped(claim, quote, kind, assistant, verifier):
    source = cited(assistant.index, quote)
    found = contradiction(claim, source.text)
    assert found is not None and found[0] == kind, found
    kept, dropped = verifier.check(claim, [source])
    assert kept == [] and dropped


@pytest.mark.parametrize(("claim", "quote"), TRUE)
def test_true_claims_about_the_same_sentences_are_kept(claim, quote, assistant, verifier):
    source = cited(assistant.index, quote)
    assert contradiction(claim, source.text) is None
    kept, _ = verifier.check(claim, [source])
    assert [c.key for c in kept] == [source.key]


def before(index, source: Sentence) -> str:
    return " ".join(s.text for s in index.sentences if s.file == source.file and source.n - 3 < s.n < source.n)


def test_a_partner_swapped_into_a_list_from_an_earlier_sentence_is_dropped(assistant, verifier):
    source = cited(assistant.index, "OpenAI explicitly opposes Microsoft gaining access")
    assert "GitHub" in before(assistant.index, source) and "GitHub" not in source.text  # near, not in it
    kept, dropped = verifier.check(
        "OpenAI opposes Microsoft and GitHub gaining access to Windsurf's intellectual property.", [source]
    )
    assert kept == [] and "listed with names of the cited text" in dropped[0]


def test_a_name_the_earlier_sentence_supplies_may_fill_in_what_the_cited_one_implies(assistant, verifier):
    source = cited(assistant.index, "raised Microsoft's total stake")
    assert "OpenAI" in before(assistant.index, source) and "OpenAI" not in source.text
    kept, _ = verifier.check(
        "Subsequent investments raised Microsoft's total stake in OpenAI to over $10 billion.", [source]
    )
    assert [c.key for c in kept] == [source.key]


def test_the_api_generator_never_shows_the_total_against_first_answer(assistant):
    from rag.assistant import Assistant

    server = ChatServer()
    server.script = lambda r: {
        "reply": f"The total investment by Microsoft in OpenAI was $1 billion. [{sid(r, 'first invested $1 billion')}]"
    }
    try:
        settings = assistant.settings.replace(
            generator="openai", model="m", base_url=server.base_url, api_key="k", max_retries=0
        )
        answer = Assistant(assistant.index, assistant.embedder, settings).ask(
            "How much did Microsoft invest in OpenAI in total?"
        )
    finally:
        server.close()
    assert all("total investment" not in s.text for s in answer.sentences)
    assert any("does not say 'total'" in n for n in answer.notes)


def test_a_negated_stopword_verb_is_still_read_as_negated():
    # "was not said", "is not made", "has not one of": the governed word is a stopword, still a verb.
    found = contradiction(
        "The partnership was not said to be among the most successful.",
        "The partnership was said to be among the most successful.",
    )
    assert found is not None and found[0] == "negation"


def test_a_name_from_the_sentence_before_cannot_stand_in_for_the_cited_sentences_own(assistant, verifier):
    # 000:18 "Microsoft first invested..." follows 000:17 about the FTC: the FTC may be borrowed only where
    # the cited sentence leaves a subject to fill in, not in place of the Microsoft it names.
    source = cited(assistant.index, FIRST)
    support = verifier.support("The FTC invested $1 billion in OpenAI in 2019.", [source])
    assert support.score == 0.0 and support.reason
    kept = verifier.support("Microsoft invested $1 billion in OpenAI in 2019.", [source])
    assert kept.score >= verifier.threshold


def test_a_comparison_turned_around_is_caught():
    """The local model's own sentence on a held-out SQuAD-train question (live run, 2026-12-04): every
    word but one is in the cited sentence, and that one is the opposite."""
    source = "Hence trees making rapid growth in the open have thicker sapwood for their size than trees of the same species growing in dense forests."
    claim = "Yes, a tree growing quickly out in the open has thinner sapwood for its size than the same kind of tree in a dense forest."
    assert contradiction(claim, source) == ("predicate", "the cited text says 'thicker', not 'thinner'")
    assert contradiction("Trees growing quickly in the open have thicker sapwood.", source) is None


def test_public_stated_as_public_and_private_is_caught():
    """The local model's own sentence, fresh-draw live run (2026-12-04)."""
    source = "In 2000, public schools enrolled nearly 280,000 of the Bronx's residents over 3 years old (out of 333,100 enrolled in all pre-college schools)."
    claim = "The Bronx public and private schools enrolled nearly 280,000 students over 3 years old in 2000."
    assert contradiction(claim, source) == ("predicate", "the cited text says 'public', not 'private'")
    assert (
        contradiction("The Bronx public schools enrolled nearly 280,000 students over 3 years old in 2000.", source)
        is None
    )


def test_a_name_given_what_the_text_says_of_another_name_is_caught():
    """The local model's claim on the sixth live draw (benchmarks/data/model_claims.json, seed1210): every
    word is in the cited sentence, but its clause on the volunteer army names the Southern Army."""
    source = (
        "The volunteer army comprised the Southern Army (Nanjun 南軍), while the standing army stationed in "
        "and near the capital was the Northern Army (Beijun 北軍)."
    )
    found = contradiction("The Northern Army (Beijun 北軍) was considered to be the volunteer army.", source)
    assert found is not None and found[0] == "paired", found
    for true in (
        "The Southern Army was considered to be the volunteer army.",
        "The Northern Army was the standing army.",
    ):
        assert contradiction(true, source) is None, true

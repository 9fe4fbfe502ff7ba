"""Issue 33: a question's premise checked against the best candidates; what the documents do say shown
when declining; summary questions answered from several places; conflicts only of cited sentences."""

from __future__ import annotations

from rag.answer.topic import asks_summary
from rag.render import render
from rag.verify.premise import broken_premise

NO_AGREEMENT = "001_c3bc2e358454ff8d.txt:22"  # "...but no agreement has been reached."


def test_a_negated_premise_is_broken_by_the_sentence_that_negates_it():
    said = ["Bernie Ebbers has pleaded not guilty to charges of fraud."]
    assert broken_premise("When did Bernie Ebbers plead guilty to fraud?", said) == (0, "the documents negate 'guilty'")


def test_an_opposite_predicate_breaks_the_premise():
    said = ["The weather was mild.", "The LSE rejected the offer from Deutsche Boerse in December."]
    assert broken_premise("Why did the LSE accept the offer from Deutsche Boerse?", said) == (
        1,
        "the documents say 'rejected', not 'accept'",
    )


def test_no_premise_is_read_into_sentences_about_someone_else_or_questions_that_offer_a_choice():
    # Ebbers is not Cooper; "weak or strong" asserts neither; the question negates itself; the sentence
    # also asserts the word it negates elsewhere.
    assert (
        broken_premise("Why did Cynthia Cooper plead guilty to fraud?", ["Mr Ebbers pleaded not guilty to fraud."])
        is None
    )
    assert (
        broken_premise("Is the city's university sector weak or strong?", ["The city has a strong university sector."])
        is None
    )
    assert broken_premise("Why did the board not accept the bid?", ["The board rejected the bid."]) is None
    said = ["House music was also developed on Ibiza, although no house artists came from the island."]
    assert broken_premise("On what island was house music also developed?", said) is None


def test_a_false_premise_on_the_seeds_is_declined_with_its_correction(assistant):
    answer = assistant.ask("When did Microsoft and OpenAI reach an agreement on the investment terms?")
    assert answer.abstained and answer.sentences == ()
    assert "premise" in answer.notes[0] and "agreement" in answer.notes[0]
    assert [c.key for c in answer.citations] == [NO_AGREEMENT]
    assert answer.text.startswith(answer.ABSTAIN_TEXT) and "no agreement has been reached. [1]" in answer.text
    record = answer.to_dict()
    assert record["abstained"] and record["instead"][0]["citations"][0]["sentence"] == 22
    assert f'[1] {answer.citations[0].where} "' in render(answer)


def test_a_declined_question_shows_only_sentences_on_its_topic(assistant):
    """An off-topic question gets the bare decline: no unrelated sentence dressed as what they say."""
    answer = assistant.ask("What is the boiling point of mercury in kelvin?")
    assert answer.abstained and answer.instead == () and answer.text == answer.ABSTAIN_TEXT


def test_a_summary_question_is_answered_with_several_cited_sentences_in_reading_order(assistant):
    question = "What are the main points of tension?"
    assert asks_summary(question) and not asks_summary("How many points did the index gain?")
    answer = assistant.ask(question)
    assert not answer.abstained, answer.notes
    assert 2 <= len(answer.sentences) <= 4 and all(len(s.citations) == 1 for s in answer.sentences)
    assert all("tension" in s.text.lower() for s in answer.sentences)
    places = [(c.file, c.sentence) for c in answer.citations]
    assert all(a[0] != b[0] or abs(a[1] - b[1]) > 1 for i, a in enumerate(places) for b in places[i + 1 :])
    files = list(dict.fromkeys(f for f, _ in places))
    assert places == sorted(places, key=lambda p: (files.index(p[0]), p[1]))

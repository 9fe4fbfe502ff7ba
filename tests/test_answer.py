import pytest

from rag.evaluate import facts_found, is_gold
from rag.types import InputError


def test_retrieval_returns_ranked_passages_from_both_retrievers(assistant):
    answer = assistant.ask("Which other cloud providers is OpenAI exploring?")
    scores = [h.score for h in answer.passages]
    assert len(answer.passages) == assistant.settings.k and scores == sorted(scores, reverse=True)
    assert any("Google Cloud" in h.chunk.text for h in answer.passages[:2])
    assert {v for h in answer.passages for v in h.via} == {"dense", "bm25"}


# Dev questions the learned answerer gets wrong, with why; the test fails if one starts passing, so the
# list cannot go stale. d10 was answered by the hand-set rules that were fitted to these twelve questions;
# the only word it shares with its answer line ("Source: theweek.in Tiff in tech: ...") is "partnership",
# and the confidence (0.05) is rightly low for such evidence.
KNOWN_DEV_MISSES = {"d10": "declined: 'The Week' and 'headline' match nothing in the answer line"}


def test_dev_questions_answered_with_facts_and_gold_or_abstained(assistant, dev, corpus):
    for q in dev:
        answer = assistant.ask(q["question"], id=q["id"])
        if q["id"] in KNOWN_DEV_MISSES:
            assert answer.abstained or not facts_found(answer.text, q["answer_all"]), (
                f"{q['id']} passes now: drop it from KNOWN_DEV_MISSES"
            )
            continue
        if not q["answerable"]:
            assert answer.abstained, (q["id"], answer.text)
            assert answer.sentences == () and answer.text.startswith(answer.ABSTAIN_TEXT)
            assert all(c.text in (corpus / c.file).read_text(encoding="utf-8") for c in answer.citations)
            continue
        assert not answer.abstained, (q["id"], answer.notes)
        assert facts_found(answer.text, q["answer_all"]), (q["id"], answer.text)
        assert any(is_gold(c.file, c.text, q["gold"]) for c in answer.citations), (q["id"], answer.text)


def test_every_sentence_is_cited_and_every_citation_is_verbatim(assistant, dev, corpus):
    for q in dev:
        answer = assistant.ask(q["question"])
        for s in answer.sentences:
            assert s.citations
            for c in s.citations:
                source = (corpus / c.file).read_text(encoding="utf-8")
                assert source[c.start : c.end] == c.text
                assert assistant.index.sentence(c.file, c.sentence).text == c.text
                assert any(
                    c.file == h.chunk.file and h.chunk.first <= c.sentence <= h.chunk.last for h in answer.passages
                )


def test_an_answer_opening_with_a_pointer_back_brings_its_antecedent(assistant):
    answer = assistant.ask("What could trigger a complex legal battle between the companies?")
    cited = [(c.file, c.sentence) for c in answer.citations]
    ((file, n),) = [(c.file, c.sentence) for c in answer.citations if "complex legal battle" in c.text]
    assert (file, n - 1) in cited and cited.index((file, n - 1)) < cited.index((file, n))


def test_abstention_says_why(assistant):
    answer = assistant.ask("How many GPUs will the Stargate data centers hold?")
    assert answer.abstained and "gpus" in answer.notes[0]


def test_record_schema(assistant):
    record = assistant.ask("What did Microsoft gain after ChatGPT succeeded?", id="q7").to_dict()
    assert record["id"] == "q7" and record["abstained"] is False
    assert record["answer"].endswith("[1]")
    citation = record["sentences"][0]["citations"][0]
    assert set(citation) >= {"file", "sentence", "start", "end", "text"}
    assert {"file", "chunk", "score", "text"} <= set(record["passages"][0])
    assert set(record["timings"]) == {"embed", "retrieve", "answer", "total"}


@pytest.mark.parametrize("bad", ["", "   \n ", "x" * 5000])
def test_bad_questions_raise_input_error(assistant, bad):
    with pytest.raises(InputError):
        assistant.ask(bad)


def test_ask_many_numbers_questions_in_order(assistant):
    answers = list(assistant.ask_many(["Who invested $1 billion in OpenAI in 2019?", ("x", "What is Stargate?")]))
    assert [a.id for a in answers] == ["1", "x"]


def test_the_quick_start_answer_is_the_sentence_the_readme_shows(assistant):
    answer = assistant.ask("Who was meant to be OpenAI's only supplier of computing resources?")
    assert (answer.citations[0].file, answer.citations[0].sentence) == ("000_804249f35b507f04.txt", 20)


def test_the_dev_copy_matches_the_teams_file():
    from .conftest import DEV, TEAM_DEV

    if not TEAM_DEV.is_file():
        pytest.skip(f"{TEAM_DEV} is not beside this clone")
    assert DEV.read_text(encoding="utf-8") == TEAM_DEV.read_text(encoding="utf-8"), f"copy {TEAM_DEV} to {DEV}"


def test_a_misspelled_word_is_read_as_the_corpus_word_it_is_one_edit_from(assistant):
    """'microsft' and 'wat' are typos, not words the articles lack; 'GPUs' is one edit from 'GPT' and
    still a word they never mention."""
    typed = assistant.ask("wat is microsft's stake in OpenAI?")
    assert not any("never mention" in n for n in typed.notes), typed.notes
    assert "Microsoft" in typed.text
    absent = assistant.ask("How many GPUs did OpenAI buy?")
    assert absent.abstained and "never mention 'gpus'" in absent.notes[0]


def test_the_answer_leads_with_the_phrase_that_answers(assistant, corpus):
    """The shipped phrase reader on a paraphrase ("only supplier of computing resources" for "sole
    provider of computational resources"): the phrase is a slice of the cited sentence, its span points
    into the file, and it leads the text and the record."""
    a = assistant.ask("Who was meant to be OpenAI's only supplier of computing resources?")
    assert a.phrase is not None and a.phrase.text == "Microsoft"
    source = (corpus / a.phrase.citation.file).read_text(encoding="utf-8")
    assert source[a.phrase.start : a.phrase.end] == "Microsoft"
    assert a.phrase.citation.start <= a.phrase.start < a.phrase.end <= a.phrase.citation.end
    n = [c.key for c in a.citations].index(a.phrase.citation.key) + 1
    assert a.text.startswith(f"Microsoft [{n}]\n")
    assert a.to_dict()["answer_phrase"]["text"] == "Microsoft"


def test_no_phrase_where_none_is_asked_for_or_found(assistant, index_dir, settings):
    from rag.assistant import Assistant

    declined = assistant.ask("How many GPUs did OpenAI buy?")
    assert declined.abstained and declined.phrase is None and declined.to_dict()["answer_phrase"] is None
    without = Assistant.from_index(index_dir, settings.replace(answer_phrase=False))
    plain = without.ask("Who was meant to be OpenAI's only supplier of computing resources?")
    assert plain.phrase is None and not plain.text.startswith("Microsoft [")

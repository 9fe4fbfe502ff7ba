import pytest

from rag.verify.support import Verifier, names

from .support_pairs import support_pairs


@pytest.fixture(scope="module")
def verifier(assistant):
    return Verifier(assistant.index, assistant.embedder, assistant.settings.support_threshold)


def test_precision_and_recall_on_labelled_pairs(verifier, assistant):
    pairs = support_pairs(assistant.index)
    kept = [(verifier.support(claim, cited).score >= verifier.threshold, label) for claim, cited, label in pairs]
    tp = sum(k and label == "supported" for k, label in kept)
    fp = sum(k and label != "supported" for k, label in kept)
    fn = sum(not k and label == "supported" for k, label in kept)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\nverifier on {len(pairs)} pairs: precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.95 and recall >= 0.95
    assert {label for _, label in kept} == {"supported", "unsupported", "contradicted"}


def test_check_keeps_the_supporting_citation_and_says_why_the_other_went(verifier, assistant):
    index = assistant.index
    first = next(s for s in index.sentences if "first invested $1 billion" in s.text)
    other = next(s for s in index.sentences if "Tiff in tech" in s.text)
    kept, dropped = verifier.check("Microsoft first invested $1 billion in OpenAI in 2019.", [first, other])
    assert [c.key for c in kept] == [first.key]
    assert dropped and dropped[0].startswith(other.key)
    kept, dropped = verifier.check("Microsoft first invested $3 billion in OpenAI in 2019.", [first])
    assert kept == [] and "number 3" in dropped[0]


def test_names_skip_an_ordinary_first_word_but_not_a_name():
    assert names("Despite this, Microsoft and OpenAI's deal held.") == {"microsoft", "openai"}
    assert "amazon" in names("Amazon's cloud grew.", known=lambda w: w != "amazon")

"""The learned answerer: the shipped weights load and behave, on the real seeds with the real model.
Nothing is trained here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.answer.base import Answerer
from rag.answer.extractive import ExtractiveAnswerer, pick
from rag.rank.features import SENTENCE_FEATURES
from rag.rank.question import KINDS, question_kind, question_names, unnamed_near
from rag.rank.scorer import PARAMS, AnswerScorer, Calibrated, load_scorer
from rag.types import ModelError

QUICK_START = "Who was meant to be OpenAI's only supplier of computing resources?"
STARGATE_REVENUE = "How much revenue did Stargate earn last year?"


def test_shipped_weights_carry_their_recipe_data_and_figures():
    params = json.loads(PARAMS.read_text())
    assert params["recipe"].startswith("python -m train.fit_answerer")
    assert "SQuAD" in params["data"] and "valid" in params["data"]
    assert 0 < params["answerable_threshold"] < 1 and 0 <= params["threshold"] < 1 and 0 <= params["second_share"] <= 1
    assert params["valid_figures"]["ece"] <= 0.05


def test_shipped_weights_score_the_gold_sentence_first(assistant):
    """The known case: the quick-start question's answer sentence outranks every other candidate."""
    scorer = load_scorer()
    c, evidence = _evidence(assistant, QUICK_START)
    logits = scorer.sentence_logits(c.features)
    best = assistant.index.sentences[c.pool.rows[int(np.argmax(logits))]]
    assert "sole provider of computational resources" in best.text
    assert evidence.ranked[0].sentence == best and evidence.answerable >= scorer.answerable_threshold


def test_weights_for_other_features_are_refused():
    params = json.loads(PARAMS.read_text())
    params["sentence_features"] = params["sentence_features"][:-1]
    with pytest.raises(ModelError, match="retrain"):
        AnswerScorer.from_dict(params)


def test_the_extractive_answerer_is_an_answerer(assistant):
    answerer: Answerer = assistant.answerer
    assert isinstance(answerer, ExtractiveAnswerer) and answerer.name == "extractive"


def test_a_false_premise_is_declined(assistant):
    """The articles never give a GPU count; the question presumes they do."""
    answer = assistant.ask("How many GPUs will the Stargate data centers hold?")
    assert answer.abstained and answer.sentences == ()
    assert answer.confidence is not None and "gpus" in answer.notes[0]


def test_an_on_topic_false_premise_is_declined(assistant):
    """Stargate is in the articles; no revenue of it is."""
    answer = assistant.ask(STARGATE_REVENUE)
    assert (
        answer.abstained
        and answer.answerable is not None
        and answer.answerable < assistant.answerer.answerable_threshold
    )
    assert answer.notes and "unlikely to hold the answer" in answer.notes[0]


def test_the_answerability_decides_and_its_threshold_is_a_setting(assistant):
    """The false premise above is declined on the answerability alone: with that gate opened, the same
    evidence is answered, and both probabilities are in the record either way."""
    from rag.assistant import Assistant

    declined = assistant.ask(STARGATE_REVENUE)
    opened = Assistant(assistant.index, assistant.embedder, assistant.settings.replace(answerable_below=0.0)).ask(
        STARGATE_REVENUE
    )
    assert declined.abstained and not opened.abstained and opened.sentences
    assert opened.answerable == declined.answerable and opened.confidence == declined.confidence
    record = opened.to_dict()
    assert 0 <= record["answerable"] < assistant.answerer.answerable_threshold and 0 <= record["confidence"] <= 1


@pytest.mark.xfail(
    strict=True,
    reason="the buyer is swapped: OpenAI bought Windsurf for $3 billion, and the reader reads that "
    "sentence as answering (answerability 0.49 against 0.35; 0.23 before the reader)",
)
def test_a_false_premise_about_who_bought_is_declined(assistant):
    assert assistant.ask("What price did Microsoft pay to buy Windsurf?").abstained


# Written before the learned answerer was run on the seeds, and kept as found: these fail today.
# strict=True, so the day one passes the suite says so.
@pytest.mark.xfail(
    strict=True, reason="on-topic false premise: every word is in the articles, the answerability stays high (0.95)"
)
def test_a_false_premise_about_a_sale_is_declined(assistant):
    assert assistant.ask("In what year did Microsoft sell its stake in OpenAI?").abstained  # it never did


def test_a_paraphrased_question_is_answered(assistant):
    # "sign a cloud agreement ... for extra training capacity" for "securing a cloud service deal ...
    # for additional AI model training resources"
    answer = assistant.ask("Which firm did OpenAI reportedly sign a cloud agreement with for extra training capacity?")
    assert not answer.abstained, answer.notes
    assert "Google" in answer.text and len(answer.sentences) <= 2


@pytest.mark.xfail(
    strict=True,
    reason="paraphrase too far: 'AI specialist ... bring on board' for 'strategic hires, including AI expert'",
)
def test_a_far_paraphrase_is_answered(assistant):
    answer = assistant.ask("Which AI specialist did Microsoft bring on board?")
    assert not answer.abstained and "Mustafa Suleyman" in answer.text


def test_confidence_is_in_the_record_and_between_0_and_1(assistant):
    record = assistant.ask(QUICK_START).to_dict()
    assert 0 <= record["confidence"] <= 1


def test_one_sentence_unless_the_question_asks_for_several_or_two_are_close(assistant):
    _, one = _evidence(
        assistant, "Which outlet reported that OpenAI wants to weaken Microsoft's control over its products?"
    )
    assert len(pick(one, 2, 1.0)) == 1 and len(pick(one, 1, 0.0)) == 1
    assert len(pick(one, 2, 0.0)) == 2  # a share of 0 always takes the runner-up
    _, several = _evidence(assistant, "What are the two reasons the partnership is strained?")
    assert len(pick(several, 2, 1.0)) == 2


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who leads Microsoft?", "who"),
        ("In what year did Microsoft first invest?", "when"),
        ("How much did Microsoft invest in total?", "quantity"),
        ("Which city hosts the data center?", "where"),
        ("Why is AGI controversial?", "why"),
        ("Name the outlet.", "other"),
    ],
)
def test_question_kinds(question, kind):
    assert question_kind(question) == kind and kind in KINDS


def test_feature_rows_are_finite_and_named(assistant):
    c, _ = _evidence(assistant, QUICK_START)
    assert c.features.shape == (len(c.pool.rows), len(SENTENCE_FEATURES))
    assert np.isfinite(c.features).all()


def test_names_the_sentences_around_the_answer_never_use_are_counted(assistant):
    """A question about Greece answered from the seeds' sentence on Microsoft's first investment: one of
    its two names is used there, the other nowhere near it."""
    index = assistant.index
    s = next(x for x in index.sentences if "Microsoft first invested" in x.text)
    names = question_names("How much did Microsoft invest in Greece?")
    assert names == {"microsoft", "greece"}
    assert unnamed_near(names, index, s.file, s.n) == 0.5
    assert unnamed_near(question_names("How much did Microsoft invest in OpenAI?"), index, s.file, s.n) == 0.0
    assert unnamed_near(frozenset(), index, s.file, s.n) == 0.0
    # Oracle is in the articles, but not in this one: missing near the answer all the same.
    assert any("Oracle" in x.text for x in index.sentences)
    assert unnamed_near(question_names("How much did Oracle invest in Microsoft?"), index, s.file, s.n) == 0.5


def test_a_logistic_and_a_network_are_read_alike():
    """The question models ship as a logistic regression (coef, intercept) or as layers; either is
    Platt-scaled the same way."""
    coef, intercept = [0.5, -1.0], 0.25
    x = np.array([2.0, 1.0], np.float32)
    logistic = Calibrated.from_dict({"coef": coef, "intercept": intercept}, {"a": 2.0, "b": -0.5})
    one_layer = Calibrated.from_dict({"layers": [{"W": [[0.5], [-1.0]], "b": [0.25]}]}, {"a": 2.0, "b": -0.5})
    expected = 1 / (1 + np.exp(-(2.0 * (1.0 - 1.0 + 0.25) - 0.5)))
    assert logistic(x) == pytest.approx(expected) and one_layer(x) == pytest.approx(expected)
    # Two layers: ReLU between, so a negative hidden unit adds nothing.
    two = Calibrated.from_dict(
        {"layers": [{"W": [[1.0, -1.0], [0.0, 0.0]], "b": [0.0, 0.0]}, {"W": [[1.0], [1.0]], "b": [0.0]}]},
        {"a": 1.0, "b": 0.0},
    )
    assert two(x) == pytest.approx(1 / (1 + np.exp(-2.0)))


def _evidence(assistant, question):
    from rag.rank.rerank import candidates, rank
    from rag.rank.retrieve import rankings_many

    s = assistant.settings
    vector = assistant.embedder.embed([question], "query")
    rankings = rankings_many(assistant.index, [question], vector, s.pool, s.rrf_k)[0]
    c = candidates(question, vector[0], rankings, assistant.index, assistant.embedder)
    return c, rank(c, rankings, assistant.index, assistant.scorer, s.k)

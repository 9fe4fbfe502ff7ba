"""The reader: the shipped cross-encoder loads without torch, reads the real seeds' sentences the way its
training says it should, and its say is combined with the scorer's as documented. Nothing is trained here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rag.config import available_cores
from rag.rank.reader import NO_READING, READER_FEATURES, READER_PARAMS, load_reader, reader_features
from rag.rank.scorer import PARAMS, load_scorer, reordered
from rag.types import ModelError

QUESTION = "Who was meant to be OpenAI's only supplier of computing resources?"


def _seed_sentences(assistant, *parts):
    return [next(s.text for s in assistant.index.sentences if p in s.text) for p in parts]


def test_the_shipped_reader_carries_its_recipe_and_was_fitted_with_the_question_models():
    reader = load_reader()
    assert reader.meta.startswith("python -m train.fit_reader") and "SQuAD" in reader.meta
    params = json.loads(PARAMS.read_text())
    # The question models learned from this reader's logits: a reader swapped alone would mislead them.
    assert params["reader"]["file"] == READER_PARAMS.name and params["reader"]["meta"] == reader.meta
    assert 1 <= params["reader"]["top"] <= 8


def test_the_reader_reads_the_answering_sentence_above_ones_that_share_its_words(assistant):
    """The known case: the sentence that answers against seed sentences about the same two companies."""
    answering, *others = _seed_sentences(
        assistant,
        "sole provider of computational resources",
        "Microsoft first invested",
        "exclusive rights to sell",
        "collaborate with more cloud service providers",
    )
    logits = load_reader().logits(QUESTION, [answering, *others])
    # A paraphrase ("only supplier of computing resources" for "sole provider of computational
    # resources"): the answering sentence reads far above the others, though not surely yes on its own.
    assert logits[0] > max(logits[1:]) + 2, logits


def test_the_reader_says_no_to_a_sentence_on_another_subject(assistant):
    (sentence,) = _seed_sentences(assistant, "sole provider of computational resources")
    assert load_reader().logits("What is the capital city of Australia?", [sentence])[0] < 0


def test_a_pair_reads_the_same_whatever_is_read_with_it(assistant):
    """The int8 graph scales activations by the whole input's range, so pairs are run one at a time: a
    sentence reads the same in an answer's three, in a training batch, and alone."""
    texts = [s.text for s in assistant.index.sentences[:12]]
    reader = load_reader()
    together = reader.logits(QUESTION, texts)
    alone = np.array([reader.logits(QUESTION, [t])[0] for t in texts])
    reversed_ = reader.logits(QUESTION, texts[::-1])[::-1]
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(together, reversed_, atol=1e-5)


def test_the_question_path_reads_without_torch():
    code = (
        "import sys; from rag.rank.reader import load_reader; "
        "print(load_reader().logits('Who?', ['Ana Ruiz designed it.'])[0]); assert 'torch' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_damaged_reader_is_a_model_error_naming_the_fix(tmp_path):
    broken = tmp_path / "reader.onnx"
    broken.write_bytes(READER_PARAMS.read_bytes()[:1000])
    with pytest.raises(ModelError, match="reinstall"):
        load_reader(broken)


def test_reader_features_are_the_best_candidates_logit_the_highest_and_the_runner_up():
    assert reader_features(np.array([-3.0, 4.0, 1.0], np.float32)).tolist() == [-3.0, 4.0, 1.0]
    assert reader_features(np.array([2.0], np.float32)).tolist() == [2.0, 2.0, NO_READING]
    assert reader_features(np.zeros(0, np.float32)).tolist() == [NO_READING] * len(READER_FEATURES)


def test_where_a_candidate_states_the_asked_qualifier_the_scorers_order_stands(assistant):
    """The reader reads past qualifiers ("total" against "first"): it prefers the first $1 billion, so
    where a read candidate states the question's qualifier, the answer keeps the scorer's order."""
    from tests.test_answerer import _evidence

    scorer = load_scorer()
    question = "How much did Microsoft invest in OpenAI in total?"
    c, evidence = _evidence(assistant, question)
    logits = scorer.sentence_logits(c.features)
    first = evidence.ranked[0].sentence.text
    assert first == assistant.index.sentences[c.pool.rows[int(np.argmax(logits))]].text and "total stake" in first
    read = scorer.read(question, logits, lambda i: assistant.index.sentences[c.pool.rows[i]].text)
    assert read[0] == load_reader().logits(question, [first])[0] and read.max() > read[0]  # it would have reordered


def test_the_reader_reorders_the_best_candidates_to_the_answering_one(assistant):
    """ "How much did OpenAI pay for Windsurf?": the scorer ranks a sentence about $20 billion of funding
    first; the reader lifts the one with the $3 billion Windsurf deal over it, and the answer opens with it."""
    from tests.test_answerer import _evidence

    c, evidence = _evidence(assistant, "How much did OpenAI pay for Windsurf?")
    by_scorer = assistant.index.sentences[
        c.pool.rows[int(np.argmax(assistant.scorer.sentence_logits(c.features)))]
    ].text
    assert "Windsurf" not in by_scorer
    answer = assistant.ask("How much did OpenAI pay for Windsurf?")
    assert not answer.abstained and "Windsurf for $3 billion" in answer.sentences[0].text


def test_reordered_lifts_by_the_reader_only_among_what_it_read():
    scorer_logits = np.array([2.0, 1.0, 0.5, 1.5], np.float32)  # the best 3 by the scorer: rows 0, 3, 1
    read = np.array([-2.0, 0.0, 3.0], np.float32)  # for rows 0, 3, 1
    none = np.zeros(4, np.float32)
    out = reordered(scorer_logits, read, none, 1.0)
    assert np.argsort(-out, kind="stable").tolist() == [1, 3, 0, 2]  # 4.0, 1.5, 0.0, then the unread row
    assert np.argsort(-reordered(scorer_logits, read, none, 0.0), kind="stable").tolist() == [0, 3, 1, 2]
    stated = np.array([0.0, -1.0, 0.0, 1.0], np.float32)  # row 3 states the question's qualifier
    assert np.argsort(-reordered(scorer_logits, read, stated, 1.0), kind="stable").tolist() == [0, 3, 1, 2]
    unread_only = np.array([0.0, 0.0, 1.0, 0.0], np.float32)  # stated by a candidate the reader never read
    assert reordered(scorer_logits, read, unread_only, 1.0)[1] == 4.0


def test_the_threads_setting_governs_the_reader_too(assistant):
    from rag.assistant import Assistant

    load_reader.cache_clear()
    one = Assistant(assistant.index, assistant.embedder, assistant.settings.replace(threads=1))
    assert not one.ask(QUESTION).abstained
    hits = load_reader.cache_info().hits
    reader = load_reader(threads=1)  # the one the answer used: found, not made anew
    assert load_reader.cache_info().hits == hits + 1
    assert reader.workers == 1 and reader.session.get_session_options().intra_op_num_threads == 1


def _read_in_child(texts, out):  # type: ignore[no-untyped-def]
    out.put(load_reader().logits(QUESTION, texts).tolist())


@pytest.mark.skipif(not hasattr(os, "fork") or available_cores() < 2, reason="needs fork and two cores")
def test_pairs_read_side_by_side_read_the_same_in_a_forked_child(assistant):
    """The reading threads do not survive a fork; a child makes its own instead of waiting on dead ones."""
    import multiprocessing

    texts = [s.text for s in assistant.index.sentences[:4]]
    reader = load_reader()
    assert reader.workers >= 2
    here = reader.logits(QUESTION, texts).tolist()  # the parent's threads exist before the fork
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_read_in_child, args=(texts, out))
    child.start()
    there = out.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0 and there == here

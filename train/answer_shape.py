"""The answer's order and shape, chosen on the question models' questions (train/fit_answerer.py): the
reader's weight in the order (rag.rank.scorer.reordered) and the runner-up's share that adds a second
sentence (rag.answer.extractive.takes_runner_up), judged by whether the answer holds the gold answer."""

from __future__ import annotations

import logging

import numpy as np

from rag.answer.extractive import takes_runner_up
from rag.rank.features import shares
from rag.rank.rerank import QUALIFIER
from rag.rank.scorer import reordered
from train.collect import QuestionData

log = logging.getLogger(__name__)

SHAPE_SLACK = 0.015  # holds-gold given up for shorter answers, against always answering with two sentences
# The reader's weight in the answer's order (rag.rank.scorer.reordered), chosen with the shape on the
# question models' questions. On them, the answer held gold 0.818 at weight 0 and 0.833-0.837 from
# 0.5 to 1.0 (each with its own second_share).
READER_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
# The runner-up's share of the best's probability, tried for the shape: finer near 0, since the
# reordered shares are sharper than the scorer's alone.
SECOND_SHARES = (
    0.0,
    0.001,
    0.002,
    0.005,
    *np.round(np.arange(0.01, 0.1, 0.01), 2),
    *np.round(np.arange(0.1, 1.01, 0.05), 2),
)


def outcome(d: QuestionData, logits: np.ndarray, second_share: float) -> tuple[bool, int]:
    """Whether the answer the extractive answerer builds (extractive.pick, without the antecedent)
    holds the gold answer, and its number of sentences. Unanswerable questions never hold it."""
    if not len(logits):
        return False, 0
    order = np.argsort(-logits, kind="stable")
    picked = [order[0]]
    p = shares(logits)[order]
    if len(order) > 1 and takes_runner_up(d.qa.question, p[0], p[1], second_share):
        picked.append(order[1])
    holds = d.qa.kind == "answerable" and bool(d.holds[picked].any())
    return holds, len(picked)


def answer_logits(
    data: list[QuestionData], logits: list[np.ndarray], read: list[np.ndarray], weight: float
) -> list[np.ndarray]:
    """Per question, the logits in the answer's order (rag.rank.scorer.reordered, as rank.rank applies it)."""
    return [reordered(z, r, d.features[:, QUALIFIER], weight) for d, z, r in zip(data, logits, read, strict=True)]


def choose_reader_weight(
    data: list[QuestionData], logits: list[np.ndarray], read: list[np.ndarray]
) -> tuple[float, float, list[np.ndarray]]:
    """The reader's weight in the answer's order, the shape's second_share for it, and the answer
    logits they give: the pair whose answers hold the gold answer most often, among those whose answers
    are on average no longer than the scorer's order alone (weight 0) gives; more sentences would hold
    more by padding."""
    tried = []  # (held, length, weight, share, answer logits) per weight
    for weight in READER_WEIGHTS:
        order = answer_logits(data, logits, read, weight)
        share = choose_second_share(data, order)
        shaped = [outcome(d, z, share) for d, z in zip(data, order, strict=True) if d.qa.kind == "answerable"]
        held, length = float(np.mean([h for h, _ in shaped])), float(np.mean([n for _, n in shaped]))
        log.info(
            "reader weight %.2f: second_share %.3f, answers hold gold %.4f in %.3f sentences",
            weight,
            share,
            held,
            length,
        )
        tried.append((held, length, weight, share, order))
    scorer_alone = next(t for t in tried if t[2] == 0)
    _, _, weight, share, chosen = max((t for t in tried if t[1] <= scorer_alone[1]), key=lambda t: t[0])
    return weight, share, chosen


def choose_second_share(data: list[QuestionData], logits: list[np.ndarray]) -> float:
    """The largest share (fewest two-sentence answers) whose answers hold the gold answer within
    SHAPE_SLACK of always answering with two sentences."""
    pairs = [(d, z) for d, z in zip(data, logits, strict=True) if d.qa.kind == "answerable"]

    def holds(share: float) -> float:
        return float(np.mean([outcome(d, z, share)[0] for d, z in pairs]))

    ceiling = holds(0.0)
    return max(s for s in SECOND_SHARES if holds(float(s)) >= ceiling - SHAPE_SLACK)

"""The learned parts of the answerer, run with numpy alone: a small network scoring each candidate
sentence, and two models over the best candidates: the calibrated confidence that the answer is right
(a logistic regression), and the calibrated probability that the corpus holds an answer at all, which
decides whether to answer (a small network, or a logistic regression; both read as ``Calibrated``).

The weights ship in ``rag/rank/scorer.json`` with the command that made them, the data they saw and their
held-out figures (``python -m train.fit_answerer``; see train/README.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.rank.features import QUESTION_FEATURES, SENTENCE_FEATURES
from rag.rank.reader import Reader, load_reader
from rag.types import ModelError

PARAMS = Path(__file__).with_name("scorer.json")


@dataclass(frozen=True)
class Standardized:
    mean: np.ndarray
    scale: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.scale


Layers = tuple[tuple[np.ndarray, np.ndarray], ...]  # (W, b) per layer; ReLU between, the last gives one logit


def network_logits(h: np.ndarray, layers: Layers | list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The scorer's forward pass over standardised rows: ``h @ W + b`` per layer, ReLU between, one logit
    out. Training (train/fit_answerer.py) evaluates its network with this same function."""
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0] if len(h) else np.zeros(0, np.float32)


def layers_from(stored: list[dict[str, Any]]) -> Layers:
    """Layers as scorer.json stores them: ``[{"W": ..., "b": ...}, ...]``."""
    return tuple((np.asarray(layer["W"], np.float32), np.asarray(layer["b"], np.float32)) for layer in stored)


@dataclass(frozen=True)
class Calibrated:
    """A model over a standardised row of QUESTION_FEATURES, Platt-scaled on validation:
    p = sigmoid(a * f(x) + b), with f the network over ``layers`` (one layer: a logistic regression)."""

    layers: Layers
    calibration: tuple[float, float]

    def __call__(self, x: np.ndarray) -> float:
        a, b = self.calibration
        z = float(network_logits(np.asarray(x, np.float32)[None, :], self.layers)[0])
        return float(1.0 / (1.0 + np.exp(-(a * z + b))))

    @classmethod
    def from_dict(cls, model: dict[str, Any], calibration: dict[str, float]) -> Calibrated:
        if "layers" in model:
            layers = layers_from(model["layers"])
        else:  # a logistic regression: coef and intercept
            layers = ((np.asarray(model["coef"], np.float32)[:, None], np.asarray([model["intercept"]], np.float32)),)
        return cls(layers, (float(calibration["a"]), float(calibration["b"])))


@dataclass(frozen=True)
class AnswerScorer:
    sentence_input: Standardized
    layers: Layers  # the sentence scorer's
    question_input: Standardized  # both question models read the same standardised row
    confidence_model: Calibrated  # P(the answer holds the answer)
    answerable_model: Calibrated  # P(the corpus holds the answer)
    threshold: float  # confidence under which the answerer declines (0: the answerability gate alone decides)
    answerable_threshold: float  # answerability under which it declines, chosen on validation
    second_share: float  # the runner-up joins the answer at this share of the best's probability (validation)
    reader_top: int  # the best candidates the reader reads (rag/rank/reader.py)
    reader_weight: float  # the reader's logit, so weighted, reorders those candidates (``reordered``)
    meta: dict[str, Any]

    def sentence_logits(self, features: np.ndarray) -> np.ndarray:
        """One logit per row of SENTENCE_FEATURES: how likely that sentence holds the answer."""
        return network_logits(self.sentence_input(features), self.layers)

    def read(
        self, question: str, logits: np.ndarray, text_of: Callable[[int], str], reader: Reader | None = None
    ) -> np.ndarray:
        """The reader's logits for the ``reader_top`` best candidates by ``logits``, best first;
        ``text_of(i)`` is candidate i's sentence. ``reader``: the shipped one on all cores unless given."""
        order = np.argsort(-logits, kind="stable")[: self.reader_top]
        return (reader or load_reader()).logits(question, [text_of(int(i)) for i in order])

    def reordered(self, logits: np.ndarray, read: np.ndarray, qualifier: np.ndarray) -> np.ndarray:
        """The answer's order (``reordered`` with the shipped weight)."""
        return reordered(logits, read, qualifier, self.reader_weight)

    def confidence(self, question_features: np.ndarray) -> float:
        """Calibrated probability that the answer built from the best candidates holds the answer."""
        return self.confidence_model(self.question_input(question_features))

    def answerable(self, question_features: np.ndarray) -> float:
        """Calibrated probability that the corpus holds the answer (the question's source is in it)."""
        return self.answerable_model(self.question_input(question_features))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnswerScorer:
        arr = lambda x: np.asarray(x, dtype=np.float32)  # noqa: E731
        if tuple(d["sentence_features"]) != SENTENCE_FEATURES or tuple(d["question_features"]) != QUESTION_FEATURES:
            raise ModelError(
                "the answerer's weights were trained on other features: retrain with `python -m train.fit_answerer`"
            )
        s, q = d["sentence_model"], d["confidence_model"]
        return cls(
            Standardized(arr(s["mean"]), arr(s["scale"])),
            layers_from(s["layers"]),
            Standardized(arr(q["mean"]), arr(q["scale"])),
            Calibrated.from_dict(q, d["calibration"]),
            Calibrated.from_dict(d["answerable_model"], d["answerable_calibration"]),
            float(d["threshold"]),
            float(d["answerable_threshold"]),
            float(d["second_share"]),
            int(d["reader"]["top"]),
            float(d["reader"]["weight"]),
            {k: v for k, v in d.items() if k not in {"sentence_model", "confidence_model", "answerable_model"}},
        )


UNREAD = 100.0  # how far under its own logit a candidate the reader did not read ranks: after every read one


def reordered(logits: np.ndarray, read: np.ndarray, qualifier: np.ndarray, weight: float) -> np.ndarray:
    """Logits in the order the answer takes its sentences: the candidates the reader read (the scorer's
    best ``len(read)``) by the scorer's logit plus ``weight`` times the reader's, then the rest in the
    scorer's order.

    On valid this put a sentence holding the answer first more often than the scorer's order, and the
    answers held gold more often in fewer sentences (train/README.md). One exception: when a read candidate states the
    question's qualifier (``qualifier`` > 0, the SENTENCE_FEATURES column: "total" asked, "total"
    stated), the scorer's order stands. The reader reads past qualifiers: for "How much did Microsoft
    invest in OpenAI in total?" it scores "Microsoft first invested $1 billion" +2.9 and "...raised
    Microsoft's total stake to over $10 billion" -1.6. The exception costs next to nothing on valid
    (train/README.md)."""
    out = logits.astype(np.float32)
    if not len(out) or not len(read):
        return out
    order = np.argsort(-out, kind="stable")
    top, rest = order[: len(read)], order[len(read) :]
    out[rest] -= UNREAD
    if weight and not (qualifier[top] > 0).any():
        out[top] += weight * read[: len(top)]
    return out


@cache
def load_scorer(path: Path = PARAMS) -> AnswerScorer:
    try:
        return AnswerScorer.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as e:
        raise ModelError(f"the answerer's weights at {path} could not be read ({e}): reinstall rag-cite") from e

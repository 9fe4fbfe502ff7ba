"""The learned parts of the answerer, run with numpy alone: a small network scoring each candidate
sentence, and two models over the best candidates: the calibrated confidence that the answer is right
(a logistic regression), and the calibrated probability that the corpus holds an answer at all, which
decides whether to answer (a small network, or a logistic regression; both read as ``Calibrated``).

The weights ship in ``rag/answerer.json`` with the command that made them, the data they saw and their
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

from .features import QUESTION_FEATURES, SENTENCE_FEATURES
from .reader import Reader, load_reader, reader_features
from .types import ModelError

PARAMS = Path(__file__).with_name("answerer.json")


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
    """Layers as answerer.json stores them: ``[{"W": ..., "b": ...}, ...]``."""
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
    reader_top: int  # the best candidates the reader reads (rag/reader.py)
    meta: dict[str, Any]

    def sentence_logits(self, features: np.ndarray) -> np.ndarray:
        """One logit per row of SENTENCE_FEATURES: how likely that sentence holds the answer."""
        return network_logits(self.sentence_input(features), self.layers)

    def read(self, question: str, logits: np.ndarray, text_of: Callable[[int], str], reader: Reader | None = None) -> np.ndarray:
        """READER_FEATURES: the reader's say on the ``reader_top`` best candidates by ``logits``;
        ``text_of(i)`` is candidate i's sentence. ``reader``: the shipped one on all cores unless given."""
        order = np.argsort(-logits, kind="stable")[: self.reader_top]
        return reader_features((reader or load_reader()).logits(question, [text_of(int(i)) for i in order]))

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
            raise ModelError("the answerer's weights were trained on other features: retrain with `python -m train.fit_answerer`")
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
            {k: v for k, v in d.items() if k not in {"sentence_model", "confidence_model", "answerable_model"}},
        )


@cache
def load_scorer(path: Path = PARAMS) -> AnswerScorer:
    try:
        return AnswerScorer.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as e:
        raise ModelError(f"the answerer's weights at {path} could not be read ({e}): reinstall rag-cite") from e

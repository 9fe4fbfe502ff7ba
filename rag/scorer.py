"""The learned parts of the answerer, run with numpy alone: a small network scoring each candidate
sentence, and a logistic model turning the best candidates into a calibrated confidence.

The weights ship in ``rag/answerer.json`` with the command that made them, the data they saw and their
held-out figures (``python -m train.fit_answerer``; see train/README.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from .features import QUESTION_FEATURES, SENTENCE_FEATURES
from .types import ModelError

PARAMS = Path(__file__).with_name("answerer.json")


@dataclass(frozen=True)
class Standardized:
    mean: np.ndarray
    scale: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.scale


def network_logits(h: np.ndarray, layers: tuple[tuple[np.ndarray, np.ndarray], ...] | list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The scorer's forward pass over standardised rows: ``h @ W + b`` per layer, ReLU between, one logit
    out. Training (train/fit_answerer.py) evaluates its network with this same function."""
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0] if len(h) else np.zeros(0, np.float32)


@dataclass(frozen=True)
class AnswerScorer:
    sentence_input: Standardized
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (W, b); ReLU between, the last gives one logit
    question_input: Standardized
    coef: np.ndarray
    intercept: float
    calibration: tuple[float, float]  # Platt (a, b) fitted on validation: p = sigmoid(a * z + b)
    threshold: float  # confidence under which the answerer declines, chosen on validation
    second_share: float  # the runner-up joins the answer at this share of the best's probability (validation)
    meta: dict[str, Any]

    def sentence_logits(self, features: np.ndarray) -> np.ndarray:
        """One logit per row of SENTENCE_FEATURES: how likely that sentence holds the answer."""
        return network_logits(self.sentence_input(features), self.layers)

    def confidence(self, question_features: np.ndarray) -> float:
        """Calibrated probability that the answer built from the best candidates holds the answer."""
        z = float(self.question_input(question_features) @ self.coef + self.intercept)
        a, b = self.calibration
        return float(1.0 / (1.0 + np.exp(-(a * z + b))))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnswerScorer:
        arr = lambda x: np.asarray(x, dtype=np.float32)  # noqa: E731
        if tuple(d["sentence_features"]) != SENTENCE_FEATURES or tuple(d["question_features"]) != QUESTION_FEATURES:
            raise ModelError("the answerer's weights were trained on other features: retrain with `python -m train.fit_answerer`")
        s, q = d["sentence_model"], d["confidence_model"]
        return cls(
            Standardized(arr(s["mean"]), arr(s["scale"])),
            tuple((arr(layer["W"]), arr(layer["b"])) for layer in s["layers"]),
            Standardized(arr(q["mean"]), arr(q["scale"])),
            arr(q["coef"]),
            float(q["intercept"]),
            (float(d["calibration"]["a"]), float(d["calibration"]["b"])),
            float(d["threshold"]),
            float(d["second_share"]),
            {k: v for k, v in d.items() if k not in {"sentence_model", "confidence_model"}},
        )


@cache
def load_scorer(path: Path = PARAMS) -> AnswerScorer:
    try:
        return AnswerScorer.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as e:
        raise ModelError(f"the answerer's weights at {path} could not be read ({e}): reinstall rag-cite") from e

"""Candidate sentences, their features and their labels for every question of one SQuAD-train part,
through the product's own retrieval and feature code. Cached under train/.cache (a pickle per part and
pool size), since indexing and feature extraction take minutes and fitting is tried many times."""

from __future__ import annotations

import logging
import pickle
import time
from dataclasses import dataclass

import numpy as np

from rag.build import build_and_load
from rag.config import Settings
from rag.embed.embedder import load_embedder
from rag.rank.match import word_vectors
from rag.rank.rerank import candidates
from rag.rank.retrieve import rankings_many
from rag.text.words import content_words
from train.perturb import perturbed
from train.squad import CACHE, QA, SEED, build_split, holds_answer, write_corpus

log = logging.getLogger(__name__)

# The training part holds more questions than the others: the network learns from them. 37,000 fitted
# better than 12,000 on valid (holds gold 0.838 -> 0.844, absent declined 0.542 -> 0.560).
SIZES = {"train": {"answerable": 30000, "absent": 4000, "hard": 3000}, "valid": {}, "test": {}}
PERTURBED = {"train": 6000, "valid": 600, "test": 600}


@dataclass
class QuestionData:
    qa: QA
    features: np.ndarray  # (candidates, SENTENCE_FEATURES)
    label: np.ndarray  # the candidate is the gold sentence: in the gold paragraph, over the answer's start
    holds: np.ndarray  # the candidate's text holds a gold answer string
    texts: list[str]
    keys: list[tuple[str, int]]  # (file, sentence number)
    kind: str  # question kind (who, when...)
    missing: int
    unseen_names: float
    terms: int


def collect(part: str, pool: int, settings: Settings | None = None, kind: str = "squad") -> list[QuestionData]:
    """The part's questions: ``squad`` (answerable, absent-article, absent-paragraph) or ``perturbed``
    (train/perturb.py: on-topic questions the corpus cannot answer, PERTURBED of them)."""
    path = CACHE / f"collect-{part}{'' if kind == 'squad' else '-' + kind}-pool{pool}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    settings = settings or Settings()
    split = build_split(part, **SIZES[part])
    corpus = write_corpus(split, CACHE / f"squad-{part}" / "corpus")
    embedder = load_embedder(settings.embedder, settings.threads, settings.batch_size)
    t = time.perf_counter()
    _, index = build_and_load(corpus, CACHE / f"squad-{part}" / "index", settings, embedder)
    log.info("%s: index of %d paragraphs ready in %.0f s", part, len(split.corpus), time.perf_counter() - t)
    qs = split.questions if kind == "squad" else perturbed(split, PERTURBED[part], SEED, embedder)
    vectors = embedder.embed([q.question for q in qs], "query")
    out: list[QuestionData] = []
    t = time.perf_counter()
    for start in range(0, len(qs), 256):
        block = qs[start : start + 256]
        ranks = rankings_many(index, [q.question for q in block], vectors[start : start + 256], pool, settings.rrf_k)
        word_vectors([w for q in block for w in content_words(q.question)], index, embedder)  # one model call
        for qa, qv, r in zip(block, vectors[start : start + 256], ranks, strict=True):
            c = candidates(qa.question, qv, r, index, embedder)
            sents = [index.sentences[row] for row in c.pool.rows]
            label = np.array([s.file == qa.file and s.start <= qa.answer_start < s.end for s in sents], dtype=bool)
            holds = np.array([holds_answer(s.text, qa) for s in sents], dtype=bool)
            q = c.question
            out.append(
                QuestionData(
                    qa,
                    c.features,
                    label,
                    holds,
                    [s.text for s in sents],
                    [(s.file, s.n) for s in sents],
                    q.kind,
                    len(q.missing),
                    q.unseen_names,
                    len(q.terms.words),
                )
            )
        log.info("%s: %d/%d questions (%.0f s)", part, len(out), len(qs), time.perf_counter() - t)
    path.write_bytes(pickle.dumps(out))
    return out


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from train.collect import collect as collect_  # pickles must name train.collect, not __main__

    part, pool = sys.argv[1], int(sys.argv[2])
    data = collect_(part, pool, kind=sys.argv[3] if len(sys.argv) > 3 else "squad")
    gold_in_pool = np.mean([d.label.any() for d in data if d.qa.kind == "answerable"])
    print(part, len(data), "questions; gold sentence in pool:", round(float(gold_in_pool), 4))

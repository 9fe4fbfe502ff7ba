"""What the learned answerer sees: one row of numbers per candidate sentence, and one per question
(its analysis is rag/rank/question.py).

Every feature is a ratio, a rank or a flag rather than a raw score, so that the same weights hold on a
five-file corpus and on a hundred thousand passages (BM25 and IDF magnitudes grow with the corpus).
The names in ``SENTENCE_FEATURES`` are stored with the learned weights; a change here must be matched
by retraining (``python -m train.fit_answerer``), which a load-time check enforces.
"""

from __future__ import annotations

import numpy as np

from rag.index.loaded import Index
from rag.rank.match import SOFT_FLOOR
from rag.rank.question import KINDS, QuestionInfo
from rag.rank.reader import READER_FEATURES
from rag.rank.retrieve import Pool
from rag.text.profile import bigrams, content_stems, profile
from rag.text.words import numbers
from rag.types import Sentence

SENTENCE_FEATURES = (
    "dense",
    "dense_gap",
    "dense_rank",
    "cover_exact",
    "cover",
    "cover_gap",
    "cover_rank",
    "window_cover",
    "window_gain",
    "window_gap",
    "rare_cover",
    "rare_gap",
    "bigrams",
    "file_cover",
    "file_dense",
    "fused_rank",
    "dense_chunk_rank",
    "bm25_chunk_rank",
    "log_words",
    "novelty",
    "new_names",
    "new_number",
    "has_year",
    "has_month",
    "has_number",
    "has_money",
    "type_fit",
    "qualifier",
    "anaphoric",
    "first_in_file",
    "unseen_names",
    "pool_unseen",
    "log_terms",
    *(f"kind_{k}" for k in KINDS),
)

# The run of SENTENCE_FEATURES read off each sentence's own text and the question: log_words ... has_money.
_WHAT_IT_SAYS = SENTENCE_FEATURES[SENTENCE_FEATURES.index("log_words") : SENTENCE_FEATURES.index("has_money") + 1]


def _recip(rank: int | None) -> float:
    return 0.0 if rank is None else 1.0 / (1.0 + rank)


def _ranks_desc(x: np.ndarray) -> np.ndarray:
    order = np.argsort(-x, kind="stable")
    ranks = np.empty(len(x), dtype=np.float32)
    ranks[order] = np.arange(len(x), dtype=np.float32)
    return ranks


def match_matrix(q: QuestionInfo, sentences: list[Sentence], index: Index) -> np.ndarray:
    """(sentences x question words): 1 where the sentence has the word's stem, else its closest
    paraphrase's cosine when over SOFT_FLOOR, else 0. One matrix product for all sentences."""
    n_q = len(q.terms.words)
    out = np.zeros((len(sentences), n_q), dtype=np.float32)
    if not n_q or not sentences:
        return out
    lex_rows: list[int] = []
    bounds = [0]
    exact = np.zeros((len(sentences), n_q), dtype=bool)
    for i, s in enumerate(sentences):
        cw, stems = content_stems(s.text)
        lex_rows += index.lexicon.rows(list(cw))
        bounds.append(len(lex_rows))
        exact[i] = [st in stems for st in q.terms.stems]
    if lex_rows:
        sims = q.terms.vectors @ index.lexicon.word_vectors[lex_rows].T  # (n_q, all sentence words)
        for i in range(len(sentences)):
            a, b = bounds[i], bounds[i + 1]
            if b > a:
                out[i] = sims[:, a:b].max(axis=1)
    out = np.where(out >= SOFT_FLOOR, out, 0.0)
    return np.where(exact, 1.0, out).astype(np.float32)


def sentence_features(q: QuestionInfo, query_vector: np.ndarray, pool: Pool, index: Index) -> np.ndarray:
    """One row of SENTENCE_FEATURES per pool sentence."""
    n = len(pool.rows)
    sents = [index.sentences[r] for r in pool.rows]
    dense = index.sentence_vectors[pool.rows] @ query_vector if n else np.zeros(0, np.float32)
    # Neighbours inside the same file: the answer often sits beside the sentence naming the subject.
    neighbours: list[Sentence] = []
    slots = np.full((n, 2), -1)
    for i, s in enumerate(sents):
        for j, m in enumerate((s.n - 1, s.n + 1)):
            nb = index.sentence(s.file, m)
            if nb is not None:
                slots[i, j] = len(neighbours)
                neighbours.append(nb)
    match = match_matrix(q, sents + neighbours, index)
    own, nbm = match[:n], match[n:]
    idf = q.terms.idf
    total = float(idf.sum()) or 1.0
    window = own.copy()
    for j in range(2):
        has = slots[:, j] >= 0
        if has.any():
            window[has] = np.maximum(window[has], nbm[slots[has, j]])
    cover = own @ idf / total
    cover_exact = (own == 1.0) @ idf / total
    window_cover = window @ idf / total
    rare_cover = (window[:, q.rare] == 1.0).mean(axis=1) if len(q.rare) else np.zeros(n)
    # The share of question words that no candidate states outright: what the retrieved text lacks.
    # Unweighted, since IDF magnitudes depend on the corpus size.
    stated = (own == 1.0).any(axis=0) if n else np.zeros(len(idf), bool)
    pool_unseen = float((~stated).mean()) if len(stated) else 0.0
    q_stems = set(q.terms.stems)
    q_bigrams = bigrams(q.terms.stems)
    q_numbers = numbers(q.text)
    per_sentence = []
    for s in sents:
        p = profile(s.text)
        per_sentence.append(
            (
                p.log_words,
                sum(1 for st in p.stems if st not in q_stems) / max(len(p.stems), 1),
                np.log1p(len(p.names - q.words)),
                bool(p.numbers - q_numbers),
                p.has_year,
                p.has_month,
                p.has_number,
                p.has_money,
                0.0 if not q.qualifiers else 1.0 if q.qualifiers & p.qualifiers else -1.0 if p.qualifiers else 0.0,
                p.anaphoric,
                s.n == 1,
                len(q_bigrams & p.bigrams) / len(q_bigrams) if q_bigrams else 0.0,
            )
        )
    cols: dict[str, np.ndarray | float] = dict(
        zip(
            (*_WHAT_IT_SAYS, "qualifier", "anaphoric", "first_in_file", "bigrams"),
            np.array(per_sentence, dtype=np.float32).reshape(n, 12).T,
            strict=True,
        )
    )
    # What the best sentence of the same file (paragraph, article) says: an answer sentence often repeats
    # little of the question when its neighbours or its paragraph name the subject.
    file_of = [s.file for s in sents]
    file_cover = {f: 0.0 for f in file_of}
    file_dense = {f: -1.0 for f in file_of}
    for f, c, d in zip(file_of, window_cover, dense, strict=True):
        file_cover[f] = max(file_cover[f], float(c))
        file_dense[f] = max(file_dense[f], float(d))
    cols["type_fit"] = type_fit(q.kind, cols)
    cols.update(
        dense=dense,
        dense_gap=dense - _max(dense),
        dense_rank=1.0 / (1.0 + _ranks_desc(dense)),
        cover_exact=cover_exact,
        cover=cover,
        cover_gap=cover - _max(cover),
        cover_rank=1.0 / (1.0 + _ranks_desc(cover)),
        window_cover=window_cover,
        window_gain=window_cover - cover,
        window_gap=window_cover - _max(window_cover),
        rare_cover=rare_cover,
        rare_gap=rare_cover - _max(rare_cover),
        file_cover=np.array([file_cover[f] for f in file_of]),
        file_dense=np.array([file_dense[f] for f in file_of]),
        fused_rank=np.array([_recip(r) for r in pool.fused_rank]),
        dense_chunk_rank=np.array([_recip(r) for r in pool.dense_rank]),
        bm25_chunk_rank=np.array([_recip(r) for r in pool.bm25_rank]),
        unseen_names=q.unseen_names,
        pool_unseen=pool_unseen,
        log_terms=float(np.log1p(len(q.terms.words))),
        **{f"kind_{k}": float(q.kind == k) for k in KINDS},
    )
    rows = np.zeros((n, len(SENTENCE_FEATURES)), dtype=np.float32)
    for j, name in enumerate(SENTENCE_FEATURES):
        rows[:, j] = cols[name]
    return rows


def type_fit(kind: str, cols: dict[str, np.ndarray | float]) -> np.ndarray:
    """1 where a sentence holds what the question's kind asks for (a year or month for *when*, a figure
    the question does not give for *how many*, a name it does not give for *who* and *where*), else 0;
    1 for kinds that ask for no particular type."""
    if kind == "when":
        return np.maximum(cols["has_year"], cols["has_month"])
    if kind == "quantity":
        return np.asarray(cols["new_number"])
    if kind in ("who", "where"):
        return (np.asarray(cols["new_names"]) > 0).astype(np.float32)
    return np.ones_like(np.asarray(cols["has_year"]))


def _max(x: np.ndarray) -> float:
    return float(x.max()) if len(x) else 0.0


QUESTION_FEATURES = (
    "top_logit",
    "second_logit",
    "logit_gap",
    "top_share",
    "top_dense",
    "max_dense",
    "top_cover",
    "top_window_cover",
    "top_cover_exact",
    "top_rare_cover",
    "top_type_fit",
    "max_rare_cover",
    "max_cover",
    "unseen_names",
    "pool_unseen",
    "top_unnamed",
    "log_terms",
    *(f"kind_{k}" for k in KINDS),
    *READER_FEATURES,  # rag/reader.reader_features, appended by rank.rank
)
_AT = {name: i for i, name in enumerate(SENTENCE_FEATURES)}


def question_features(q: QuestionInfo, rows: np.ndarray, logits: np.ndarray, unnamed: float) -> np.ndarray:
    """One row of QUESTION_FEATURES but the reader's: how strong the best candidate is, and how much of
    the question the corpus can speak to at all. ``rows`` and ``logits`` are the pool's, in any order;
    ``unnamed``: unnamed_near for the best candidate (1.0 with no candidate)."""
    kind = [float(q.kind == k) for k in KINDS]
    if not len(logits):
        return np.array(
            [
                -10.0,
                -10.0,
                0.0,
                0.0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                q.unseen_names,
                1.0,
                unnamed,
                np.log1p(len(q.terms.words)),
                *kind,
            ],
            dtype=np.float32,
        )
    order = np.argsort(-logits)
    top = rows[order[0]]
    second = float(logits[order[1]]) if len(order) > 1 else -10.0
    share = float(shares(logits)[order[0]])
    col = lambda name: rows[:, _AT[name]]  # noqa: E731
    return np.array(
        [
            float(logits[order[0]]),
            second,
            float(logits[order[0]]) - second,
            share,
            top[_AT["dense"]],
            col("dense").max(),
            top[_AT["cover"]],
            top[_AT["window_cover"]],
            top[_AT["cover_exact"]],
            top[_AT["rare_cover"]],
            top[_AT["type_fit"]],
            col("rare_cover").max(),
            col("cover").max(),
            q.unseen_names,
            top[_AT["pool_unseen"]],
            unnamed,
            np.log1p(len(q.terms.words)),
            *kind,
        ],
        dtype=np.float32,
    )


def shares(logits: np.ndarray) -> np.ndarray:
    """Softmax over one question's candidates: the probability that each is the answering sentence,
    given that one of them is (the scorer is fitted listwise)."""
    if not len(logits):
        return logits
    e = np.exp(logits - logits.max())
    return e / e.sum()

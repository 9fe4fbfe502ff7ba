"""The phrase reader: the words of a cited sentence that answer the question ("**Microsoft** [1]"), or
none. all-MiniLM-L6-v2 fine-tuned on SQuAD-train spans and on sentences that do not answer (``python -m
train.fit_phrase``; train/README.md), shipped as an int8 ONNX graph (``rag/rank/phrase.onnx``) run by
onnxruntime, so the question path stays torch-free.

It reads the question and one sentence together and gives every token a start and an end logit; the
first token stands for "no phrase". The phrase is the best span of the sentence's own tokens, at most
``MAX_PHRASE_TOKENS`` long, kept when it scores over "no phrase". Its text is a slice of the sentence,
so it is verbatim by construction.
"""

from __future__ import annotations

import re
import string
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from rag.rank.reader import MAX_TOKENS
from rag.text.profile import MONTH, YEAR
from rag.text.words import NUMBER_WORDS, words
from rag.types import ModelError

PHRASE_PARAMS = Path(__file__).with_name("phrase.onnx")
MAX_PHRASE_TOKENS = 24  # SQuAD answers: 3.2 words on average; a longer span is a clause, not a phrase


@dataclass(frozen=True)
class Phrase:
    text: str
    start: int  # in the sentence's text
    end: int
    margin: float  # the span's score over "no phrase" (start + end logits); > 0 when kept


class PhraseReader:
    def __init__(self, graph: Path, tokenizer_file: Path):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.graph = graph
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(MAX_TOKENS, strategy="only_second")
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.meta = self.session.get_modelmeta().custom_metadata_map.get("meta", "")

    def best(self, question: str, sentence: str) -> Phrase:
        """The best span whatever its margin (negative: "no phrase" scored higher)."""
        e = self.tokenizer.encode(question, sentence)
        ids = np.asarray([e.ids], np.int64)
        feed = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.asarray([e.type_ids], np.int64),
        }
        logits = self.session.run(None, feed)[0][0]
        own = [i for i, s in enumerate(e.sequence_ids) if s == 1]
        if not own:
            return Phrase("", 0, 0, float("-inf"))
        start, end = logits[own, 0], logits[own, 1]
        # every (i, j) with i <= j < i + MAX_PHRASE_TOKENS: the sum of start i and end j
        pair = start[:, None] + end[None, :]
        n = len(own)
        allowed = np.triu(np.ones((n, n), bool)) & ~np.triu(np.ones((n, n), bool), MAX_PHRASE_TOKENS)
        pair = np.where(allowed, pair, -np.inf)
        i, j = np.unravel_index(int(np.argmax(pair)), pair.shape)
        a, b = e.offsets[own[i]][0], e.offsets[own[j]][1]
        return Phrase(sentence[a:b], a, b, float(pair[i, j] - (logits[0, 0] + logits[0, 1])))

    def phrase(self, question: str, sentence: str, floor: float = 0.0) -> Phrase | None:
        """The best span when it scores over "no phrase" by more than ``floor``."""
        found = self.best(question, sentence)
        return found if found.margin > floor and found.text.strip() else None


def fits(kind: str, text: str) -> bool:
    """The phrase is what a question of this kind (rag.rank.question.question_kind) asks for: a year,
    month or figure for *when*, a figure or number word for *how much/many*, a capitalised word for
    *who* and *where*; any phrase for the other kinds."""
    if kind == "when":
        return bool(YEAR.search(text) or MONTH.search(text) or re.search(r"\d", text))
    if kind == "quantity":
        return bool(re.search(r"\d", text)) or any(w in NUMBER_WORDS for w in words(text))
    if kind in ("who", "where"):
        return any(c.isupper() for c in text)
    return True


_loading = threading.Lock()


def load_phrase_reader(params: Path = PHRASE_PARAMS) -> PhraseReader:
    with _loading:  # one load, whether prefetch_phrase_reader's thread or an answer asks first
        return _load(params)


@cache
def _load(params: Path) -> PhraseReader:
    from rag.embed.embedder import _minilm_path

    try:
        return PhraseReader(params, _minilm_path() / "tokenizer.json")
    except Exception as e:  # onnxruntime raises its own exception types for a damaged graph
        raise ModelError(f"the phrase reader's weights at {params} could not be read ({e}): reinstall rag-cite") from e


def prefetch_phrase_reader() -> None:
    """Load the graph on a thread of its own while the index, the embedder and the reader load: a cold
    `rag ask` otherwise waits for it after everything else (benchmarks/ANSWERS.md, "The phrase that
    answers"). A failure is left for the answer's own load to raise."""

    def load() -> None:
        try:
            load_phrase_reader().best("Who?", "It was read once.")  # a first run allocates: not the answer's
        except ModelError:
            pass

    # Not a daemon: the interpreter waits for it before exiting. A daemon thread still inside
    # onnxruntime when a short command (a decline) ended aborted the process ("terminate called without
    # an active exception").
    if not _load.cache_info().currsize:  # loaded and run once already (a server's second assistant)
        threading.Thread(target=load, name="phrase-prefetch").start()


def _normal_words(text: str) -> list[str]:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def phrase_f1(got: str, gold: str) -> float:
    """SQuAD's token F1 of a phrase against a gold answer."""
    a, b = _normal_words(got), _normal_words(gold)
    if not a or not b:
        return float(a == b)
    common = sum((Counter(a) & Counter(b)).values())
    if not common:
        return 0.0
    p, r = common / len(a), common / len(b)
    return 2 * p * r / (p + r)

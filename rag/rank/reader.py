"""The reader: a cross-encoder that reads the question and one candidate sentence together and gives a
logit for "this sentence answers the question". It runs under onnxruntime, so the question path stays
torch-free.

The model is all-MiniLM-L6-v2 fine-tuned on SQuAD-train pairs, with a linear head over the mean-pooled
tokens, shipped as an int8 ONNX graph (``rag/rank/reader.onnx``, ``python -m train.fit_reader``; see
train/README.md). It reads only the scorer's best few candidates: each pair costs about as much as
embedding a question.

Its say goes to the two question models, the answerability (whether to answer) and the confidence,
and it reorders the candidates it read (``rag.rank.scorer.reordered``; measured in train/README.md). Where a read
candidate states the question's qualifier the scorer's order stands, since the reader reads past
qualifiers: for "How much did Microsoft invest in OpenAI in total?" it scores "Microsoft first invested
$1 billion" +2.9 and "...raised Microsoft's total stake to over $10 billion" -1.6.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

from rag.config import available_cores
from rag.types import ModelError

READER_PARAMS = Path(__file__).with_name("reader.onnx")
MAX_TOKENS = 128  # question and sentence together; the sentence is cut when longer (SQuAD pairs: ~45 tokens)
NO_READING = -10.0  # a feature for a candidate the reader did not read: far under any logit it gives


class Reader:
    """``logits(question, sentences)``: one logit per sentence, read together with the question."""

    def __init__(self, graph: Path, tokenizer_file: Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.graph = graph
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(MAX_TOKENS, strategy="only_second")
        self.tokenizer.no_padding()
        # Pairs are read side by side, one thread each, instead of one after another on every thread: a
        # pair is too short to split well across threads. On 2 threads, the 5,000-paragraph test corpus
        # answered in batch at 42.0-42.7 questions/s against 36.7. One answer is not faster: its three
        # pairs took 15 ms p50 either way (three seed pairs timed alone: 7.6-8.1 ms against 10.8-11.3).
        # The logits are the same to the bit.
        # (The session then has no thread pool of its own, so no threads spin between questions: spinning,
        # they had taken the cores from the rest of the answer, 37.6 -> 32.3 ms p50 once stopped.)
        self.workers = threads or available_cores()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.meta = self.session.get_modelmeta().custom_metadata_map.get("meta", "")
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()  # `rag serve` answers on several threads at once

    def logits(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        return self.logits_of_pairs([(question, s) for s in sentences])

    def logits_of_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """One logit per (question, sentence) pair, each pair run alone. The int8 graph scales each
        activation by the range of the whole input, so a pair batched with others read up to 0.19 off
        its own logit; alone, a pair reads the same in training, in a batch of questions and in an
        answer. In answers on the 5,000-paragraph test corpus, three pairs alone took 20.1 ms p50 against
        19.6 ms as one padded batch."""
        encoded = self.tokenizer.encode_batch(list(pairs))
        if self.workers < 2 or len(encoded) < 2:
            return np.array([self._read(e) for e in encoded], np.float32)
        return np.array(list(self._workers().map(self._read, encoded)), np.float32)

    def _workers(self) -> ThreadPoolExecutor:
        """The reading threads: made on first use, and anew in a forked child, whose threads are gone."""
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool, self._pool_pid = ThreadPoolExecutor(self.workers, thread_name_prefix="reader"), os.getpid()
            return self._pool

    def _read(self, e) -> float:  # type: ignore[no-untyped-def]
        ids = np.asarray([e.ids], np.int64)
        feed = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.asarray([e.type_ids], np.int64),
        }
        return float(self.session.run(None, feed)[0][0])


@cache
def load_reader(params: Path = READER_PARAMS, threads: int | None = None) -> Reader:
    from rag.embed.embedder import _minilm_path

    try:
        return Reader(params, _minilm_path() / "tokenizer.json", threads)
    except Exception as e:  # onnxruntime raises its own exception types for a damaged graph
        raise ModelError(f"the reader's weights at {params} could not be read ({e}): reinstall rag-cite") from e


READER_FEATURES = ("reader_first", "reader_max", "reader_second")


def reader_features(reader_logits: np.ndarray) -> np.ndarray:
    """READER_FEATURES from the reader's logits for the scorer's best candidates, best first: the logit
    of the candidate the answer starts from, the highest, and the second highest (two that answer)."""
    if not len(reader_logits):
        return np.full(len(READER_FEATURES), NO_READING, np.float32)
    high = np.sort(reader_logits)[::-1]
    return np.array([reader_logits[0], high[0], high[1] if len(high) > 1 else NO_READING], np.float32)

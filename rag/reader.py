"""The reader: a cross-encoder that reads the question and one candidate sentence together and gives a
logit for "this sentence answers the question". It runs under onnxruntime, so the question path stays
torch-free.

The model is all-MiniLM-L6-v2 fine-tuned on SQuAD-train pairs, with a linear head over the mean-pooled
tokens, shipped as an int8 ONNX graph (``rag/reader.onnx``, ``python -m train.fit_reader``; see
train/README.md). It reads only the scorer's best few candidates: each pair costs about as much as
embedding a question.

Its say goes to the two question models, the answerability (whether to answer) and the confidence; it
does not reorder the candidates. Added to the scorer's logits it ranked an answering sentence first
more often (0.726 -> 0.752 of train questions), but it reads past qualifiers: for "How much did
Microsoft invest in OpenAI in total?" it prefers "Microsoft first invested $1 billion" (+2.3) to
"...raised Microsoft's total stake to over $10 billion" (-0.3), which the scorer ranks first. On
valid, the reorder added one point of absent-article questions declined and 0.2 points of answers
holding gold, and made every answer two sentences long unless the shape rule was refitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from .types import ModelError

READER_PARAMS = Path(__file__).with_name("reader.onnx")
MAX_TOKENS = 128  # question and sentence together; the sentence is cut when longer (SQuAD pairs: ~45 tokens)
NO_READING = -10.0  # a feature for a candidate the reader did not read: far under any logit it gives


class Reader:
    """``logits(question, sentences)``: one logit per sentence, read together with the question."""

    def __init__(self, graph: Path, tokenizer_file: Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(MAX_TOKENS, strategy="only_second")
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Its threads sleep between questions instead of spinning: spinning, they took the cores from the
        # rest of the answer (warm answer p50 37.6 -> 32.3 ms on the 5,000-paragraph test corpus).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.meta = self.session.get_modelmeta().custom_metadata_map.get("meta", "")

    def logits(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        return self.logits_of_pairs([(question, s) for s in sentences])

    def logits_of_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """One logit per (question, sentence) pair, each pair run alone. The int8 graph scales each
        activation by the range of the whole input, so a pair batched with others read up to 0.19 off
        its own logit; alone, a pair reads the same in training, in a batch of questions and in an
        answer. In answers on the 5,000-paragraph test corpus, three pairs alone took 20.1 ms p50 against
        19.6 ms as one padded batch."""
        out = np.zeros(len(pairs), np.float32)
        for i, e in enumerate(self.tokenizer.encode_batch(list(pairs))):
            ids = np.asarray([e.ids], np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.asarray([e.type_ids], np.int64)}
            out[i] = self.session.run(None, feed)[0][0]
        return out


@cache
def load_reader(params: Path = READER_PARAMS, threads: int | None = None) -> Reader:
    from .embed import _minilm_path

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

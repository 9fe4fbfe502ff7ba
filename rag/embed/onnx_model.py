"""The same MiniLM exported to ONNX and run under onnxruntime: questions without torch, and faster builds.

A cold ``rag ask`` used to spend most of its seconds importing torch and sentence-transformers to embed
one question. Measured here: importing onnxruntime and tokenizers takes 0.09 s, opening the session
0.17 s, and a question 3 ms (torch: about 6 ms warm).

- **Export** happens once, the first time an index is built on this machine: 1.1 s. The file goes to
  the user cache folder, keyed by the model id and its weights' size and time, so every index shares it.
- **Check** before first use: the ONNX vectors of a sample of that build's texts must match torch's
  (cosine at least ``MIN_COSINE`` for every one; measured 0.9999999 on the seeds). Failing that, the
  verdict is stored and ONNX is never used for that model: torch embeds everything as before.
- **Builds embed with it too.** Measured here on SQuAD sentences, 2 threads: 1.6x torch's
  sentence-transformers ``encode`` for sentences, 2.1x for the lexicon's single words (batches sorted
  by token count, so little is padding). An index records the runtime that embedded it, and an update
  embeds with that same runtime, so no index mixes vectors from two runtimes (``IndexEmbedder``).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.types import IndexMismatchError

log = logging.getLogger(__name__)

MIN_COSINE = 0.9999
CHECK_TEXTS = 256  # texts compared at the check; the seeds have 155 sentences
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length (sentence_bert_config.json)
# A batch holds texts of similar token counts, up to this many tokens (padding included) and rows.
# Measured on 3,000 SQuAD sentences, 2 threads: 2,048 tokens ran 12.9 s, 512 15.8 s, 4,096 14.1 s;
# on 8,000 lexicon words (about 4 tokens each) 256 rows ran 3.6 s, 1,024 rows 4.4 s.
BATCH_TOKENS = 2048
BATCH_ROWS = 256


def cache_dir(model_id: str, weights: Path) -> Path:
    import platformdirs

    stat = weights.stat()
    base = Path(os.environ.get("RAG_ONNX_DIR") or Path(platformdirs.user_cache_dir("rag-cite")) / "onnx")
    return base / f"{model_id.replace('/', '_')}-{stat.st_size}-{stat.st_mtime_ns}"


class OnnxEmbedder:
    """Mean-pooled, L2-normalised MiniLM vectors from an exported ONNX graph: what sentence-transformers
    computes for this model (Transformer -> mean Pooling -> Normalize)."""

    def __init__(self, folder: Path, model_dir: Path, model_id: str, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # each batch is padded to its own longest text
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.id = model_id
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def embed(self, texts: Sequence[str], kind: str = "document") -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encoded = self.tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encoded])
        for rows in _batches(lengths):
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for k, r in enumerate(rows):
                ids[k, : lengths[r]] = encoded[r].ids
                mask[k, : lengths[r]] = 1
            hidden = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
            out[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out


def _batches(lengths: np.ndarray) -> list[np.ndarray]:
    """Rows in order of token count, cut into batches of at most BATCH_TOKENS (padded) and BATCH_ROWS."""
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    for end in range(1, len(order) + 1):
        full = end == len(order) or end - start == BATCH_ROWS or (end - start + 1) * lengths[order[end]] > BATCH_TOKENS
        if full:
            batches.append(order[start:end])
            start = end
    return batches


def export(model_dir: Path, folder: Path) -> None:
    """Write ``folder/model.onnx`` from the installed weights (atomically: a killed export leaves none)."""
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_dir)).eval()

    class Encoder(torch.nn.Module):  # keyword arguments: BertModel's positional order changes between versions
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".onnx.tmp")
    os.close(fd)
    try:
        sample = torch.tensor([[101, 2023, 102]])
        axes = {
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "token_type_ids": {0: "batch", 1: "tokens"},
            "last_hidden_state": {0: "batch", 1: "tokens"},
        }
        with warnings.catch_warnings():  # the exporter's notes on operators it rewrites: not the user's concern
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Encoder(),
                (sample, torch.ones_like(sample), torch.zeros_like(sample)),
                tmp,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, folder / "model.onnx")
    finally:
        Path(tmp).unlink(missing_ok=True)


def check(folder: Path, candidate: OnnxEmbedder, texts: Sequence[str], reference: np.ndarray) -> bool:
    """Compare with torch's vectors of the same texts; record the verdict beside the model."""
    cosine = float((candidate.embed(texts) * reference).sum(1).min()) if len(texts) else 0.0
    ok = cosine >= MIN_COSINE
    verdict = {"ok": ok, "min_cosine": round(cosine, 7), "texts": len(texts)}
    (folder / "check.json").write_text(json.dumps(verdict) + "\n", encoding="utf-8")
    if not ok:
        log.warning(
            "the ONNX export of the embedder differs from torch (min cosine %.6f): questions stay on torch", cosine
        )
    return ok


def checked(folder: Path) -> bool | None:
    """The stored verdict: True (use it), False (never), None (not exported or checked yet)."""
    try:
        return (
            bool(json.loads((folder / "check.json").read_text(encoding="utf-8"))["ok"])
            and (folder / "model.onnx").is_file()
        )
    except (OSError, ValueError, KeyError):
        return None


class QueryFastEmbedder:
    """The ``Embedder`` the assistant uses for an exportable model. Questions (and anything small a
    question needs) go to ONNX once it is exported and checked; torch loads only when documents are
    embedded for an index (``for_index``), or for everything when ONNX cannot be used."""

    def __init__(self, model_id: str, model_dir: Path, threads: int | None, load_torch: Callable[[], Any]):
        self.id, self.model_dir, self.threads = model_id, model_dir, threads
        self.folder = cache_dir(model_id, model_dir / "model.safetensors")
        self._load_torch = load_torch
        self._torch: Any = None
        self._onnx: OnnxEmbedder | None = None
        if checked(self.folder):
            self._open()
        self.dim = self._onnx.dim if self._onnx else self.torch.dim

    def _open(self) -> bool:
        """Open the cached, checked export; a damaged cache file falls back to torch, never fails."""
        try:
            self._onnx = OnnxEmbedder(self.folder, self.model_dir, self.id, self.threads)
        except Exception as e:
            log.warning("the cached ONNX embedder could not be opened (%s): using torch", e)
            return False
        return True

    @property
    def torch(self) -> Any:
        if self._torch is None:
            self._torch = self._load_torch()
        return self._torch

    def embed(self, texts: Sequence[str], kind: str = "document") -> np.ndarray:
        if self._onnx is not None and self._torch is None:
            return self._onnx.embed(texts, kind)
        return self.torch.embed(texts, kind)

    def for_index(self, runtime: str | None = None) -> IndexEmbedder:
        """The embedder an index is built with; ``runtime`` is the one the index being updated recorded."""
        return IndexEmbedder(self, runtime)


_NO_ONNX_HERE = (
    "this index was embedded by the ONNX export of the model, which failed its check against torch "
    "on this machine: run `rag index --rebuild`"
)


class IndexEmbedder:
    """Embeds an index's texts with one runtime for the whole index: the one it was built with when
    updating, else ONNX once exported and checked here (the first build exports and checks it), else
    torch. ``runtime`` says which, for the manifest."""

    def __init__(self, owner: QueryFastEmbedder, runtime: str | None):
        self.owner, self.id, self.dim = owner, owner.id, owner.dim
        self.runtime = runtime
        if runtime == "onnx" and checked(owner.folder) is False:
            raise IndexMismatchError(_NO_ONNX_HERE)

    def embed(self, texts: Sequence[str], kind: str = "document") -> np.ndarray:
        # Not exported here yet (a first build, or an index built elsewhere): export and check now.
        if len(texts) and (self.runtime is None or (self.runtime == "onnx" and self.owner._onnx is None)):
            usable = self._exported(texts)
            if self.runtime == "onnx" and not usable:
                raise IndexMismatchError(_NO_ONNX_HERE)
            self.runtime = self.runtime or ("onnx" if usable else "torch")
        if self.runtime == "onnx":
            assert self.owner._onnx is not None
            return self.owner._onnx.embed(texts, kind)
        return np.asarray(self.owner.torch.embed(texts, kind))

    def _exported(self, texts: Sequence[str]) -> bool:
        """Whether ONNX can embed here, exporting and checking it against torch on a sample of ``texts``
        the first time (torch is loaded for that once per machine, never again)."""
        owner = self.owner
        verdict = checked(owner.folder)
        if verdict is None:
            try:
                export(owner.model_dir, owner.folder)
                sample = list(texts[:CHECK_TEXTS])
                reference = owner.torch.embed(sample, "document")
                candidate = OnnxEmbedder(owner.folder, owner.model_dir, owner.id, owner.threads)
                verdict = check(owner.folder, candidate, sample, reference)
            except Exception as e:  # exporting is an optimisation: never fail an index build over it
                log.warning("could not export the embedder to ONNX (%s): torch embeds instead", e)
                return False
            if verdict:
                owner._onnx = candidate  # the session just checked, not a second one
        return bool(verdict) and (owner._onnx is not None or owner._open())

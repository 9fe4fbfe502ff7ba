"""Questions embedded without torch: the same MiniLM exported to ONNX and run under onnxruntime.

A cold ``rag ask`` used to spend most of its seconds importing torch and sentence-transformers to embed
one question. Measured here: importing onnxruntime and tokenizers takes 0.09 s, opening the session
0.17 s, and a question 3 ms (torch: about 6 ms warm).

- **Export** happens once, the first time torch embeds documents for an index (it is loaded then
  anyway): 1.1 s. The file goes to the user cache folder, keyed by the model id and its weights' size
  and time, so every index shares it.
- **Check** before first use: the ONNX vectors of the texts just embedded must match torch's (cosine at
  least ``MIN_COSINE`` for every one; measured 0.9999999 on the seeds). Failing that, the verdict is
  stored and ONNX is never used for that model: torch embeds questions as before.
- **The index never depends on it.** Index builds embed with torch (``QueryFastEmbedder.for_index``);
  ONNX only embeds what a question needs: the question, its words outside the lexicon, an LLM's claims.
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

log = logging.getLogger(__name__)

MIN_COSINE = 0.9999
CHECK_TEXTS = 256  # texts compared at the check; the seeds have 155 sentences
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length (sentence_bert_config.json)


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
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.id = model_id
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def embed(self, texts: Sequence[str], kind: str = "document") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoded = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
        return np.ascontiguousarray(pooled / np.linalg.norm(pooled, axis=1, keepdims=True), dtype=np.float32)


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
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".onnx.tmp")
    os.close(fd)
    try:
        sample = torch.tensor([[101, 2023, 102]])
        axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                "token_type_ids": {0: "batch", 1: "tokens"}, "last_hidden_state": {0: "batch", 1: "tokens"}}
        with warnings.catch_warnings():  # the exporter's notes on operators it rewrites: not the user's concern
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Encoder(), (sample, torch.ones_like(sample), torch.zeros_like(sample)), tmp,
                input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
                dynamic_axes=axes, opset_version=17, dynamo=False,
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
        log.warning("the ONNX export of the embedder differs from torch (min cosine %.6f): questions stay on torch", cosine)
    return ok


def checked(folder: Path) -> bool | None:
    """The stored verdict: True (use it), False (never), None (not exported or checked yet)."""
    try:
        return bool(json.loads((folder / "check.json").read_text(encoding="utf-8"))["ok"]) and (folder / "model.onnx").is_file()
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
            try:
                self._onnx = OnnxEmbedder(self.folder, model_dir, model_id, threads)
            except Exception as e:  # a damaged cache file: fall back, never fail a question over it
                log.warning("the cached ONNX embedder could not be opened (%s): using torch", e)
        self.dim = self._onnx.dim if self._onnx else self.torch.dim

    @property
    def torch(self) -> Any:
        if self._torch is None:
            self._torch = self._load_torch()
        return self._torch

    def embed(self, texts: Sequence[str], kind: str = "document") -> np.ndarray:
        if self._onnx is not None and self._torch is None:
            return self._onnx.embed(texts, kind)
        return self.torch.embed(texts, kind)

    def for_index(self) -> Any:
        """The embedder an index is built with: torch, always, so the index does not depend on which path
        a process took. Its first batch also exports and checks the ONNX model when none is cached."""
        return _ExportingOnFirstUse(self)


class _ExportingOnFirstUse:
    def __init__(self, owner: QueryFastEmbedder):
        self.owner, self.id, self.dim = owner, owner.id, owner.dim
        self.settled = checked(owner.folder) is not None  # exported and checked, for better or worse

    def embed(self, texts: Sequence[str], kind: str = "document") -> np.ndarray:
        vectors: np.ndarray = self.owner.torch.embed(texts, kind)
        if not self.settled and len(texts):
            self.settled = True  # one attempt per build: a failed export is not retried on every batch
            try:
                export(self.owner.model_dir, self.owner.folder)
                sample = list(texts[:CHECK_TEXTS])
                check(self.owner.folder, OnnxEmbedder(self.owner.folder, self.owner.model_dir, self.owner.id, 1), sample, vectors[: len(sample)])
            except Exception as e:  # exporting is an optimisation: never fail an index build over it
                log.warning("could not export the embedder to ONNX (%s): questions stay on torch", e)
        return vectors

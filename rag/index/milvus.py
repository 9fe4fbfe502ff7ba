"""Milvus as the search engine (``store = "milvus"``): the sentence vectors and BM25 over chunks live in
two collections of a Milvus server, one pair per index generation, and both searches run there.

What stays the same: the index folder keeps the manifest, the sentence and chunk tables, the vectors
(the learned rerank reads them) and the lexicon, so citations, checksums and the generation swap work
as with FAISS. A generation's collections are written before its manifest swap and dropped when the
generation is pruned: a build killed midway leaves the old index and its collections in place.

Why two searches rather than one ``hybrid_search``: the dense retriever ranks *chunks* by their two
best *sentences* (``rag.rank.retrieve.dense_rankings``), and hybrid_search fuses the hits of one collection
at one unit. Putting chunk vectors beside the BM25 field would make it a different retriever from the
FAISS one, whose answers it must match; the fusion is the same reciprocal-rank fusion either way.

BM25 reads our own analysis of each chunk (``rag.text.words.terms``: stemmed content words) through the
standard tokenizer, with the k1 and b of our own BM25: milvus-lite has no English stemmer, and this way both
stores count the same terms.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.bm25 import K1, B
from rag.text.words import terms
from rag.types import Chunk, ConfigError, IndexMismatchError, StoreError

log = logging.getLogger(__name__)

DEFAULT_URI = "http://127.0.0.1:19530"  # where `milvus-lite server` and a standalone Milvus listen by default
MILVUS_FILE = "milvus.json"  # in a generation folder: the server and the collections it searches
_BATCH = 4096  # rows per insert: 6 MB of 384-d vectors, well under gRPC's 64 MB message limit
_EMPTY = "_"  # a chunk with no content word still needs a token for the BM25 function
_BM25 = {"bm25_k1": K1, "bm25_b": B}  # as rag.text.words scores, so both stores score alike


def connect(uri: str) -> Any:
    """A client for the server at ``uri``; StoreError naming the way out when it cannot be reached."""
    from pymilvus import MilvusClient

    with engine(uri):
        return MilvusClient(uri=uri, timeout=10)


@contextmanager
def engine(uri: str) -> Iterator[None]:
    """Calls to the server: whatever pymilvus or gRPC raises becomes one StoreError naming the way out."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except (MilvusException, OSError) as e:
        raise StoreError(
            f"cannot reach Milvus at {uri} ({getattr(e, 'message', e)}): start one with "
            "`milvus-lite server --data-dir DIR --host 127.0.0.1 --port 19530`, or pass --milvus-uri"
        ) from None


def collection_names(generation: str) -> tuple[str, str]:
    """The sentence and chunk collections of a generation folder (Milvus names allow no '-')."""
    base = "rag_" + generation.replace("-", "_")
    return base + "_sentences", base + "_chunks"


class MilvusVectorStore:
    """``VectorStore`` over a Milvus collection of (row, vector): exact (FLAT) up to ``ivf_above``
    vectors, an IVF_FLAT with sqrt(n) lists past it, probing ``probe_share`` of them, as with FAISS."""

    def __init__(
        self,
        uri: str,
        count: int,
        nlist: int | None,
        probe_share: float,
        collection: str | None = None,
        vectors: np.ndarray | None = None,
    ):
        self.uri, self._count, self.nlist, self.probe_share = uri, count, nlist, probe_share
        self.collection, self._pending = collection, vectors
        self.client: Any = None

    @classmethod
    def pending(cls, vectors: np.ndarray, uri: str, ivf_above: int, probe_share: float) -> MilvusVectorStore:
        """A store whose vectors are written to the server on ``save``, the generation's write step."""
        n = len(vectors)
        return cls(uri, n, int(math.sqrt(n)) if n > ivf_above else None, probe_share, vectors=vectors)

    @property
    def count(self) -> int:
        return self._count

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        rows = np.full((len(queries), k), -1, dtype=np.int64)
        if not len(queries) or k <= 0:
            return scores, rows
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.nlist:
            params["params"] = {"nprobe": max(1, math.ceil(self.nlist * self.probe_share))}
        with engine(self.uri):
            hits = self.client.search(
                self.collection, data=queries.tolist(), anns_field="vector", limit=k, search_params=params
            )
        for i, found in enumerate(hits):
            for j, h in enumerate(found[:k]):
                rows[i, j], scores[i, j] = h.id, h.distance
        return scores, rows

    def save(self, folder: Path) -> None:
        """Create this generation's collections' record and write the vectors to the server."""
        from pymilvus import DataType

        assert self._pending is not None, "a loaded store is already on the server"
        self.collection, chunks = collection_names(folder.name)
        # Recorded first, so that a build failing from here on can find and drop what it made (``drop``).
        record = {
            "uri": self.uri,
            "sentences": self.collection,
            "chunks": chunks,
            "count": self._count,
            "nlist": self.nlist,
        }
        (folder / MILVUS_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        self.client = self.client or connect(self.uri)
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(self._pending.shape[1]))
        index = self.client.prepare_index_params()
        if self.nlist:
            index.add_index("vector", index_type="IVF_FLAT", metric_type="IP", params={"nlist": self.nlist})
        else:
            index.add_index("vector", index_type="FLAT", metric_type="IP")
        vectors = self._pending
        _create(
            self.client,
            self.uri,
            self.collection,
            schema,
            index,
            ({"row": i, "vector": v.tolist()} for i, v in enumerate(vectors)),
        )
        self._pending = None


class MilvusLexicalStore:
    """``LexicalStore`` over a Milvus collection of chunks with the built-in BM25 function."""

    def __init__(self, uri: str, collection: str | None = None, chunks: Sequence[Chunk] | None = None):
        self.uri, self.collection, self._pending = uri, collection, chunks
        self.client: Any = None

    def ranked(self, question: str, n: int) -> list[int]:
        query = " ".join(terms(question))
        if not query or n <= 0:
            return []
        with engine(self.uri):
            (hits,) = self.client.search(
                self.collection, data=[query], anns_field="sparse", limit=n, search_params={"metric_type": "BM25"}
            )
        return [int(h.id) for h in hits]

    def save(self, folder: Path) -> None:
        from pymilvus import DataType

        assert self._pending is not None, "a loaded store is already on the server"
        self.client = self.client or connect(self.uri)
        self.collection = collection_names(folder.name)[1]
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        index = self.client.prepare_index_params()
        add_bm25(schema, index)
        # VARCHAR's limit is in bytes; a chunk's terms pass it only in pathological files.
        rows = (
            {"row": c.row, "terms": (" ".join(terms(c.text)) or _EMPTY).encode()[:65_000].decode(errors="ignore")}
            for c in self._pending
        )
        _create(self.client, self.uri, self.collection, schema, index, rows)
        self._pending = None


def add_bm25(schema: Any, index: Any) -> None:
    """Milvus's own BM25 on a collection: a ``terms`` text field (the chunk's stemmed content words), the
    ``sparse`` vector its BM25 function fills, and that vector's index, scored with ``_BM25``."""
    from pymilvus import DataType, Function, FunctionType

    schema.add_field(
        "terms",
        DataType.VARCHAR,
        max_length=65_535,
        enable_analyzer=True,
        analyzer_params={"tokenizer": "standard", "filter": ["lowercase"]},
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]
        )
    )
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=_BM25)


def _create(client: Any, uri: str, collection: str, schema: Any, index: Any, rows: Iterator[dict[str, Any]]) -> None:
    """A collection made, filled in batches, flushed and loaded: Milvus builds indexes late, and searches
    only loaded collections."""
    with engine(uri):
        client.create_collection(collection, schema=schema, index_params=index)
        while batch := list(itertools.islice(rows, _BATCH)):
            client.insert(collection, batch)
        client.flush(collection)
        client.load_collection(collection)


def stores(folder: Path, uri: str | None, probe_share: float) -> tuple[MilvusVectorStore, MilvusLexicalStore]:
    """The stores of a generation folder written with Milvus, at ``uri`` or the server it records.
    FileNotFoundError when the folder has no record; IndexMismatchError when the collections are gone."""
    record = json.loads((folder / MILVUS_FILE).read_text(encoding="utf-8"))
    uri = uri or record["uri"]
    client = connect(uri)
    for name in (record["sentences"], record["chunks"]):
        with engine(uri):
            if not client.has_collection(name):
                raise IndexMismatchError(f"the Milvus collection {name} is gone from {uri}: run `rag index --rebuild`")
            client.load_collection(name)
    vectors = MilvusVectorStore(uri, int(record["count"]), record["nlist"], probe_share, record["sentences"])
    lexical = MilvusLexicalStore(uri, record["chunks"])
    vectors.client = lexical.client = client
    return vectors, lexical


def drop(folder: Path) -> None:
    """Drop the collections of a generation folder being pruned or abandoned; a server that cannot be
    reached is logged, not raised: the folder goes either way, and its collections are named by it."""
    path = folder / MILVUS_FILE
    if not path.is_file():
        return
    names = collection_names(folder.name)
    try:
        uri = json.loads(path.read_text(encoding="utf-8"))["uri"]
        client = connect(uri)
        with engine(uri):
            for name in names:
                if client.has_collection(name):
                    client.drop_collection(name)
    except (OSError, ValueError, KeyError, StoreError) as e:
        log.warning("could not drop the Milvus collections %s: %s", names, e)


@contextmanager
def local_server(data_dir: Path, port: int | None = None, wait: float = 60) -> Iterator[str]:
    """A throwaway ``milvus-lite server`` on a free loopback port (tests, benchmarks, a first try): its
    URI while the block runs. milvus-lite is Milvus's single-process engine, not the cluster one."""
    from pymilvus import MilvusClient

    server = Path(sys.executable).parent / "milvus-lite"
    if not server.is_file():
        raise ConfigError("milvus-lite is not installed: pip install -e '.[milvus]'")
    port = port or free_port()
    cmd = [str(server), "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                MilvusClient(uri=uri, timeout=2).list_collections()
                break
            except Exception:  # pymilvus raises several kinds while the server comes up
                if proc.poll() is not None or time.monotonic() > deadline:
                    why = (
                        proc.stderr.read().decode(errors="replace")[-300:]
                        if proc.poll() is not None and proc.stderr
                        else "timed out"
                    )
                    raise ConfigError(f"milvus-lite did not start on port {port}: {why}") from None
                time.sleep(0.3)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def free_port() -> int:
    """A loopback port nothing listens on at the moment of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

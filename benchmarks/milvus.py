"""FAISS against Milvus (``store = "milvus"``) on the same corpus: the seeds plus 10,000 docstring
paragraphs (``benchmarks/corpus.py``). Prints a Markdown table: whether the dev answers are identical,
build time, the store step alone, retrieval and answer p50, and recall@10 against exact search, flat
and with an IVF forced on the same vectors.

Milvus here is milvus-lite 3.2.2 started on loopback: Milvus's single-process engine, not the
distributed one; a cluster adds network hops and gains parallelism this cannot show.

    .venv/bin/python -m benchmarks.milvus [--passages 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
QUERIES = 200


def main() -> None:
    from benchmarks.corpus import make_corpus
    from rag.assistant import Assistant
    from rag.build import build_index
    from rag.config import Settings
    from rag.embed.embedder import load_embedder
    from rag.index.bm25 import Postings
    from rag.index.milvus import MilvusLexicalStore, MilvusVectorStore, local_server
    from rag.index.vectors import FaissVectorStore
    from rag.rank.retrieve import rankings_many
    from rag.text.words import terms

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passages", type=int, default=10_000)
    args = ap.parse_args()
    settings = Settings()
    embedder = load_embedder(settings.embedder, None, settings.batch_size)
    dev = [
        json.loads(x)["question"] for x in (ROOT / "tests" / "data" / "dev.jsonl").read_text().splitlines() if x.strip()
    ]
    out: dict[str, dict] = {"faiss": {}, "milvus": {}}
    with tempfile.TemporaryDirectory() as tmp, local_server(Path(tmp) / "milvus-data") as uri:
        corpus = Path(tmp) / "corpus"
        texts, _ = make_corpus(corpus, args.passages)
        for f in (ROOT / "seeds").glob("*.txt"):
            shutil.copy(f, corpus / f.name)
        rng = random.Random(7)
        queries = dev + [" ".join(rng.choice(texts).split()[:9]) for _ in range(QUERIES - len(dev))]
        assistants = {}
        for name, s in (("faiss", settings), ("milvus", settings.replace(store="milvus", milvus_uri=uri))):
            root = Path(tmp) / f"index-{name}"
            report = build_index(corpus, root, s, embedder)
            out[name]["build_s"] = round(report.seconds, 1)
            assistants[name] = a = Assistant.from_index(root, s)
            for q in queries[:5]:
                a.ask(q)  # warm-up
            search, answer = [], []
            for q in queries:
                qv = a.embedder.embed([q], "query")
                t0 = time.perf_counter()
                rankings_many(a.index, [q], qv, s.pool, s.rrf_k)
                t1 = time.perf_counter()
                a.ask(q)
                search.append(t1 - t0)
                answer.append(time.perf_counter() - t1)
            out[name].update(search_p50_ms=_ms(search), answer_p50_ms=_ms(answer))
        a, b = assistants["faiss"], assistants["milvus"]
        same = [(x.abstained, x.text) == (y.abstained, y.text) for x, y in ((a.ask(q), b.ask(q)) for q in dev)]
        out["milvus"]["dev_identical"] = f"{sum(same)}/{len(same)}"
        out["milvus"]["sentences"] = a.index.vector_store.count

        # The store step alone, and recall@10 against exact search, on the same vectors and chunks.
        vectors, chunks = np.asarray(a.index.sentence_vectors), a.index.chunks
        qv = a.embedder.embed(queries, "query")
        want = np.argsort(-(qv @ vectors.T), axis=1)[:, :10]
        for label, ivf_above in (("flat", settings.ivf_above), ("ivf", 1000)):
            t = time.perf_counter()
            fs = FaissVectorStore.build(vectors, ivf_above, settings.ivf_probe_share)
            if label == "flat":
                Postings.build([terms(c.text) for c in chunks])  # FAISS's BM25 step: the postings of every chunk
                out["faiss"]["store_step_s"] = round(time.perf_counter() - t, 2)
            folder = Path(tmp) / f"g-bench-{label}"
            folder.mkdir()
            t = time.perf_counter()
            ms = MilvusVectorStore.pending(vectors, uri, ivf_above, settings.ivf_probe_share)
            ms.save(folder)
            if label == "flat":
                MilvusLexicalStore(uri, chunks=chunks).save(folder)
                out["milvus"]["store_step_s"] = round(time.perf_counter() - t, 2)
            for name, store in (("faiss", fs), ("milvus", ms)):
                got = store.search(qv, 10)[1]
                out[name][f"recall@10_{label}"] = round(
                    float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(want, got)])), 4
                )
    print(
        "| | build s | store step s | search p50 ms | answer p50 ms | recall@10 flat | recall@10 IVF | dev identical |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in ("faiss", "milvus"):
        r = out[name]
        print(
            f"| {name} | {r['build_s']} | {r['store_step_s']} | {r['search_p50_ms']} | {r['answer_p50_ms']} | "
            f"{r['recall@10_flat']} | {r['recall@10_ivf']} | {r.get('dev_identical', '')} |"
        )
    print(json.dumps(out))


def _ms(xs: list[float]) -> float:
    return round(statistics.median(xs) * 1000, 2)


if __name__ == "__main__":
    main()

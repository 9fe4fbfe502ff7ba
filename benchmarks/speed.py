"""Indexing and answering speed on this machine, printed. Not a test: timings depend on the machine.

    .venv/bin/python benchmarks/speed.py [--copies 20]

Builds an index of the seeds copied N times (distinct file names, so N*5 files), then times a no-op
re-index, a one-file change, and answering the dev questions.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.assistant import Assistant  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.embed import load_embedder  # noqa: E402
from rag.store import build_index  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=20)
    args = ap.parse_args()
    settings = Settings()
    t = time.perf_counter()
    embedder = load_embedder(settings.embedder, settings.threads, settings.batch_size)
    print(f"model load            {time.perf_counter() - t:7.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for i in range(args.copies):
            for f in sorted((ROOT / "seeds").glob("*.txt")):
                shutil.copy(f, corpus / f"{i:03d}_{f.name}")
        root = Path(tmp) / "index"
        r = build_index(corpus, root, settings, embedder)
        texts = r.sentences + r.chunks
        print(f"full build            {r.seconds:7.2f} s  ({r.files} files, {r.sentences} sentences, {r.chunks} chunks; "
              f"{texts / r.seconds:.0f} texts embedded/s incl. words and I/O)")
        r = build_index(corpus, root, settings, embedder)
        print(f"no-op re-index        {r.seconds:7.3f} s  ({r.seconds / max(r.files, 1) * 1000:.2f} ms per file)")
        victim = sorted(corpus.glob("*.txt"))[0]
        victim.write_text(victim.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
        r = build_index(corpus, root, settings, embedder)
        print(f"one file changed      {r.seconds:7.3f} s  (re-embedded {r.embedded_files})")

        assistant = Assistant.from_index(root, settings)
        questions = [json.loads(x)["question"] for x in (ROOT / "tests" / "data" / "dev.jsonl").read_text().splitlines()]
        assistant.ask(questions[0])  # warm-up
        times = []
        for _ in range(3):
            for q in questions:
                t = time.perf_counter()
                assistant.ask(q)
                times.append(time.perf_counter() - t)
        times.sort()
        print(f"answer (extractive)   mean {sum(times) / len(times) * 1000:6.1f} ms, p50 {times[len(times) // 2] * 1000:6.1f} ms, "
              f"p95 {times[int(len(times) * 0.95)] * 1000:6.1f} ms over {len(times)} questions, {r.chunks} chunks")
    print(f"peak RSS              {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:7.0f} MB")


if __name__ == "__main__":
    main()

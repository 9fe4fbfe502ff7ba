"""Cold `rag ask` and `rag --help` as whole processes, with the ONNX question embedder and without it
(torch, as before rag/embed/onnx_model.py), on the seeds with a built index.

    .venv/bin/python -m benchmarks.cold_start [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAG = [sys.executable, "-m", "rag.cli"]
QUESTION = "How much did Microsoft first invest in OpenAI?"


def timed(args: list[str], env: dict[str, str], cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(args, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "RAG_ONNX_DIR": str(work / "onnx"), "PYTHONPATH": str(ROOT)}
        subprocess.run(
            [*RAG, "index", str(ROOT / "seeds"), "--index-dir", str(work / "index")],
            env=env,
            check=True,
            capture_output=True,
        )
        ask = [*RAG, "ask", QUESTION, "--index-dir", str(work / "index")]
        torch_env = {**env, "RAG_ONNX_DIR": str(work / "none")}  # no export there: questions go to torch
        rows = {
            "rag ask, torch (before)": [timed(ask, torch_env, work) for _ in range(args.runs)],
            "rag ask, ONNX (now)": [timed(ask, env, work) for _ in range(args.runs)],
            "rag --help": [timed([*RAG, "--help"], env, work) for _ in range(args.runs)],
        }
    for name, times in rows.items():
        print(
            f"{name:28s} p50 {statistics.median(times):.2f} s  (min {min(times):.2f}, max {max(times):.2f}, {len(times)} runs)"
        )
    before, after = statistics.median(rows["rag ask, torch (before)"]), statistics.median(rows["rag ask, ONNX (now)"])
    print(f"cold ask: {before / after:.1f}x faster")


if __name__ == "__main__":
    main()

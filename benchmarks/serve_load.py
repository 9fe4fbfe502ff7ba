"""Load on `rag serve`: many concurrent clients asking the dev questions for a fixed time.

    .venv/bin/python -m benchmarks.serve_load [--clients 50] [--seconds 60]

The server runs as its own process (`rag serve`, as a user starts it) over the seeds' index; the clients
are one asyncio process on the same 2-core machine, so they take CPU from the server and the figures
are a floor. Memory is the server's resident size, read from /proc every second. The comparison is the
same questions answered one by one in this process with ``Assistant.ask``, the cost with no HTTP, no
queue and no batching. Prints a Markdown table (results in benchmarks/SERVE.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
CACHE = ROOT / "benchmarks" / ".cache" / "serve"


def questions() -> list[str]:
    path = DEV if DEV.is_file() else ROOT / "tests" / "data" / "dev.jsonl"
    return [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def load(url: str, qs: list[str], clients: int, seconds: float, pid: int) -> dict[str, object]:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    memory: list[float] = []
    stop = time.monotonic() + seconds

    async def client(i: int, http: httpx.AsyncClient) -> None:
        n = i
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                r = await http.post(f"{url}/ask", json={"question": qs[n % len(qs)]})
                key = str(r.status_code) if r.status_code != 200 or "answer" in r.json() else "200-bad-body"
            except httpx.HTTPError as e:
                key = type(e).__name__
            latencies.append(time.perf_counter() - t)
            statuses[key] = statuses.get(key, 0) + 1
            n += 1

    async def sample() -> None:
        while time.monotonic() < stop:
            memory.append(rss_mb(pid))
            await asyncio.sleep(1)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(sample(), *(client(i, http) for i in range(clients)))
        wall = time.perf_counter() - t0
    lat = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "statuses": statuses,
        "rss_mb": {
            "first": memory[0],
            "after_10s": memory[min(10, len(memory) - 1)],
            "max": max(memory),
            "last": memory[-1],
        },
    }


def one_by_one(index_dir: Path, corpus: Path, qs: list[str], seconds: float) -> dict[str, float]:
    from rag.assistant import Assistant

    assistant = Assistant.open(index_dir, corpus)
    for q in qs:
        assistant.ask(q)  # warm
    times = []
    stop = time.monotonic() + seconds
    n = 0
    while time.monotonic() < stop:
        t = time.perf_counter()
        assistant.ask(qs[n % len(qs)])
        times.append(time.perf_counter() - t)
        n += 1
    lat = np.array(times) * 1000
    return {
        "requests": len(times),
        "rps": len(times) / float(lat.sum() / 1000),
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    corpus, index_dir = CACHE / "seeds", CACHE / "index"
    if not corpus.is_dir():
        shutil.copytree(ROOT / "seeds", corpus)
    qs = questions()
    from tests.serving import free_port, wait_healthy  # the same start-up wait the tests use

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rag.cli",
            "serve",
            "--port",
            str(port),
            "--index-dir",
            str(index_dir),
            "--corpus",
            str(corpus),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        for q in qs:  # warm the server as the in-process run is warmed
            httpx.post(f"{url}/ask", json={"question": q}, timeout=60)
        served = asyncio.run(load(url, qs, args.clients, args.seconds, server.pid))
    finally:
        server.send_signal(2)
        _, stderr = server.communicate(timeout=60)
    alone = one_by_one(index_dir, corpus, qs, min(args.seconds, 30))
    print(
        f"{args.clients} concurrent clients for {args.seconds:.0f} s against `rag serve` (seeds, extractive), 2 cores shared with the clients\n"
    )
    print("| | requests | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---|")
    errors = {k: v for k, v in served["statuses"].items() if k != "200"}  # type: ignore[union-attr]
    print(
        f"| `rag serve`, {args.clients} clients | {served['requests']} | {served['rps']:.1f} | {served['p50_ms']:.0f} | {served['p99_ms']:.0f} | {errors or 'none'} |"
    )
    print(
        f"| in process, one by one | {alone['requests']} | {alone['rps']:.1f} | {alone['p50_ms']:.1f} | {alone['p99_ms']:.1f} | none |"
    )
    m = served["rss_mb"]
    print(
        f"\nserver memory (MB resident): {m['first']:.0f} at start, {m['after_10s']:.0f} after 10 s, {m['max']:.0f} at most, {m['last']:.0f} at the end"
    )  # type: ignore[index]
    print(f"throughput ratio serve / one-by-one: {served['rps'] / alone['rps']:.2f}x")  # type: ignore[operator]
    print(f"server exit code {server.returncode}; traceback on its stderr: {'Traceback' in stderr}")


if __name__ == "__main__":
    main()

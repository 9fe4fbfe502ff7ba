"""Precision and recall of the citation verifier on labelled pairs from the seeds, over a threshold sweep.

.venv/bin/python benchmarks/verify_pairs.py
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.build import build_index  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.embed.embedder import load_embedder  # noqa: E402
from rag.index import load_index  # noqa: E402
from rag.verify.support import Verifier  # noqa: E402
from tests.support_pairs import support_pairs  # noqa: E402


def precision_recall(scored, threshold):
    """Positive = 'supported'. Precision: kept citations that truly support; recall: true supports kept."""
    tp = sum(1 for s, label in scored if s >= threshold and label == "supported")
    fp = sum(1 for s, label in scored if s >= threshold and label != "supported")
    fn = sum(1 for s, label in scored if s < threshold and label == "supported")
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def main() -> None:
    settings = Settings()
    embedder = load_embedder(settings.embedder)
    with tempfile.TemporaryDirectory() as tmp:
        build_index(ROOT / "seeds", Path(tmp), settings, embedder)
        index = load_index(Path(tmp), settings)
    verifier = Verifier(index, embedder, settings.support_threshold)
    pairs = support_pairs(index, with_hard=True)
    scored = [(verifier.support(c, cited).score, label) for c, cited, label in pairs]
    main_set = [x for x in scored if x[1] != "hard"]
    print("pairs:", dict(Counter(label for _, label in scored)))
    print(f"{'threshold':>9} {'precision':>9} {'recall':>7}")
    for t in [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]:
        p, r = precision_recall(main_set, t)
        mark = "  <- default" if abs(t - settings.support_threshold) < 1e-9 else ""
        print(f"{t:9.2f} {p:9.3f} {r:7.3f}{mark}")
    for label in ["supported", "unsupported", "contradicted", "hard"]:
        s = [x for x, lab in scored if lab == label]
        kept = sum(v >= settings.support_threshold for v in s)
        print(
            f"{label:>13}: {len(s):3d} pairs, kept {kept:3d}, score min {min(s):.2f} mean {sum(s) / len(s):.2f} max {max(s):.2f}"
        )


if __name__ == "__main__":
    main()

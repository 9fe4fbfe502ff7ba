"""Real-text corpora for the benchmarks: prose paragraphs from the docstrings of the Python packages
installed in this venv (transformers, torch, scipy, sympy, numpy... carry tens of thousands), written
as folders of text files. Nothing is downloaded.

A *passage* is one paragraph: the unit a chunk-embedding pipeline would embed, and what the raw
``encode`` + FAISS ``add`` baseline embeds. When the venv holds fewer distinct paragraphs than asked
for, the rest are the same paragraphs with their sentences rotated and a unique tag appended
("repeat-and-perturb"); ``make_corpus`` says how many.
"""

from __future__ import annotations

import ast
import re
import sys
import sysconfig
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
PER_FILE = 50  # paragraphs per article file
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _is_prose(p: str) -> bool:
    return (
        len(p) >= 60
        and p[-1] in ".!?"
        and ">>>" not in p
        and "::" not in p
        and "`" not in p
        and sum(c.isalpha() or c in " ,.;'()-" for c in p) / len(p) > 0.9
    )


def paragraphs() -> list[str]:
    """Distinct prose paragraphs of every docstring in site-packages, in a fixed order (cached)."""
    cache = CACHE / "paragraphs.txt"
    if cache.is_file():
        return cache.read_text(encoding="utf-8").split("\n")
    site = Path(sysconfig.get_paths()["purelib"])
    seen: dict[str, None] = {}
    for path in sorted(site.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                for raw in re.split(r"\n\s*\n", ast.get_docstring(node) or ""):
                    p = " ".join(raw.split())
                    if _is_prose(p):
                        seen.setdefault(p)
    CACHE.mkdir(exist_ok=True)
    cache.write_text("\n".join(seen), encoding="utf-8")
    return list(seen)


def passages(n: int) -> tuple[list[str], int]:
    """``n`` distinct passages and how many of them are perturbed repeats."""
    real = paragraphs()
    out = real[:n]
    round_ = 1
    while len(out) < n:
        for i, p in enumerate(real[: n - len(out)]):
            parts = _SENTENCE_END.split(p)
            shift = round_ % len(parts)
            out.append(" ".join(parts[shift:] + parts[:shift]) + f" (Variant {round_}-{i}.)")
        round_ += 1
    return out, max(0, n - len(real))


def make_corpus(folder: Path, n: int) -> tuple[list[str], int]:
    """Write ``n`` passages as article files of PER_FILE paragraphs under ``folder``."""
    texts, perturbed = passages(n)
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, n, PER_FILE):
        (folder / f"doc{start // PER_FILE:05d}.txt").write_text(
            "\n\n".join(texts[start : start + PER_FILE]) + "\n", encoding="utf-8"
        )
    return texts, perturbed


if __name__ == "__main__":
    ps = paragraphs()
    print(
        f"{len(ps)} distinct prose paragraphs from docstrings under {sysconfig.get_paths()['purelib']}", file=sys.stderr
    )

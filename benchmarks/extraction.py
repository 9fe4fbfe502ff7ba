"""Extraction throughput and fidelity: PDF pages/s, HTML and Word files/s, and how many of the source
sentences come back verbatim, on Wikipedia articles (SQuAD-train paragraphs, the test part) printed
to PDF, saved as news pages and as Word files by tests/data/make_fixtures.py.

    .venv/bin/python -m benchmarks.extraction [--articles 40]

Needs the dev extra (fpdf2) and the SQuAD test corpus that benchmarks/answer_quality.py caches; falls
back to the seeds when that corpus is absent. pdfplumber is timed beside pypdf when it is installed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from rag.ingest.corpus import SourceFile, read_document, split_sentences
from rag.types import Document

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "data"))
import make_fixtures as fx  # noqa: E402

SQUAD = ROOT / "benchmarks" / ".cache" / "squad-test" / "corpus"


def articles(limit: int) -> dict[str, str]:
    """Article name -> its paragraphs, one per line (SQuAD paragraphs are files named <article>_<nnn>.txt)."""
    if not SQUAD.is_dir():
        return {p.stem: p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))}
    grouped: dict[str, list[str]] = defaultdict(list)
    for p in sorted(SQUAD.glob("test_*.txt")):
        grouped[p.stem.rsplit("_", 1)[0]].append(p.read_text(encoding="utf-8").strip())
    return {name: "\n\n".join(paras) for name, paras in list(grouped.items())[:limit]}


def sentences_of(text: str, name: str) -> set[str]:
    return {s.text for s in split_sentences(Document(name, text))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=40)
    args = ap.parse_args()
    texts = articles(args.articles)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "txt"
        src.mkdir()
        for name, text in texts.items():
            (src / f"{name}.txt").write_text(text, encoding="utf-8")
        want = {name: sentences_of(text, name) for name, text in texts.items()}
        total = sum(len(v) for v in want.values())
        print(f"{len(texts)} articles, {total} sentences, {sum(map(len, texts.values())) / 1e6:.2f} M characters")
        for fmt in ("pdf", "html", "docx"):
            files = fx.convert(src, Path(tmp) / fmt, fmt)
            t = time.perf_counter()
            docs = [read_document(SourceFile(f, f.name, "0", f.stat().st_size)) for f in files]
            seconds = time.perf_counter() - t
            assert all(isinstance(d, Document) for d in docs), [d for d in docs if not isinstance(d, Document)]
            found = sum(len(want[d.file.rsplit(".", 1)[0]] & sentences_of(d.text, d.file)) for d in docs)  # type: ignore[union-attr]
            pages = sum(len(d.pages) for d in docs if isinstance(d, Document))
            rate = f"{pages / seconds:.0f} pages/s ({pages} pages), " if fmt == "pdf" else ""
            print(
                f"{fmt:5} {rate}{len(files) / seconds:.1f} files/s; source sentences recovered verbatim {found / total:.3f}"
            )
            if fmt == "pdf":
                compare_pdfplumber(files, pages, seconds)


def compare_pdfplumber(files: list[Path], pages: int, pypdf_seconds: float) -> None:
    try:
        import pdfplumber
    except ImportError:
        print("      (pdfplumber not installed: not compared)")
        return
    t = time.perf_counter()
    for f in files:
        with pdfplumber.open(f) as pdf:
            for page in pdf.pages:
                page.extract_text()
    seconds = time.perf_counter() - t
    print(
        f"      pdfplumber: {pages / seconds:.0f} pages/s for its raw page text alone, {seconds / pypdf_seconds:.1f}x the time pypdf takes with the reflow"
    )


if __name__ == "__main__":
    main()

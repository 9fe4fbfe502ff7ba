"""PDF extraction against poppler's pdftotext, on real PDFs from Debian packages (issue 34).

    .venv/bin/python -m benchmarks.pdf_fidelity            # fetch once, then measure rag's extractor
    .venv/bin/python -m benchmarks.pdf_fidelity --pdfminer # also pdfminer.six's layout analysis

The PDFs and poppler come from Debian packages fetched with `apt-get download` and unpacked with
`dpkg -x` into benchmarks/.cache/realdocs (never installed; git-ignored). Poppler is GPL: it is the
reference here, never a dependency of the product.

Per file, against the reference (pdftotext per page, reading order):
- recovered: the share of the reference's sentences (4 words or more) found in the extracted text, both
  NFKC-normalised with whitespace and hyphens removed (a hyphen at a line end is the reference's own);
  "in one paragraph" asks that it lie within one of the extraction's paragraphs. That is stricter than
  it should be: pdftotext runs a heading into the paragraph under it, and a table of contents' lines
  into one "sentence", which a right extraction keeps apart;
- long words: words over 25 letters per word of the extraction, on files whose reference has none;
- mixed: on two-column files, extracted sentences found in neither the page's reference nor its left
  column followed by its right column (pdftotext cropped to each half), whose first and last words
  come from different columns: lines of two columns interleaved.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sentencex

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.ingest.extracted import Extracted  # noqa: E402
from rag.ingest.pdf import drop_running_lines, pdf_text, reflow  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache" / "realdocs"
PACKAGES = ["poppler-utils", "libpoppler126", "texlive-publishers-doc", "r-doc-pdf", "maint-guide"]
TEX = "usr/share/doc/texlive-doc/latex/"
# (path in the unpacked packages, two columns): 8 two-column papers and templates, 8 manuals
PDFS = [
    (TEX + "acmart/samples/sample-sigconf.pdf", True),
    (TEX + "acmart/samples/sample-sigplan.pdf", True),
    (TEX + "elsarticle/elstest-5p.pdf", True),
    (TEX + "mnras/mnras_guide.pdf", True),
    (TEX + "ieeetran/testflow_doc.pdf", True),
    (TEX + "revtex4-1/sample/aps/apssamp.pdf", True),
    (TEX + "revtex4-1/sample/aip/aipsamp.pdf", True),
    (TEX + "ieeeconf/IEEEconf.pdf", True),
    (TEX + "acmart/acmguide.pdf", False),
    (TEX + "elsarticle/elsdoc.pdf", False),
    (TEX + "llncs/llncsdoc.pdf", False),
    (TEX + "aastex/sample631.pdf", False),
    (TEX + "arsclassica/ArsClassica.pdf", False),
    ("usr/share/doc/maint-guide/maint-guide.en.pdf", False),
    ("usr/share/doc/r-doc-pdf/manual/R-FAQ.pdf", False),
    ("usr/share/doc/r-doc-pdf/manual/R-data.pdf", False),
]
_LONG = re.compile(r"[^\W\d_]{26,}")
_WORD = re.compile(r"[^\W\d_]+")
_DROP = re.compile(r"[\s\-\u00ad\u2010\u2011\ufffe\x02]+")


def fetch() -> Path:
    """The unpacked packages' root, fetched and unpacked on first use."""
    root = CACHE / "root"
    if (root / "usr/bin/pdftotext").exists() and all((root / p).exists() for p, _ in PDFS):
        return root
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", *PACKAGES], cwd=debs, check=True, capture_output=True)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def _poppler(root: Path, tool: str, *args: str) -> str:
    """A poppler tool's output, run from the unpacked package with its own library."""
    env = dict(os.environ, LD_LIBRARY_PATH=str(root / "usr/lib/x86_64-linux-gnu"))
    run = subprocess.run([str(root / "usr/bin" / tool), *args], env=env, check=True, capture_output=True)
    return run.stdout.decode("utf-8", "replace")


def pdftotext(root: Path, pdf: Path, *crop: str) -> list[str]:
    out = _poppler(root, "pdftotext", "-enc", "UTF-8", *crop, str(pdf), "-")
    return out.split("\f")[:-1] if out.endswith("\f") else out.split("\f")


def page_size(root: Path, pdf: Path) -> tuple[float, float]:
    info = _poppler(root, "pdfinfo", str(pdf))
    m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info)
    assert m, info
    return float(m.group(1)), float(m.group(2))


def norm(text: str) -> str:
    return _DROP.sub("", unicodedata.normalize("NFKC", text)).lower()


def sentences(text: str, paragraph: str = r"\n\s*\n") -> list[str]:
    """pdftotext ends a block with a blank line; rag's extraction gives one paragraph per line."""
    out = []
    for para in re.split(paragraph, text):
        flat = " ".join(para.split())
        out += [b["text"].strip() for b in sentencex.get_sentence_boundaries("en", flat)]
    return [s for s in out if len(_WORD.findall(s)) >= 4]


def pdfminer_text(data: bytes) -> Extracted:
    """pdfminer.six with its layout analysis (boxes in reading order), through rag's running-line and
    reflow rules, for comparison."""
    import io

    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer

    pages = []
    for layout in extract_pages(io.BytesIO(data), laparams=LAParams()):
        lines: list[str] = []
        for box in layout:
            if isinstance(box, LTTextContainer):
                lines += [" ".join(ln.split()) for ln in box.get_text().splitlines() if ln.strip()] + [""]
        pages.append(lines[:-1])
    text, starts = reflow(drop_running_lines(pages))
    return Extracted(text, "pdf", pages=starts)


@dataclass
class Row:
    file: str
    pages: int
    seconds: float
    recovered: float
    in_paragraph: float
    ref_sentences: int
    long_words: float | None
    mixed: int | None
    checked: int


def measure(root: Path, rel: str, two_columns: bool, extract: Callable[[bytes], Extracted]) -> Row:
    pdf = root / rel
    data = pdf.read_bytes()
    t = time.perf_counter()
    got = extract(data)
    seconds = time.perf_counter() - t
    ref_pages = pdftotext(root, pdf)
    whole = norm(got.text)
    paragraphs = "\0".join(norm(line) for line in got.text.split("\n"))
    ref = [s for page in ref_pages for s in sentences(page)]
    found = sum(norm(s) in whole for s in ref)
    within = sum(norm(s) in paragraphs for s in ref)
    ref_long = any(_LONG.search(p) for p in ref_pages)
    words = _WORD.findall(got.text)
    long_share = None if ref_long else len(_LONG.findall(got.text)) / max(1, len(words))
    mixed = checked = 0
    if two_columns:
        width, height = page_size(root, pdf)
        half = f"{width / 2:.0f}"
        left = pdftotext(root, pdf, "-x", "0", "-y", "0", "-W", half, "-H", f"{height:.0f}")
        right = pdftotext(root, pdf, "-x", half, "-y", "0", "-W", half, "-H", f"{height:.0f}")
        bounds = list(got.pages) + [len(got.text)]
        for i, (full, lt, rt) in enumerate(zip(ref_pages, left, right, strict=False)):
            page = got.text[bounds[i] : bounds[i + 1]] if i + 1 < len(bounds) else ""
            nf, nl, nr = norm(full), norm(lt), norm(rt)
            for s in sentences(page, "\n"):
                ns = norm(s)
                if len(ns) < 40:
                    continue
                checked += 1
                if ns in nf or ns in nl + nr or ns in nl or ns in nr:
                    continue
                head, tail = ns[:20], ns[-20:]
                if (head in nl and tail in nr) or (head in nr and tail in nl):
                    mixed += 1
    return Row(
        Path(rel).name,
        len(ref_pages),
        seconds,
        found / max(1, len(ref)),
        within / max(1, len(ref)),
        len(ref),
        long_share,
        mixed if two_columns else None,
        checked,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pdfminer", action="store_true", help="also measure pdfminer.six (slow)")
    args = ap.parse_args()
    root = fetch()
    extractors = [("rag", pdf_text)] + ([("pdfminer.six", pdfminer_text)] if args.pdfminer else [])
    for name, extract in extractors:
        rows = [measure(root, rel, two, extract) for rel, two in PDFS]
        print(f"\n### {name}\n")
        print(
            "| file | pages | pages/s | reference sentences recovered | in one paragraph | words over 25 letters | mixed columns / checked |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            long = "-" if r.long_words is None else f"{r.long_words:.2%}"
            mixed = "-" if r.mixed is None else f"{r.mixed} / {r.checked}"
            print(
                f"| {r.file} | {r.pages} | {r.pages / r.seconds:.0f} | {r.recovered:.3f} ({r.ref_sentences}) | {r.in_paragraph:.3f} | {long} | {mixed} |"
            )
        pages = sum(r.pages for r in rows)
        total = sum(r.ref_sentences for r in rows)
        rec = sum(r.recovered * r.ref_sentences for r in rows) / total
        para = sum(r.in_paragraph * r.ref_sentences for r in rows) / total
        mixed_n = sum(r.mixed or 0 for r in rows)
        checked = sum(r.checked for r in rows)
        worst = min(rows, key=lambda r: r.recovered)
        print(
            f"| all | {pages} | {pages / sum(r.seconds for r in rows):.0f} | {rec:.3f} ({total}); worst {worst.recovered:.3f} | {para:.3f} |"
            f" max {max((r.long_words or 0) for r in rows):.2%} | {mixed_n} / {checked} |"
        )


if __name__ == "__main__":
    main()

"""Hard-wrapped text and Markdown split into sentences: how many sentences start mid-sentence, line by
line (before issue 34) and by block (rag/ingest/blocks.py).

    .venv/bin/python -m benchmarks.wrapped_text

The documents are the READMEs that Debian packages install under /usr/share/doc (read in place, never
copied into the tree; a file this machine lacks is skipped and said so). A sentence "starts mid-sentence"
when it opens with a lower-case letter and the text before it, in the same paragraph, ends without a
full stop, question or exclamation mark, colon or semicolon: a line of a wrapped paragraph cut off from
its beginning. Lower-case openings after such a mark (a command, a file name) do not count, nor do rows of
aligned columns (a file list: "ac*.m4          - automatic configuration files"), which are units.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import sentencex

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.ingest.blocks import COLUMNS, ENDED, lines  # noqa: E402
from rag.ingest.corpus import bounded, split_sentences  # noqa: E402
from rag.types import Document  # noqa: E402

DOCS = [
    "coreutils/README.gz",
    "libpng16-16/README.gz",
    "systemd/README.gz",
    "libnet-ssleay-perl/README.gz",
    "libjpeg-dev/README.ijg.gz",
    "libmpfr6/README",
    "base-passwd/README",
    "man-db/README.md.gz",
    "zstd/README.md.gz",
    "libffi8/README.md.gz",
    "nodejs/BUILDING.md",
]


def read(relative: str) -> str | None:
    path = Path("/usr/share/doc") / relative
    if not path.is_file():
        return None
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return raw.decode("utf-8", errors="replace")


def by_lines(text: str) -> list[tuple[int, int]]:
    """The splitting before issue 34: each line alone, then sentencex."""
    out = []
    for at, stop in lines(text):
        for b in sentencex.get_sentence_boundaries("en", text[at:stop]):
            out += bounded(text, at + b["start_index"], at + b["end_index"])
    return out


def mid_sentence(text: str, start: int) -> bool:
    line = text[text.rfind("\n", 0, start) + 1 : (text.find("\n", start) + 1 or len(text) + 1) - 1]
    if COLUMNS.search(line.strip()):
        return False
    before = text[:start].rstrip(" \t")
    if not before or before.endswith(("\n\n", "\r\n\r\n")) or not text[start : start + 1].islower():
        return False
    return not ENDED.search(before.rstrip())


def main() -> None:
    print("| file | sentences (lines / blocks) | start mid-sentence (lines / blocks) |\n|---|---|---|")
    totals = [0, 0, 0, 0]
    for relative in DOCS:
        text = read(relative)
        if text is None:
            print(f"| {relative} | not on this machine | |")
            continue
        name = relative.replace("/", "_").removesuffix(".gz")
        old = by_lines(text)
        new = [(s.start, s.end) for s in split_sentences(Document(name, text))]
        old_mid = sum(mid_sentence(text, a) for a, _ in old)
        new_mid = sum(mid_sentence(text, a) for a, _ in new)
        totals = [totals[0] + len(old), totals[1] + len(new), totals[2] + old_mid, totals[3] + new_mid]
        print(f"| {relative} | {len(old)} / {len(new)} | {old_mid / len(old):.3f} / {new_mid / len(new):.3f} |")
    print(f"| all | {totals[0]} / {totals[1]} | {totals[2] / totals[0]:.3f} / {totals[3] / totals[1]:.3f} |")


if __name__ == "__main__":
    main()

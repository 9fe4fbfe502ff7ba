"""PDF text in reading order (rag/ingest/pdf_lines.py): two columns read one after the other, a
manuscript's margin line numbers dropped while a listing's own numbers stay, ligatures and TeX's spaced
accents made plain, and pages whose words run together reported at index time. The PDFs are written by
fpdf2 from the seeds' real paragraphs."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import pytest

from rag.ingest.corpus import SourceFile, read_document, split_sentences
from rag.ingest.pdf import pdf_text
from rag.ingest.pdf_lines import clean
from rag.types import Document

sys.path.insert(0, str(Path(__file__).parent / "data"))
import make_fixtures as fx  # noqa: E402

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _paragraphs(n: int = 2) -> list[str]:
    out: list[str] = []
    for path in sorted(SEEDS.glob("*.txt"))[:n]:
        out += [b for b in fx.blocks(path.read_text(encoding="utf-8")) if not fx.is_heading_line(b)]
    return out


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_two_columns_are_read_one_after_the_other_and_every_paragraph_comes_back_whole():
    paragraphs = _paragraphs()
    got = pdf_text(fx.two_column_pdf(paragraphs))
    lines = [_flat(line) for line in got.text.split("\n")]
    assert len(got.pages) >= 2  # the text runs over into a second page of two columns
    assert lines[0] == "A Two-Column Paper"
    # Each paragraph is one line of the extracted text, whole and in order: the right column's lines are
    # never interleaved with the left's, and a paragraph carried over into the next column is joined.
    assert lines[1:] == [_flat(p) for p in paragraphs]


def test_a_manuscripts_margin_line_numbers_are_dropped():
    paragraphs = _paragraphs(1)
    data = fx.line_numbered_pdf(paragraphs)
    got = pdf_text(data)
    assert [_flat(line) for line in got.text.split("\n")] == [_flat(p) for p in paragraphs]


def test_a_listings_own_line_numbers_stay():
    pdf = fx.plain_pdf()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 6, "The loop below prints the numbers one to ten.")
    pdf.set_font("Courier", "", 10)
    code = [
        "for i in range(1, 11):",
        "    if i % 2:",
        "        print('odd', i)",
        "    else:",
        "        print(i)",
        "done()",
    ]
    for n, line in enumerate(code, 1):
        y = pdf.get_y() + 4
        pdf.text(12, y, str(n))
        pdf.text(18, y, line)
        pdf.ln(5)
    got = pdf_text(bytes(pdf.output()))
    assert "1 for i in range(1, 11):" in got.text and "6 done()" in got.text


def test_ligatures_minus_signs_and_spaced_accents_become_what_a_reader_sees():
    assert clean("the \ufb01rst \ufb02oor, a \ufb00ort") == "the first floor, a ffort"
    assert clean("x \u2212 1") == "x - 1"
    assert clean("Br¨oker and Erd˝os") == "Bröker and Erd˝os"  # ˝ has no rule: left as printed
    assert clean("end of a hyphen\ufffe") == "end of a hyphen-"
    assert clean("² and ½ stay") == "² and ½ stay"  # full NFKC would change what they say


def test_a_page_whose_words_run_together_is_reported_with_its_file_and_page(tmp_path, caplog):
    pdf = fx.plain_pdf()
    pdf.set_font("Helvetica", "", 11)
    pdf.add_page()
    pdf.multi_cell(0, 6, " ".join(_paragraphs(1)))
    pdf.add_page()  # how a PDF without space characters reads when pdfium cannot see the gaps
    pdf.multi_cell(0, 6, " ".join(re.sub(r"\W+", "", p) for p in _paragraphs(1)))
    path = tmp_path / "glued.pdf"
    path.write_bytes(bytes(pdf.output()))
    with caplog.at_level(logging.WARNING, logger="rag.ingest.corpus"):
        doc = read_document(SourceFile(path, "glued.pdf", "0" * 64, path.stat().st_size))
    assert isinstance(doc, Document) and doc.format == "pdf"
    assert [r.getMessage() for r in caplog.records if "run together" in r.getMessage()] == [
        "glued.pdf: words run together on page 2 (the PDF has no spaces between them): search there is poor;"
        " a copy printed to PDF again may read better"
    ]
    assert split_sentences(doc)[0].page == 1


@pytest.mark.parametrize("broken", [b"%PDF-1.4 not really", b""])
def test_a_damaged_pdf_is_refused_with_its_reason(broken):
    from rag.ingest.extracted import ExtractionError

    with pytest.raises(
        ExtractionError, match=r"^damaged PDF \(data format error\): open and save it again, or remove it$"
    ):
        pdf_text(broken)

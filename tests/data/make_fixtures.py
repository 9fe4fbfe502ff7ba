"""Writes the document fixtures under tests/data/ and converts articles into PDF, HTML and DOCX.

    python tests/data/make_fixtures.py   # rewrites the committed fixtures (the PDFs and the page byte for
                                         # byte; the Word and encrypted files differ in zip dates and keys)

Tests call ``convert(seeds, out, fmt)`` to get the seeds as PDFs, HTML pages or Word files: the same
articles in each format, so answers from any one format can be compared with answers from ``.txt``.
Needs the ``dev`` extra (fpdf2) and python-docx; nothing is downloaded.
"""

from __future__ import annotations

import datetime
import io
import sys
from html import escape
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_FIXED_DATE = datetime.datetime(2026, 1, 15, tzinfo=datetime.UTC)

HEADER = "Northwind Quarterly Review - Internal Use Only"
MENU = ["Home", "World", "Business", "Technology", "Subscribe", "Sign in"]
COOKIE = "We use cookies to improve your experience. By continuing you accept our cookie policy. Accept all cookies"
FOOTER = "Copyright 2026 Daily Ledger Media Group. All rights reserved. Privacy policy | Terms of use | Contact us"

# Page 1 breaks "infrastructure" with a soft hyphen, so the PDF shows "infra-" at a line end.
REPORT_PAGES = [
    (
        "Revenue",
        [
            "Northwind Traders reported revenue of 4.2 million dollars in the third quarter. "
            "The growth came mostly from the new warehouse in Rotterdam, which opened in March. "
            "Spending on cloud infra\u00adstructure rose by eighteen percent over the same period, "
            "because the company moved its ordering system to a hosted platform.",
            "Margins stayed flat at twelve percent.",
        ],
    ),
    (
        "Staff",
        [
            "The company hired 37 engineers during the quarter, most of them in Lisbon. "
            "Staff turnover fell to six percent, the lowest figure since the company was founded in 2009.",
            "A training programme for warehouse supervisors started in August.",
        ],
    ),
    (
        "Outlook",
        [
            "The board expects revenue of 5 million dollars in the fourth quarter. "
            "Chief executive Maria Okafor said the company would open a second warehouse in Gdansk next year.",
            "No dividend will be paid this year.",
        ],
    ),
]

NEWS_TITLE = "Harbour bridge reopens after two years of repairs"
NEWS_DATE = "2026-03-14"
NEWS_PARAGRAPHS = [
    "The Kessler harbour bridge reopened to traffic on Saturday after two years of repairs that cost 84 million euros.",
    "Engineers replaced all 212 steel cables and resurfaced the deck, city officials said.",
    "The mayor, Lena Brandt, thanked residents for their patience during the closure.",
]

HANDBOOK = [
    ("Title", "Volunteer Handbook"),
    ("Heading 1", "Opening hours"),
    ("Normal", "The community garden is open from seven in the morning until dusk, every day of the week."),
    ("Heading 1", "Who can join?"),
    ("Normal", "Anyone over sixteen can join the volunteer team after a short safety briefing."),
    ("Heading 2", "Tools"),
    ("Normal", "Tools are kept in the green shed and must be cleaned before they are returned."),
]


def plain_pdf(cls: Any = None) -> Any:
    """An A4 FPDF (of ``cls``, FPDF by default) that writes curly quotes and dashes with its core fonts
    (no font file) and carries the same date on every run, so the same input gives the same bytes."""
    from fpdf import FPDF

    pdf = (cls or FPDF)(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(_FIXED_DATE)
    return pdf


def _pdf(header: str | None, numbered: str, title: str | None = None) -> Any:
    """An A4 FPDF that prints ``header`` on top of every page and ``numbered`` (formatted with the page
    number) at its foot: the running header and footer a PDF extractor must drop."""
    from fpdf import FPDF

    class Paged(FPDF):
        def header(self) -> None:
            if header:
                self.set_font("Helvetica", "I", 9)
                self.cell(0, 6, header)
                self.ln(10)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", "", 9)
            self.cell(0, 6, numbered.format(n=self.page_no()), align="C")

    pdf = plain_pdf(Paged)
    if title:
        pdf.set_title(title)
    pdf.set_margins(20, 12, 20)
    pdf.set_auto_page_break(True, margin=22)
    return pdf


def pdf_bytes(pages: list[tuple[str, list[str]]], header: str | None = None, title: str | None = None) -> bytes:
    """A PDF with one section per page, a running header and a 'Page n of N' footer on every page."""
    pdf = _pdf(header, "Page {n} of " + str(len(pages)), title)
    for heading, paragraphs in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(0, 8, heading)
        pdf.ln(3)
        pdf.set_font("Helvetica", "", 11)
        for p in paragraphs:
            pdf.multi_cell(0, 6, p)
            pdf.ln(4)
    return bytes(pdf.output())


def two_column_pdf(paragraphs: list[str], title: str = "A Two-Column Paper") -> bytes:
    """Justified paragraphs set in two columns under a full-width title, as conference papers are: a
    page's left column is read top to bottom before its right one."""
    pdf = plain_pdf()
    pdf.set_margins(18, 15, 18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, title, align="C")
    pdf.ln(4)
    pdf.set_font("Times", "", 10)
    with pdf.text_columns(ncols=2, gutter=8, text_align="J", l_margin=18, r_margin=18) as cols:
        for p in paragraphs:
            cols.write(p)
            cols.ln()
            cols.ln()
    return bytes(pdf.output())


def line_numbered_pdf(paragraphs: list[str]) -> bytes:
    """A manuscript: every line numbered in the left margin, counting on across pages, as journals'
    review copies are."""
    pdf = plain_pdf()
    pdf.set_margins(30, 15, 20)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    n = 0
    for p in paragraphs:
        for line in pdf.multi_cell(0, 6, p, dry_run=True, output="LINES"):
            if pdf.get_y() > 270:
                pdf.add_page()
            n += 1
            pdf.set_font("Helvetica", "", 7)
            pdf.text(12, pdf.get_y() + 4.2, str(n))
            pdf.set_font("Helvetica", "", 11)
            # dry_run gives each line already encoded for the core font: back to text
            pdf.cell(0, 6, line.encode("latin-1").decode("cp1252"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    return bytes(pdf.output())


# For text beyond Windows-1252 (Wikipedia's names and symbols): Debian's fonts-dejavu-core.
UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def article_pdf(text: str) -> bytes:
    """An article as one flowing PDF (pages break where they fill), with a running header and footer."""
    pdf = _pdf(HEADER, "Page {n}")
    family = "Helvetica"
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        if not UNICODE_FONT.is_file():
            raise SystemExit(
                f"{UNICODE_FONT} is needed for text outside Windows-1252: apt install fonts-dejavu-core"
            ) from None
        pdf.add_font("DejaVu", "", str(UNICODE_FONT))
        pdf.add_font("DejaVu", "B", str(UNICODE_FONT.with_name("DejaVuSans-Bold.ttf")))
        family = "DejaVu"
    pdf.add_page()
    for block in blocks(text):
        heading = is_heading_line(block)
        pdf.set_font(family, "B" if heading else "", 13 if heading else 11)
        pdf.multi_cell(0, 6, block)
        pdf.ln(4)
    return bytes(pdf.output())


def blocks(text: str) -> list[str]:
    return [b.strip() for b in text.split("\n") if b.strip()]


def is_heading_line(block: str) -> bool:
    return len(block) < 80 and not block.rstrip().endswith((".", "!", "?", '"', "\u201d"))


def news_html(title: str | None, paragraphs: list[str], date: str | None = NEWS_DATE) -> str:
    """A saved news page: menu, cookie banner, article, related links and footer (an untitled article
    gets no headline, so its text is the article's alone)."""
    menu = "".join(f'<li><a href="/{m.lower()}">{m}</a></li>' for m in MENU)
    body = "\n".join(f"<h2>{escape(p)}</h2>" if is_heading_line(p) else f"<p>{escape(p)}</p>" for p in paragraphs)
    meta = f'<meta property="article:published_time" content="{date}">' if date else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title or "Daily Ledger")}</title>{meta}</head>
<body>
<nav class="menu"><ul>{menu}</ul></nav>
<div id="cookie-banner" class="cookie-consent"><p>{COOKIE}</p><button>Accept</button></div>
<main><article>
{f"<h1>{escape(title)}</h1>" if title else ""}
<p class="byline">By Staff Reporter</p>
{body}
</article>
<aside class="related"><h3>Related</h3><ul><li><a href="/a">Ferry fares to rise</a></li><li><a href="/b">Tram line delayed</a></li></ul></aside>
</main>
<footer><p>{FOOTER}</p></footer>
</body></html>
"""


def docx_bytes(paragraphs: list[tuple[str, str]], title: str | None = None) -> bytes:
    import docx

    d = docx.Document()
    d.core_properties.created = _FIXED_DATE  # python-docx's template says 2013 otherwise
    if title:
        d.core_properties.title = title
    for style, text in paragraphs:
        d.add_paragraph(text, style=style)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def image_only_pdf() -> bytes:
    """A 'scanned' page: a picture of text, no text layer."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    img = Image.new("L", (600, 200), 255)
    ImageDraw.Draw(img).text((20, 80), "This page was scanned and has no text layer.", fill=0)
    pdf = FPDF()
    pdf.set_creation_date(_FIXED_DATE)
    pdf.add_page()
    pdf.image(img, x=10, y=10, w=180)
    return bytes(pdf.output())


def encrypted_pdf(plain: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
    w.encrypt(user_password="secret", algorithm="RC4-128")
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def convert(src: Path, out: Path, fmt: str) -> list[Path]:
    """Every ``src/*.txt`` article written to ``out`` as ``.pdf``, ``.html`` or ``.docx`` (same stem)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(Path(src).glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        target = out / f"{path.stem}.{fmt}"
        if fmt == "pdf":
            target.write_bytes(article_pdf(text))
        elif fmt == "html":
            parts = blocks(text)
            title, body = (parts[0], parts[1:]) if parts and is_heading_line(parts[0]) else (None, parts)
            target.write_text(news_html(title, body, date=None), encoding="utf-8")
        elif fmt == "docx":
            target.write_bytes(docx_bytes([("Heading 1" if is_heading_line(b) else "Normal", b) for b in blocks(text)]))
        else:
            raise ValueError(f"unknown format {fmt}")
        written.append(target)
    return written


def main() -> None:
    report = pdf_bytes(REPORT_PAGES, header=HEADER, title="Northwind Quarterly Review")
    (HERE / "report.pdf").write_bytes(report)
    (HERE / "news.html").write_text(news_html(NEWS_TITLE, NEWS_PARAGRAPHS), encoding="utf-8")
    (HERE / "handbook.docx").write_bytes(docx_bytes(HANDBOOK, title="Volunteer Handbook"))
    (HERE / "broken.pdf").write_bytes(report[: len(report) // 3])
    (HERE / "scanned.pdf").write_bytes(image_only_pdf())
    (HERE / "locked.pdf").write_bytes(encrypted_pdf(report))
    print(f"fixtures written to {HERE}", file=sys.stderr)


if __name__ == "__main__":
    main()

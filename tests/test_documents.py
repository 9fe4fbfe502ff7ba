"""PDF, HTML, Word and Markdown: extraction from the committed fixtures, exact citations with pages, skip
reasons for bad files, the parse time limit, and the seeds answered the same from every format."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from rag.assistant import Assistant
from rag.batch import read_questions
from rag.build import build_index
from rag.cli.main import app
from rag.evaluate import evaluate
from rag.index import load_index
from rag.ingest.corpus import MAX_SENTENCE_CHARS, SourceFile, read_document, split_sentences
from rag.ingest.extract import Extractor, extract
from rag.ingest.extracted import ExtractionError
from rag.rank.rerank import is_heading

sys.path.insert(0, str(Path(__file__).parent / "data"))
import make_fixtures as fx  # noqa: E402

DATA = Path(__file__).parent / "data"
GOOD = ["report.pdf", "news.html", "handbook.docx"]
BAD = {
    "broken.pdf": "damaged PDF",
    "scanned.pdf": "image-only PDF (no text layer)",
    "locked.pdf": "encrypted PDF",
}
# Text that must never reach the index: the PDF's running header and footer, the page's chrome.
BOILERPLATE = [
    fx.HEADER,
    "Page 1 of 3",
    "Page 2 of 3",
    *fx.MENU,
    "cookie",
    "Copyright 2026",
    "Privacy policy",
    "Related",
    "Ferry fares",
]


def _doc(name: str):
    path = DATA / name
    return read_document(SourceFile(path, name, "0" * 64, path.stat().st_size))


def test_the_pdf_keeps_its_pages_and_loses_its_running_header_footer_and_line_hyphens():
    doc = _doc("report.pdf")
    assert doc.format == "pdf" and len(doc.pages) == 3
    assert doc.title == "Northwind Quarterly Review" and doc.date == "2026-01-15"
    assert not [b for b in BOILERPLATE if b in doc.text]
    assert "cloud infrastructure rose" in doc.text and "infra-" not in doc.text
    by_text = {s.text: s for s in split_sentences(doc)}
    assert by_text["The company hired 37 engineers during the quarter, most of them in Lisbon."].page == 2
    assert by_text["No dividend will be paid this year."].page == 3
    assert by_text["Revenue"].page == 1 and is_heading(by_text["Revenue"])
    # Paragraphs are reflowed: a sentence wrapped over three printed lines is one sentence.
    assert any(
        s.text.startswith("Spending on cloud infrastructure") and s.text.endswith("hosted platform.")
        for s in by_text.values()
    )


def test_the_html_page_is_its_article_without_menu_cookie_banner_or_footer():
    doc = _doc("news.html")
    assert doc.format == "html" and doc.title == fx.NEWS_TITLE and doc.date == fx.NEWS_DATE
    assert not [b for b in BOILERPLATE if b.lower() in doc.text.lower()]
    sentences = split_sentences(doc)
    assert [s.text for s in sentences if not s.heading] == fx.NEWS_PARAGRAPHS
    assert [s.text for s in sentences if s.heading] == [fx.NEWS_TITLE]


def test_word_headings_stay_headings_even_as_questions():
    doc = _doc("handbook.docx")
    assert doc.format == "docx" and doc.title == "Volunteer Handbook" and doc.date == "2026-01-15"
    sentences = split_sentences(doc)
    headings = [s.text for s in sentences if s.heading]
    assert headings == [text for style, text in fx.HANDBOOK if style != "Normal"]
    assert "Who can join?" in headings and all(is_heading(s) for s in sentences if s.heading)
    assert all(doc.text[s.start : s.end] == s.text for s in sentences)


def test_markdown_headings_are_marked_and_never_answers(tmp_path):
    md = tmp_path / "notes.md"
    md.write_text(
        "# Why did the bridge close?\n\nThe bridge closed in 2024 because its cables had rusted.\n", encoding="utf-8"
    )
    doc = read_document(SourceFile(md, "notes.md", "0" * 64, md.stat().st_size))
    heading, body = split_sentences(doc)
    assert heading.heading and heading.text == "# Why did the bridge close?" and is_heading(heading)
    assert not body.heading and not is_heading(body)


@pytest.mark.parametrize("name,reason", sorted(BAD.items()))
def test_bad_documents_are_skipped_with_their_reason(name, reason):
    skipped = _doc(name)
    assert skipped.file == name and skipped.reason.startswith(reason), skipped.reason


def test_a_parse_over_the_time_limit_is_skipped_and_the_next_file_still_parses():
    with Extractor(seconds=0.001) as slow:
        with pytest.raises(ExtractionError, match="parse_timeout"):
            slow(DATA / "report.pdf")
    with Extractor(seconds=30) as extractor:
        assert extractor(DATA / "news.html").text == extract(DATA / "news.html").text
        with pytest.raises(ExtractionError, match="image-only"):
            extractor(DATA / "scanned.pdf")
        assert extractor(DATA / "report.pdf").pages == extract(DATA / "report.pdf").pages


def test_text_without_full_stops_is_cut_into_bounded_sentences_with_exact_spans(tmp_path):
    # A transcript with no sentence punctuation at all: one 60,000-character "sentence" before the bound.
    words = ("so we went down to the harbour and then we talked about the bridge and the cables " * 700).strip()
    path = tmp_path / "transcript.txt"
    path.write_text(words, encoding="utf-8")
    doc = read_document(SourceFile(path, "transcript.txt", "0" * 64, path.stat().st_size))
    sentences = split_sentences(doc)
    assert len(sentences) > len(words) // MAX_SENTENCE_CHARS
    assert all(0 < len(s.text) <= MAX_SENTENCE_CHARS and doc.text[s.start : s.end] == s.text for s in sentences)
    assert " ".join(s.text for s in sentences) == words


@pytest.fixture(scope="module")
def documents_index(tmp_path_factory, settings, embedder):
    corpus = tmp_path_factory.mktemp("documents") / "docs"
    corpus.mkdir()
    for name in [*GOOD, *BAD]:
        shutil.copy(DATA / name, corpus / name)
    root = corpus.parent / "index"
    report = build_index(corpus, root, settings, embedder)
    return corpus, root, report


def test_a_folder_of_documents_indexes_the_good_ones_and_lists_the_bad(documents_index, settings):
    corpus, root, report = documents_index
    assert sorted(report.embedded_files) == sorted(GOOD)
    assert {s.file: s.reason.split(" (")[0].split(":")[0] for s in report.skipped} == {
        name: reason.split(" (")[0] for name, reason in BAD.items()
    }
    index = load_index(root, settings)
    leaked = [(b, s.text) for s in index.sentences for b in BOILERPLATE if b.lower() in s.text.lower()]
    assert not leaked
    assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in index.sentences)


def test_a_pdf_answer_cites_the_right_page_and_a_span_that_resolves(documents_index, settings):
    corpus, root, _ = documents_index
    assistant = Assistant.from_index(root, settings)
    answer = assistant.ask("How many engineers did Northwind hire during the quarter?")
    assert not answer.abstained and "37" in answer.text
    cited = answer.citations[0]
    assert cited.file == "report.pdf" and cited.page == 2
    assert assistant.index.document_text("report.pdf")[cited.start : cited.end] == cited.text
    assert answer.documents["report.pdf"] == {"title": "Northwind Quarterly Review", "date": "2026-01-15"}
    assert answer.to_dict()["sentences"][0]["citations"][0]["page"] == 2

    html = assistant.ask("How much did the repairs of the Kessler harbour bridge cost?")
    assert not html.abstained and "84 million euros" in html.text and html.citations[0].file == "news.html"
    assert "page" not in html.to_dict()["sentences"][0]["citations"][0]

    shown = CliRunner().invoke(
        app, ["ask", "How many engineers did Northwind hire?", "--index-dir", str(root), "--corpus", str(corpus)]
    )
    assert shown.exit_code == 0, shown.output
    assert "report.pdf p.2:" in shown.stdout and "(Northwind Quarterly Review, 2026-01-15)" in shown.stdout


def test_a_changed_pdf_is_extracted_again_alone_and_the_others_still_resolve(
    tmp_path, documents_index, settings, embedder
):
    corpus, root, _ = documents_index
    corpus2, root2 = tmp_path / "docs", tmp_path / "index"
    shutil.copytree(corpus, corpus2)
    shutil.copytree(root, root2)
    pages = [(h, [p.replace("37 engineers", "41 engineers") for p in ps]) for h, ps in fx.REPORT_PAGES]
    (corpus2 / "report.pdf").write_bytes(fx.pdf_bytes(pages, header=fx.HEADER, title="Northwind Quarterly Review"))
    report = build_index(corpus2, root2, settings, embedder)
    assert report.embedded_files == ["report.pdf"] and report.reused_files == 2
    index = load_index(root2, settings)
    for s in index.sentences:
        assert index.document_text(s.file)[s.start : s.end] == s.text
    assert any("41 engineers" in s.text for s in index.sentences)


@pytest.mark.parametrize("fmt", ["pdf", "html", "docx", "all"])
def test_the_seeds_in_any_one_format_answer_the_dev_set_as_the_text_files_do(
    tmp_path, fmt, corpus, index_dir, dev_path, settings, embedder
):
    """The seeds printed to PDF, saved as web pages or as Word files score what the .txt seeds score; so
    does a folder holding every article in all four formats at once (copies do not crowd the pool)."""
    questions = read_questions(dev_path)
    converted = tmp_path / fmt
    for one in ["pdf", "html", "docx"] if fmt == "all" else [fmt]:
        fx.convert(corpus, converted, one)
    if fmt == "all":
        for path in corpus.glob("*.txt"):
            shutil.copy(path, converted / path.name)
    build_index(converted, tmp_path / "index", settings, embedder)
    figures = {}
    for name, root in (("txt", index_dir), (fmt, tmp_path / "index")):
        assistant = Assistant.from_index(root, settings)
        records = [a.to_dict() for a in assistant.ask_many([(q.id, q.text) for q in questions])]
        figures[name] = evaluate(questions, records, assistant.index)
    same = [
        "answer_accuracy",
        "gold_cited",
        "citation_precision",
        "citations_verbatim",
        "abstention_precision",
        "abstention_recall",
        "false_abstentions",
    ]
    assert {k: figures[fmt][k] for k in same} == {k: figures["txt"][k] for k in same}
    # Ranking may differ by one question at the margin: with all four copies of every article, d10's
    # gold passage (the declined headline question) sits fifth in the text corpus at a best-sentence
    # share of 0.050, and sixth behind another article's at 0.047. Copies crowding the pool would
    # move many questions.
    ranked = [q for q in questions if q.extra.get("gold")]
    for k in ("retrieval_recall_at_k", "retrieval_mrr"):
        assert abs(figures[fmt][k] - figures["txt"][k]) <= 1 / len(ranked) + 1e-9, k
    assert figures[fmt]["citations_verbatim"] == 1.0
    for record in records:  # the last assistant's: the converted corpus
        texts = [p["text"] for p in record["passages"]]
        assert len(texts) == len(set(texts))


def test_every_pdf_citation_resolves_into_the_stored_text(tmp_path, corpus, dev, settings, embedder):
    fx.convert(corpus, tmp_path / "pdf", "pdf")
    build_index(tmp_path / "pdf", tmp_path / "index", settings, embedder)
    assistant = Assistant.from_index(tmp_path / "index", settings)
    cited = [c for q in dev for c in assistant.ask(q["question"]).citations]
    assert cited and all(c.page is not None and c.file.endswith(".pdf") for c in cited)
    assert len({c.page for c in cited}) > 1  # the check below is not only ever about page 1
    for c in cited:
        assert assistant.index.document_text(c.file)[c.start : c.end] == c.text
        # Right page: the sentence's opening words are printed on that page of the PDF itself.
        printed = " ".join(PdfReader(tmp_path / "pdf" / c.file).pages[c.page - 1].extract_text().split())
        assert " ".join(c.text.split()[:4]) in printed, (c.where, c.text)
        assert json.loads(json.dumps(c.to_dict()))["page"] == c.page

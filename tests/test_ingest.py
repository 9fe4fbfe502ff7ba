from pathlib import Path

import pytest

from rag.ingest.corpus import make_chunks, read_document, scan_corpus, split_sentences
from rag.types import Document

from .conftest import SEEDS


def documents(folder: Path) -> list[Document]:
    """What indexing reads from a folder: each file it finds, read (files it skips are left out)."""
    return [d for d in map(read_document, scan_corpus(folder).files) if isinstance(d, Document)]


@pytest.fixture(scope="module")
def docs():
    return documents(SEEDS)


def test_every_sentence_is_its_span_numbered_from_one(docs):
    assert len(docs) == 5
    for doc in docs:
        sentences = split_sentences(doc)
        assert [s.n for s in sentences] == list(range(1, len(sentences) + 1))
        for s in sentences:
            assert doc.text[s.start : s.end] == s.text
            assert s.text == s.text.strip() and s.text
        # Spans do not overlap and leave out nothing but whitespace.
        ends = [0] + [s.end for s in sentences]
        for prev_end, s in zip(ends, sentences):
            assert s.start >= prev_end
            assert doc.text[prev_end : s.start].strip() == ""
        assert doc.text[sentences[-1].end :].strip() == ""


def _sentence_with(docs, needle):
    hits = [s for d in docs for s in split_sentences(d) if needle in s.text]
    assert len(hits) == 1, hits
    return hits[0].text


@pytest.mark.parametrize(
    "needle, starts, ends",
    [
        ("U.S. Federal Trade Commission", "It is worth noting", "in the AI field."),  # abbreviation mid-sentence
        ("(i.e., artificial general intelligence", "Meanwhile, Microsoft wants", "partnership will terminate."),
        (
            "Our long-term stable partnership",
            "Despite this, representatives",
            'working together in the future."',
        ),  # quote
        ("$1 billion in OpenAI in 2019.", "Microsoft first invested", "in 2019."),
        ("Tiff in tech", "Source: theweek.in", "nearing a split?"),  # a domain name is no sentence end
    ],
)
def test_hard_boundaries_in_the_seeds(docs, needle, starts, ends):
    text = _sentence_with(docs, needle)
    assert text.startswith(starts) and text.endswith(ends)


def test_headings_without_full_stop_are_sentences_of_their_own(docs):
    doc = next(d for d in docs if d.file.startswith("003"))
    texts = [s.text for s in split_sentences(doc)]
    assert "Cloud Infrastructure and Exclusivity Concerns" in texts
    assert "Emerging Competition" in texts


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The U.S. economy grew. It was fast.", ["The U.S. economy grew.", "It was fast."]),
        (
            "Revenue fell from 20% to 10% by 2030. Microsoft objected.",
            ["Revenue fell from 20% to 10% by 2030.", "Microsoft objected."],
        ),
        ('She said "Stop. Now." Then she left.', ['She said "Stop. Now."', "Then she left."]),
        ("Title line\r\nFirst sentence here. Second one.\r\n", ["Title line", "First sentence here.", "Second one."]),
        # A relative path is not a sentence end.
        (
            "It was created by dh_make -f ../foo-1.0.tar.gz first. Then run ./configure there.",
            ["It was created by dh_make -f ../foo-1.0.tar.gz first.", "Then run ./configure there."],
        ),
    ],
)
def test_splitting_table(text, expected):
    doc = Document("x.txt", text)
    sentences = split_sentences(doc)
    assert [s.text for s in sentences] == expected
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_a_full_stop_touching_a_footnote_marker_or_the_next_sentence_still_ends_one():
    texts = [s.text for s in split_sentences(Document("x.txt", "It joined in 2004.[citation needed] The sea.The end."))]
    assert texts[0] == "It joined in 2004." and texts[-1] == "The end."


def test_chunks_cover_every_sentence_with_the_asked_overlap(docs):
    sentences = split_sentences(docs[0])
    chunks = make_chunks(sentences, 3, 1)
    covered = {n for c in chunks for n in range(c.first, c.last + 1)}
    assert covered == {s.n for s in sentences}
    for a, b in zip(chunks, chunks[1:]):
        assert b.first == a.last  # one shared sentence
    assert chunks[0].text.startswith(sentences[0].text)
    assert [c.row for c in chunks] == list(range(len(chunks)))


def test_reading_a_folder_skips_binary_and_hidden_files(tmp_path: Path):
    (tmp_path / "good.txt").write_text("One sentence.", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / ".hidden.txt").write_text("Secret.", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.md").write_text("Nested file.", encoding="utf-8")
    assert [d.file for d in documents(tmp_path)] == ["good.txt", "sub/more.md"]

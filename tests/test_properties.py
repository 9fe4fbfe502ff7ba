"""Properties that must hold for any input, checked with hypothesis on generated text and rankings."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.ingest.corpus import MAX_SENTENCE_CHARS, bounded, make_chunks, split_sentences
from rag.rank.retrieve import fuse
from rag.types import Document

# Text built from pieces that stress a sentence splitter: abbreviations, decimals, quotes, newlines.
pieces = st.sampled_from(
    [
        "Dr. Smith",
        " said",
        " U.S.",
        " $1.5 billion",
        ".",
        "!",
        "?",
        " ",
        "  ",
        "\n",
        "\r\n",
        "\n\n",
        '"Yes."',
        " e.g.",
        " OpenAI",
        " ok",
        "…",
        "\t",
        "é",
        "3.14",
    ]
)
texts = st.one_of(st.text(max_size=300), st.lists(pieces, max_size=60).map("".join))


@settings(max_examples=300, deadline=None)
@given(texts)
def test_sentence_spans_tile_the_text(text):
    sentences = split_sentences(Document("t.txt", text))
    previous_end = 0
    for n, s in enumerate(sentences, 1):
        assert s.n == n and text[s.start : s.end] == s.text and s.text == s.text.strip() and s.text
        assert s.start >= previous_end  # in order, no overlap
        assert not text[previous_end : s.start].strip()  # nothing but whitespace falls between sentences
        previous_end = s.end
    assert not text[previous_end:].strip()


# Runs without sentence punctuation: words, clause marks, long unbroken tokens, newlines.
runs = st.lists(
    st.sampled_from(["word", " ", ", ", "; ", " - ", " \u2014 ", "x" * 97, "\n", ":", "(aside)"]), max_size=400
).map("".join)


@settings(max_examples=200, deadline=None)
@given(runs, st.integers(8, 700))
def test_no_sentence_is_longer_than_the_bound_and_spans_stay_exact(text, limit):
    pieces = list(bounded(text, 0, len(text), limit))
    previous_end = 0
    for start, end in pieces:
        assert 0 < end - start <= limit and text[start:end] == text[start:end].strip()
        assert start >= previous_end and not text[previous_end:start].strip()  # nothing dropped but spaces
        previous_end = end
    assert not text[previous_end:].strip()
    long_line = text.replace("\n", " ") * 3
    assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in split_sentences(Document("t.txt", long_line)))


@settings(max_examples=200, deadline=None)
@given(st.lists(pieces, max_size=80).map("".join), st.integers(1, 6), st.integers(0, 5))
def test_chunking_never_loses_a_sentence(text, size, overlap):
    overlap = min(overlap, size - 1)
    sentences = split_sentences(Document("t.txt", text))
    chunks = make_chunks(sentences, size, overlap)
    covered = {n for c in chunks for n in range(c.first, c.last + 1)}
    assert covered == {s.n for s in sentences}
    for c in chunks:
        assert c.last - c.first + 1 <= size
        window = [s.text for s in sentences if c.first <= s.n <= c.last]
        assert c.text == " ".join(window)


rankings = st.lists(st.integers(0, 30), max_size=25, unique=True)


@settings(max_examples=300, deadline=None)
@given(rankings, rankings, st.integers(1, 100))
def test_fusion_does_not_depend_on_the_order_of_the_rankings(dense, bm25, rrf_k):
    one = fuse({"dense": dense, "bm25": bm25}, rrf_k)
    other = fuse({"bm25": bm25, "dense": dense}, rrf_k)
    assert one == other
    assert {row for row, _, _ in one} == set(dense) | set(bm25)
    assert [s for _, s, _ in one] == sorted((s for _, s, _ in one), reverse=True)


def test_whitespace_between_sentences_is_all_that_is_left_out():
    text = "First one.  Second one!\n\nThird?"
    assert [s.text for s in split_sentences(Document("t.txt", text))] == re.split(r"(?<=[.!?])\s+", text)

"""Hard-wrapped text and Markdown are split into sentences across their line breaks (issue 34); the
cited span is still the file's own text."""

from __future__ import annotations

from rag.ingest.blocks import blocks
from rag.ingest.corpus import split_sentences
from rag.types import Document

WRAPPED = """Northwind Tools

Northwind is a small set of command-line tools for keeping inventory
records in plain text. The tools read and write the same format, so a
record made by one can be edited by another.  The release cycle is six
weeks, but may be varied by up to one week by the project leader.

Installation
To install, run the installer as root and follow its prompts.
See the file INSTALL for the options
it accepts and the defaults it chooses.

  - nw-add adds a record to the store and prints the new record's
    number on standard output.
  - nw-find searches the store.

    nw-add    add a record
    nw-find   search the records
"""


def _texts(text: str, name: str = "README.txt") -> list[str]:
    doc = Document(name, text)
    sentences = split_sentences(doc)
    assert all(text[s.start : s.end] == s.text for s in sentences)  # the file's own characters
    return [" ".join(s.text.split()) for s in sentences]


def test_a_hard_wrapped_paragraph_is_split_into_its_sentences_not_its_lines():
    texts = _texts(WRAPPED)
    assert "The release cycle is six weeks, but may be varied by up to one week by the project leader." in texts
    assert "weeks, but may be varied by up to one week by the project leader." not in texts
    assert "See the file INSTALL for the options it accepts and the defaults it chooses." in texts  # a lower-case go-on


def test_headings_list_items_and_aligned_columns_stay_units_of_their_own():
    texts = _texts(WRAPPED)
    assert texts[0] == "Northwind Tools" and "Installation" in texts
    assert "nw-add adds a record to the store and prints the new record's number on standard output." in [
        t.removeprefix("- ") for t in texts
    ]
    assert any(t.startswith("- nw-find searches") for t in texts)
    assert "nw-add add a record" in texts and "nw-find search the records" in texts


def test_in_markdown_an_indented_block_is_code_line_by_line_and_a_table_row_is_a_unit():
    text = "# Usage\n\nRun the tool with the name of\nthe store it should open.\n\n    nw-add --store a\n    nw-find x\n\n| tool | does |\n| nw-add | adds |\n"
    texts = _texts(text, "README.md")
    assert "Run the tool with the name of the store it should open." in texts
    assert "nw-add --store a" in texts and "nw-find x" in texts and "| nw-add | adds |" in texts


def test_one_paragraph_per_line_is_split_as_before():
    text = "A title without a stop\nThe first paragraph ends here. It has two sentences.\nThe second paragraph.\n"
    assert _texts(text) == [
        "A title without a stop",
        "The first paragraph ends here.",
        "It has two sentences.",
        "The second paragraph.",
    ]
    assert list(blocks("one\n\ntwo")) == [(0, 3), (5, 8)]


def test_a_utf16_file_with_a_byte_order_mark_is_read_as_text(tmp_path):
    from rag.ingest.corpus import SourceFile, read_document

    path = tmp_path / "notes.txt"
    path.write_bytes("Die Zahl ist 42. Straße und naïve.".encode("utf-16"))  # Python writes the BOM
    doc = read_document(SourceFile(path, path.name, "", 0))
    assert isinstance(doc, Document) and doc.encoding == "utf-16"
    assert [s.text for s in split_sentences(doc)] == ["Die Zahl ist 42.", "Straße und naïve."]
    (tmp_path / "raw.bin").write_bytes(b"\x00\x01binary\x00")
    assert not isinstance(read_document(SourceFile(tmp_path / "raw.bin", "raw.bin", "", 0)), Document)


def test_table_rows_list_items_and_transcript_lines_answer_while_titles_do_not():
    from rag.rank.rerank import is_heading
    from rag.types import Sentence

    def unit(text: str, heading: bool = False, n: int = 2) -> bool:
        return not is_heading(Sentence("f.txt", n, 0, len(text), text, None, heading))

    assert (
        unit("Borealis; Tromsø; 17") and unit("- nw-find searches the store") and unit("ANA: we shipped it on Monday")
    )
    assert not unit("Cloud Infrastructure and Exclusivity Concerns")
    assert not unit("Installation") and not unit("It ships.", heading=True) and unit("The store holds every record.")
    assert not unit("WorldCom trial starts in New York", n=1)  # a file's first line without a stop: its title


def test_a_wrapped_sentence_is_shown_on_one_line_and_cited_as_the_file_has_it():
    from rag.render import render
    from rag.types import Answer, AnswerSentence, Citation, Sentence

    text = "Intro line.\nThe release cycle is six\n  weeks long.\n"
    wrapped = next(s for s in split_sentences(Document("README.txt", text)) if "release" in s.text)
    c = Citation.of(Sentence("README.txt", wrapped.n, wrapped.start, wrapped.end, wrapped.text))
    answer = Answer("How long is the cycle?", (AnswerSentence(c.text, (c,)),), False, ())
    assert c.text == "The release cycle is six\n  weeks long." == text[c.start : c.end]
    assert answer.text == "The release cycle is six weeks long. [1]"
    assert '"The release cycle is six weeks long."' in render(answer)
    assert answer.to_dict()["sentences"][0]["citations"][0]["text"] == c.text

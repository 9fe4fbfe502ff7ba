"""The column tables (rag/index/tables.py) give back exactly the sentences and chunks the splitter made, on
the seeds: written and read, a subset taken, re-packed and joined."""

import numpy as np

from rag.index.tables import ChunkTable, SentenceTable, read_tables, write_tables
from rag.ingest.corpus import make_chunks, read_document, scan_corpus, split_sentences

from .conftest import SEEDS


def _seeds():
    sentences, chunks = [], []
    for src in scan_corpus(SEEDS).files:
        doc_sentences = split_sentences(read_document(src))
        sentences += doc_sentences
        chunks += make_chunks(doc_sentences, 3, 1)
    return sentences, chunks


def test_tables_round_trip_the_seeds_sentences_and_chunks(tmp_path):
    sentences, chunks = _seeds()
    table = SentenceTable.of(sentences)
    write_tables(tmp_path, table, ChunkTable.of(chunks, table))
    read, read_chunks = read_tables(tmp_path)
    assert list(read) == sentences
    # A chunk's text is rebuilt from its sentences, as make_chunks joined them; rows are table rows.
    assert [(c.file, c.first, c.last, c.text) for c in read_chunks] == [
        (c.file, c.first, c.last, c.text) for c in chunks
    ]
    assert [c.row for c in read_chunks] == list(range(len(chunks)))
    s = sentences[40]
    assert read.row_of(s.file, s.n) == 40 and read.row_of(s.file, 10_000) is None and read.row_of("nope.txt", 1) is None
    assert read[-1] == sentences[-1] and read[3:6] == sentences[3:6]


def test_a_subset_repacked_and_joined_keeps_every_row_and_key():
    sentences, chunks = _seeds()
    table = SentenceTable.of(sentences)
    chunk_table = ChunkTable.of(chunks, table)
    files = sorted({s.file for s in sentences})
    kept_files = {files[0], files[3]}
    rows = table.rows_of(kept_files)
    taken = table.take(rows)
    packed = taken.compacted()
    assert list(packed) == [s for s in sentences if s.file in kept_files]
    assert packed.files == sorted(kept_files) and len(packed.blob) < len(table.blob)
    chunk_rows = np.flatnonzero(np.isin(chunk_table.file_id, table.ids_of(kept_files)))
    packed_chunks = chunk_table.take(chunk_rows, taken).renumbered(taken, packed)
    assert [c.text for c in packed_chunks] == [c.text for c in chunks if c.file in kept_files]

    rest = SentenceTable.of([s for s in sentences if s.file not in kept_files])
    joined = SentenceTable.concat([packed, rest])
    assert sorted(s.key for s in joined) == sorted(s.key for s in sentences)
    for s in sentences:
        assert joined[joined.row_of(s.file, s.n)] == s

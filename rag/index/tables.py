"""The sentence and chunk tables, stored by column: a 100k-passage index loads its 200k sentences in
milliseconds (numpy arrays and one UTF-8 text block) instead of seconds (a JSON line per row parsed into
an object), and a row becomes a ``Sentence`` or ``Chunk`` only when it is read.

A chunk stores no text of its own: its text is its sentences' texts joined by a space, exactly as
``rag.ingest.make_chunks`` made it, which also halves the table on disk. Sentences of a file are
contiguous and numbered from 1, so a sentence is found by its key without a dictionary of every key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

import numpy as np

from rag.types import Chunk, Sentence

TABLE_FILE = "table.npz"
FILES_FILE = "files.json"
_NO_PAGE = -1


_Row = TypeVar("_Row")


class _Rows(Sequence[_Row]):
    """A table read row by row: ``_row`` makes one; every column has an entry per row."""

    file_id: np.ndarray

    def _row(self, r: int) -> _Row:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.file_id)

    @overload
    def __getitem__(self, i: int) -> _Row: ...
    @overload
    def __getitem__(self, i: slice) -> list[_Row]: ...
    def __getitem__(self, i: int | slice) -> _Row | list[_Row]:
        if isinstance(i, slice):
            return [self._row(r) for r in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._row(i)

    def __iter__(self) -> Iterator[_Row]:
        return (self._row(r) for r in range(len(self)))


class SentenceTable(_Rows[Sentence]):
    """Sentences by column: ``files`` names, every other column has one entry per row."""

    def __init__(self, files: list[str], cols: dict[str, np.ndarray], blob: bytes):
        self.files = files
        self.file_id, self.n = cols["file"], cols["n"]
        self.start, self.end, self.page, self.heading = cols["start"], cols["end"], cols["page"], cols["heading"]
        self.text_at, self.text_end = cols["text_at"], cols["text_end"]  # byte span of each text in blob
        self.blob = blob
        first = np.full(len(files), -1, dtype=np.int64)
        if len(self.file_id):
            starts = np.flatnonzero(np.r_[True, self.file_id[1:] != self.file_id[:-1]])
            first[self.file_id[starts]] = starts
        self._first = first  # file id -> row of its sentence 1, -1 when the file has no rows here
        self._file_ids = {f: i for i, f in enumerate(files)}

    @classmethod
    def of(cls, sentences: Sequence[Sentence]) -> SentenceTable:
        files = list(dict.fromkeys(s.file for s in sentences))
        ids = {f: i for i, f in enumerate(files)}
        texts = [s.text.encode("utf-8") for s in sentences]
        ends = np.cumsum([len(t) for t in texts], dtype=np.int64)
        cols: dict[str, np.ndarray] = {
            "file": np.array([ids[s.file] for s in sentences], dtype=np.int32),
            "n": np.array([s.n for s in sentences], dtype=np.int32),
            "start": np.array([s.start for s in sentences], dtype=np.int64),
            "end": np.array([s.end for s in sentences], dtype=np.int64),
            "page": np.array([_NO_PAGE if s.page is None else s.page for s in sentences], dtype=np.int32),
            "heading": np.array([s.heading for s in sentences], dtype=bool),
            "text_at": ends - np.array([len(t) for t in texts], dtype=np.int64),
            "text_end": ends,
        }
        return cls(files, cols, b"".join(texts))

    def _row(self, r: int) -> Sentence:
        page = int(self.page[r])
        return Sentence(
            self.files[self.file_id[r]],
            int(self.n[r]),
            int(self.start[r]),
            int(self.end[r]),
            self.text(r),
            None if page == _NO_PAGE else page,
            bool(self.heading[r]),
        )

    def text(self, r: int) -> str:
        return self.blob[self.text_at[r] : self.text_end[r]].decode("utf-8")

    def file_of(self, r: int) -> str:
        return self.files[self.file_id[r]]

    def row_of(self, file: str, n: int) -> int | None:
        """The row of sentence ``n`` of ``file``, None when there is none."""
        fid = self._file_ids.get(file)
        if fid is None or self._first[fid] < 0 or n < 1:
            return None
        row = int(self._first[fid]) + n - 1
        return row if row < len(self) and self.file_id[row] == fid and self.n[row] == n else None

    def present(self) -> set[str]:
        """The files this table has rows of."""
        return {self.files[i] for i in np.unique(self.file_id).tolist()}

    def ids_of(self, files: set[str]) -> np.ndarray:
        """The file ids of those of ``files`` this table has rows of."""
        return np.array([self._file_ids[f] for f in files if f in self._file_ids], dtype=np.int32)

    def rows_of(self, files: set[str]) -> np.ndarray:
        """Rows of the sentences of ``files``, in order."""
        return np.flatnonzero(np.isin(self.file_id, self.ids_of(files)))

    def compacted(self) -> SentenceTable:
        """The same rows over a text block and file list holding only theirs (after ``take`` dropped
        rows). File ids keep their order; ``ChunkTable.renumbered`` follows the same map."""
        texts = [self.blob[a:b] for a, b in zip(self.text_at.tolist(), self.text_end.tolist())]
        ends = np.cumsum([len(t) for t in texts], dtype=np.int64)
        used = _appearance(self.file_id)
        remap = np.zeros(len(self.files), dtype=np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        cols = {
            **self._cols(),
            "file": remap[self.file_id],
            "text_at": ends - (self.text_end - self.text_at),
            "text_end": ends,
        }
        return SentenceTable([self.files[i] for i in used.tolist()], cols, b"".join(texts))

    def take(self, rows: np.ndarray) -> SentenceTable:
        """The table of ``rows`` (in that order), sharing the text block."""
        cols = {k: v[rows] for k, v in self._cols().items()}
        return SentenceTable(self.files, cols, self.blob)

    def _cols(self) -> dict[str, np.ndarray]:
        return {
            "file": self.file_id,
            "n": self.n,
            "start": self.start,
            "end": self.end,
            "page": self.page,
            "heading": self.heading,
            "text_at": self.text_at,
            "text_end": self.text_end,
        }

    @classmethod
    def concat(cls, tables: Sequence[SentenceTable]) -> SentenceTable:
        """One table of several, in order; each file keeps its rows (a file is in one table only)."""
        if len(tables) == 1:
            return tables[0]
        files: list[str] = []
        parts: dict[str, list[np.ndarray]] = {k: [] for k in tables[0]._cols()}
        blob_at = 0
        for t in tables:
            for k, v in t._cols().items():
                parts[k].append(v + len(files) if k == "file" else v + blob_at if k in ("text_at", "text_end") else v)
            files += t.files
            blob_at += len(t.blob)
        return cls(files, {k: np.concatenate(v) for k, v in parts.items()}, b"".join(t.blob for t in tables))


class ChunkTable(_Rows[Chunk]):
    """Chunks by column (file, first and last sentence number), their text read from ``sentences``."""

    def __init__(self, sentences: SentenceTable, file_id: np.ndarray, first: np.ndarray, last: np.ndarray):
        self.sentences, self.file_id, self.first, self.last = sentences, file_id, first, last

    @classmethod
    def of(cls, chunks: Sequence[Chunk], sentences: SentenceTable) -> ChunkTable:
        ids = {f: i for i, f in enumerate(sentences.files)}
        return cls(
            sentences,
            np.array([ids[c.file] for c in chunks], dtype=np.int32),
            np.array([c.first for c in chunks], dtype=np.int32),
            np.array([c.last for c in chunks], dtype=np.int32),
        )

    def first_row(self, r: int) -> int:
        """The sentence row of the chunk's first sentence."""
        return int(self.sentences._first[self.file_id[r]]) + int(self.first[r]) - 1

    def _row(self, r: int) -> Chunk:
        first = self.first_row(r)
        text = " ".join(
            self.sentences.text(i) for i in range(first, first + int(self.last[r]) - int(self.first[r]) + 1)
        )
        return Chunk(r, self.sentences.files[self.file_id[r]], int(self.first[r]), int(self.last[r]), text)

    def take(self, rows: np.ndarray, sentences: SentenceTable) -> ChunkTable:
        """The chunks of ``rows``, over ``sentences`` (a table holding their files under the same ids)."""
        return ChunkTable(sentences, self.file_id[rows], self.first[rows], self.last[rows])

    def renumbered(self, old: SentenceTable, new: SentenceTable) -> ChunkTable:
        """These chunks over ``new``, the ``compacted`` copy of ``old``."""
        remap = np.full(len(old.files), -1, dtype=np.int32)
        remap[_appearance(old.file_id)] = np.arange(len(new.files), dtype=np.int32)
        return ChunkTable(new, remap[self.file_id], self.first, self.last)

    @classmethod
    def concat(cls, tables: Sequence[ChunkTable], sentences: SentenceTable) -> ChunkTable:
        """Several chunk tables over ``sentences``, the concatenation of their sentence tables."""
        if len(tables) == 1:
            return ChunkTable(sentences, tables[0].file_id, tables[0].first, tables[0].last)
        offsets = np.cumsum([0] + [len(t.sentences.files) for t in tables[:-1]])
        return cls(
            sentences,
            np.concatenate([t.file_id + off for t, off in zip(tables, offsets)]),
            np.concatenate([t.first for t in tables]),
            np.concatenate([t.last for t in tables]),
        )


def _appearance(file_id: np.ndarray) -> np.ndarray:
    """The file ids present, in the order their first rows come."""
    used, first = np.unique(file_id, return_index=True)
    return used[np.argsort(first)]


def write_tables(folder: Path, sentences: SentenceTable, chunks: ChunkTable) -> None:
    """Both tables of a segment: one ``.npz`` of columns and text, and the file names."""
    cols: dict[str, Any] = {f"s_{k}": v for k, v in sentences._cols().items()}
    cols.update(
        c_file=chunks.file_id,
        c_first=chunks.first,
        c_last=chunks.last,
        text=np.frombuffer(sentences.blob, dtype=np.uint8),
    )
    with (folder / TABLE_FILE).open("wb") as f:
        np.savez(f, **cols)
    (folder / FILES_FILE).write_text(json.dumps(sentences.files, ensure_ascii=False), encoding="utf-8")


def read_tables(folder: Path) -> tuple[SentenceTable, ChunkTable]:
    """The tables ``write_tables`` wrote. FileNotFoundError when absent; ValueError or KeyError when
    damaged."""
    files = json.loads((folder / FILES_FILE).read_text(encoding="utf-8"))
    with np.load(folder / TABLE_FILE) as data:
        cols = {k[2:]: data[k] for k in data.files if k.startswith("s_")}
        sentences = SentenceTable(files, cols, data["text"].tobytes())
        return sentences, ChunkTable(sentences, data["c_file"], data["c_first"], data["c_last"])

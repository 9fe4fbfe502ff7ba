"""The index on disk, as one import for callers outside the package (tests, benchmarks, scripts).

The work is split along its seams: ``rag.index`` (the loaded index and its manifest), ``rag.build``
(what changed), ``rag.plan`` (what a build writes: one segment, or the base linked and a second one),
``rag.segments`` (a segment's files, and the live rows of several), ``rag.tables`` (the sentence and
chunk tables by column), ``rag.generation`` (one generation folder written and swapped in), ``rag.disk``
(lock, atomic writes, checksums, folder ownership), ``rag.vectors`` (the vector store, all of FAISS) and
``rag.lexical`` (the lexicon and BM25).
"""

from .build import BuildReport, Progress, build_and_load, build_index
from .disk import read_manifest, write_atomic
from .index import FORMAT_VERSION, Index, load_index
from .lexical import Lexicon
from .types import RagError
from .vectors import faiss_for

__all__ = [
    "FORMAT_VERSION", "BuildReport", "Index", "Lexicon", "Progress", "RagError", "build_and_load", "build_index",
    "faiss_for", "load_index", "read_manifest", "write_atomic",
]

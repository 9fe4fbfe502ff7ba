"""The index on disk: the loaded index and its manifest (``loaded``), what a build writes (``plan``),
segments and their tables (``segments``, ``tables``), one generation folder written and swapped in
(``write``), disk safety (``disk``: lock, atomic writes, checksums, folder ownership), the vector store
seam with FAISS (``vectors``) and Milvus (``milvus``) behind it, the lexicon and BM25 (``lexicon``,
``bm25``). Building an index from files is ``rag.build``.
"""

from rag.index.disk import read_manifest, write_atomic
from rag.index.lexicon import Lexicon
from rag.index.loaded import FORMAT_VERSION, Index, load_index
from rag.index.vectors import faiss_for

__all__ = ["FORMAT_VERSION", "Index", "Lexicon", "faiss_for", "load_index", "read_manifest", "write_atomic"]

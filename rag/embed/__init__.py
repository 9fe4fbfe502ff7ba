"""The embedder seam, ``embed(texts, kind)``, and its runtimes (sentence-transformers on torch, the same model under onnxruntime)."""

"""From a question to the evidence an answerer reads: retrieval and fusion, the candidates' features, the learned scorer, the reader and the rerank."""

"""Words, tokens, names, numbers and qualifiers: the one text toolkit every other stage reads (no model, no
index). ``words`` splits text for matching (BM25, coverage, lexicon: lower case, stems, stopwords, numbers,
number words, qualifiers); ``tokens`` keeps what the claim and conflict rules need of each word as
written (case, stem, whether it is a name); ``names`` is the one rule for a name; ``profile`` is what the
answerer's features read off a sentence; ``quantities`` reads figures with their units."""

"""Documents in: a corpus folder scanned, text out of PDF, HTML, Word, Markdown and plain text, sentences with spans and pages, chunks."""

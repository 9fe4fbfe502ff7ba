"""Words, tokens, names, numbers and qualifiers: the one text toolkit every other stage reads (no model, no index)."""

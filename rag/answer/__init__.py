"""The ``Answerer`` seam and its answerers: extractive (the default) and LLM (local or API, every citation checked); follow-up questions."""

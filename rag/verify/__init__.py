"""Is an answer backed by what it cites? Citation support, the claim rules, whether an answer states what was asked, and the checks on an LLM's whole answer."""

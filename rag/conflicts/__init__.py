"""Statements in different files that disagree: candidate pairs, the scan kept with the index, and the rule judge."""

"""Does a cited source sentence support the answer sentence that cites it?

No entailment model runs offline here, so support is a measured check: every number and every name
in the claim must be found in the cited text (a changed figure or a swapped company is the commonest
way a model misquotes), and the claim's content words must be stated or paraphrased there, blended
with whole-sentence embedding similarity. ``--verify llm`` asks the API model instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.embed.embedder import Embedder
from rag.index.loaded import Index
from rag.rank.match import ContentWords
from rag.text.names import names as text_names
from rag.text.words import numbers, stem
from rag.types import Citation, Sentence
from rag.verify.claims import contradiction

# Weight of word coverage against embedding similarity; tuned on the labelled pairs (benchmarks/verify_pairs.py).
COVERAGE_WEIGHT = 0.6


@dataclass(frozen=True)
class Support:
    score: float  # 0..1; a citation survives at or above Settings.support_threshold
    reason: str  # why it fell short, "" when nothing did


def names(text: str, known: Callable[[str], bool] = lambda w: True) -> set[str]:
    """Capitalised words: companies, people, products, places. The first word of the sentence is
    capitalised anyway, so it counts only if it looks like a name (possessive, inner capitals) or is a
    word the corpus does not know (``known``)."""
    return text_names(text, known)


class Verifier:
    """Scores claims against cited sentences with the index's word vectors and the embedding model."""

    def __init__(self, index: Index, embedder: Embedder, threshold: float):
        self.index, self.embedder, self.threshold = index, embedder, threshold

    def support(self, claim: str, cited: Sequence[Sentence], claim_vector: np.ndarray | None = None) -> Support:
        if not cited:
            return Support(0.0, "no citation")
        source = " ".join(s.text for s in cited)
        missing_numbers = numbers(claim) - numbers(source)
        if missing_numbers:
            return Support(0.0, f"number {', '.join(sorted(missing_numbers))} is not in the cited text")
        # Names may come from just before the cited sentence: "It secured..." names its subject there.
        before = [p for s in cited for p in self._before(s, 2)]
        low_source = source.lower()
        context = " ".join(p.text for p in before).lower() + " " + low_source
        claimed = names(claim, self._known)
        missing_names = {n for n in claimed if n not in context}
        if missing_names:
            return Support(0.0, f"{', '.join(sorted(missing_names))} is not in the cited text")
        # A name from the sentences before, while a name of the cited sentence is left out: one stands
        # in for the other ("In Nintendo 1994, Rare released..." from "In November 1994, ...").
        borrowed = sorted(n for n in claimed if n not in low_source)
        if borrowed:
            # The cited sentence's first word is one of its names when the text before writes it as one.
            named_before = {n for p in before for n in names(p.text)}
            dropped = sorted(names(source, lambda w: self._known(w) and w not in named_before) - claimed)
            if dropped:
                return Support(0.0, f"{', '.join(borrowed)} stands where the cited text has {', '.join(dropped)}")
        # A name from the sentences before may fill in what the cited one implies ("raised its stake"
        # in the company just named), but not join a list of the names the cited sentence gives: that
        # is a partner swapped in.
        swapped = [n for n in borrowed if any(coordinated(claim, n, m) for m in claimed if m in low_source)]
        if swapped:
            return Support(
                0.0, f"{', '.join(sorted(swapped))} is listed with names of the cited text, which does not name it"
            )
        broken = contradiction(claim, source)
        if broken is not None:
            return Support(0.0, broken[1])
        coverage = ContentWords.of(claim, self.index, self.embedder).coverage(source, self.index)
        if claim_vector is None:
            claim_vector = self.embedder.embed([claim], "document")[0]
        similarity = max(float(self.index.sentence_vectors[self.index.sentence_row(s)] @ claim_vector) for s in cited)
        score = COVERAGE_WEIGHT * coverage + (1 - COVERAGE_WEIGHT) * max(similarity, 0.0)
        return Support(score, "" if score >= self.threshold else f"weak support ({score:.2f})")

    def _known(self, word: str) -> bool:
        return stem(word) in self.index.lexicon.df

    def _before(self, s: Sentence, n: int) -> list[Sentence]:
        return [p for i in range(1, n + 1) if (p := self.index.sentence(s.file, s.n - i)) is not None]

    def check(self, claim: str, cited: Sequence[Sentence]) -> tuple[list[Citation], list[str]]:
        """The citations that survive for ``claim``, and why the others did not.

        A citation survives if it supports the claim alone, or if the claim needs it: the sentences
        that do not fail a number or name check together support what none does alone."""
        if not cited:
            return [], []
        if claim.rstrip().endswith("?"):  # the small model sometimes echoes the question: it states nothing
            return [], [f"{s.key}: a question is not a claim" for s in cited]
        vector = self.embedder.embed([claim], "document")[0]
        alone = [self.support(claim, [s], vector) for s in cited]
        kept = [Citation.of(s, a.score) for s, a in zip(cited, alone) if a.score >= self.threshold]
        if not kept and len(cited) > 1:
            # e.g. "Microsoft invested $1 billion in 2019 and holds over $10 billion": two sentences, one claim.
            joint = self.support(claim, cited, vector)
            if joint.score >= self.threshold:
                return [Citation.of(s, joint.score) for s in cited], []
        dropped = [f"{s.key}: {a.reason}" for s, a in zip(cited, alone) if a.score < self.threshold]
        return kept, dropped


def coordinated(text: str, a: str, b: str) -> bool:
    """Names ``a`` and ``b`` stand side by side in a list: "a and b", "b, a", "a or b"."""
    low = text.lower()
    pattern = r"\b{x}(?:'s|’s)?\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:and|or|&|as well as)\s+)(?:the\s+)?{y}\b"
    return any(re.search(pattern.format(x=re.escape(x), y=re.escape(y)), low) for x, y in ((a, b), (b, a)))


def llm_judge(ask: Callable[[str], str]) -> Callable[[str, Sequence[Sentence]], bool]:
    """ALCE-style: ask a model whether the cited text entails the claim; ``ask`` sends one prompt."""

    def judge(claim: str, cited: Sequence[Sentence]) -> bool:
        premise = "\n".join(f"- {s.text}" for s in cited)
        reply = ask(
            "Premise:\n" + premise + f"\n\nClaim: {claim}\n\n"
            "Does the premise entail the claim? Answer with exactly one word: yes or no."
        )
        return reply.strip().lower().startswith("yes")

    return judge

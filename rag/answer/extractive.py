"""The local answerer: answers with the source sentences the learned scorer ranks best, each cited by
construction, or declines when the calibrated probability that the corpus holds the answer is under the
threshold chosen on held-out questions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from rag.answer.topic import asks_summary, cited, said_instead, summary
from rag.config import Settings
from rag.index.loaded import Index
from rag.rank.phrase import fits, load_phrase_reader
from rag.rank.rerank import Evidence, Scored, is_heading
from rag.rank.scorer import AnswerScorer
from rag.text.profile import OPENING_ANAPHORA
from rag.text.words import words
from rag.types import Answer, AnswerPhrase, AnswerSentence, Citation, Sentence
from rag.verify.premise import broken_premise

# A sentence leans on the one before when it opens with profile.OPENING_ANAPHORA, or names one of these
# early on ("Should OpenAI pursue this, it could...").
_EARLY_ANAPHORA = frozenset("this these those such".split())
# A question asking for more than one thing: "two reasons", "both parties", "which companies ... and".
ASKS_SEVERAL = re.compile(
    r"\b(?:two|three|four|both|several|reasons|parties|ways|and what|and who|and how|and when|and where)\b", re.I
)

# The candidates the premise check reads: the reader's (rag/verify/premise.py, benchmarks/NEWS.md).
PREMISE_READS = 3
# The phrase leads the answer when the phrase reader scores it over "no phrase" (its own boundary), it is
# what the question's kind asks for (a date for *when*...), and the kind is not *how* or *other*, whose
# answers are clauses: on valid these choices gave phrases to 0.83 of answers at F1 0.668 against 0.90 at
# 0.652 without them (benchmarks/ANSWERS.md, "The phrase that answers").
PHRASE_MARGIN = 0.0
NO_PHRASE_KINDS = frozenset({"how", "other"})
# A summary question is answered from several on-topic sentences down to this share of the answerability
# threshold: "What are the main points of tension?" matches no one sentence well, yet the articles
# discuss it (benchmarks/NEWS.md).
SUMMARY_FLOOR = 0.5


def pick(evidence: Evidence, max_sentences: int, second_share: float) -> list[Scored]:
    """The answer's sentences, best first: the best candidate, and the runner-up when the question asks
    for several things, or when the scorer cannot tell the two apart (the runner-up is at least
    ``second_share`` as likely as the best). One sentence when one clearly answers."""
    if not evidence.ranked:
        return []
    best = evidence.ranked[0]
    picked = [best]
    if max_sentences > 1:
        for cand in evidence.ranked[1:]:
            if not takes_runner_up(evidence.question.text, best.probability, cand.probability, second_share):
                break
            if cand.sentence.text != best.sentence.text:
                picked.append(cand)
                break
    return picked


def takes_runner_up(question: str, best: float, runner_up: float, second_share: float) -> bool:
    """The runner-up joins the answer when the question asks for several things, or when it is at least
    ``second_share`` as likely as the best (fit_answerer simulates answers with this same rule)."""
    return bool(ASKS_SEVERAL.search(question)) or runner_up >= second_share * best


class ExtractiveAnswerer:
    """Offline, no model but the scorer: every answer sentence is a source sentence, cited as itself."""

    name = "extractive"

    def __init__(self, settings: Settings, index: Index, scorer: AnswerScorer):
        self.settings, self.index, self.scorer = settings, index, scorer

    @property
    def threshold(self) -> float:
        """Confidence under which it declines (0 by default: the answerability gate decides)."""
        s = self.settings.abstain_below
        return self.scorer.threshold if s is None else s

    @property
    def answerable_threshold(self) -> float:
        """Probability that the corpus holds the answer under which it declines."""
        s = self.settings.answerable_below
        return self.scorer.answerable_threshold if s is None else s

    @property
    def second_share(self) -> float:
        s = self.settings.second_share
        return self.scorer.second_share if s is None else s

    def answer(self, question: str, evidence: Evidence, id: str | None = None) -> Answer:
        base = Answer(
            question,
            (),
            True,
            evidence.hits,
            id,
            self.name,
            confidence=round(evidence.confidence, 4),
            answerable=round(evidence.answerable, 4),
        )
        if not evidence.ranked:
            return replace(base, notes=("no retrieved passage holds a sentence that could answer",))
        # A question whose premise the best candidates contradict is declined with the contradiction,
        # whatever the scores say: the documents correct it rather than answer it.
        broken = broken_premise(question, [c.sentence.text for c in evidence.ranked[:PREMISE_READS]])
        if broken is not None:
            at, why = broken
            note = f"the question's premise does not hold: {why}"
            return replace(base, notes=(note,), instead=cited([evidence.ranked[at].sentence]))
        # A summary question matches no one sentence well; several on its topic answer it.
        wide = asks_summary(question) and not evidence.question.missing
        overview = summary(evidence.question, evidence.ranked) if wide else []
        declined = self.decline_reason(evidence)
        if declined is not None and not (overview and evidence.answerable >= SUMMARY_FLOOR * self.answerable_threshold):
            picked = pick(evidence, self.settings.max_answer_sentences, self.second_share)
            return replace(base, notes=(declined,), instead=said_instead(evidence.question, picked))
        if overview:
            return replace(base, sentences=cited(overview), abstained=False)
        picked = pick(evidence, self.settings.max_answer_sentences, self.second_share)
        said: dict[str, Sentence] = {}
        for p in picked:
            antecedent = (
                _antecedent(p.sentence, self.index) if len(picked) < self.settings.max_answer_sentences else None
            )
            for s in (antecedent, p.sentence):
                if s is not None:
                    said.setdefault(s.key, s)
        # No support score: that is the verifier's, and an extractive citation quotes its own sentence.
        wants_phrase = self.settings.answer_phrase and evidence.question.kind not in NO_PHRASE_KINDS
        phrase = self.phrase(question, evidence.question.kind, picked[0].sentence) if wants_phrase else None
        return replace(base, sentences=cited(list(said.values())), abstained=False, phrase=phrase)

    def phrase(self, question: str, kind: str, sentence: Sentence) -> AnswerPhrase | None:
        """The words of the best sentence that answer, when the phrase reader finds them there and they
        are what a question of this kind asks for."""
        found = load_phrase_reader().phrase(question, sentence.text, PHRASE_MARGIN)
        if found is None or not fits(kind, found.text):
            return None
        at = sentence.start  # the phrase's span in the sentence, moved into the file
        return AnswerPhrase(found.text, Citation.of(sentence), at + found.start, at + found.end, round(found.margin, 3))

    def stream(self, question: str, evidence: Evidence, id: str | None = None) -> Iterator[AnswerSentence | Answer]:
        answer = self.answer(question, evidence, id)
        # An answer led by its phrase comes whole: the phrase is no sentence to stream, and an extractive
        # answer is ready all at once anyway.
        if answer.phrase is None:
            yield from answer.sentences
        yield answer

    def decline_reason(self, evidence: Evidence) -> str | None:
        """Why the answerer declines on this evidence, or None when it answers."""
        # A question word with no counterpart anywhere in the corpus, not even a paraphrase, names what
        # the articles never discuss: decline whatever the scores say. On large corpora this never fires
        # (no SQuAD-train question of 3,500 over 5,000 paragraphs had such a word), so the learned
        # gates decide there; on a small corpus it catches "How many GPUs..." over news about deals.
        missing = evidence.question.missing
        if missing:
            return f"the articles never mention {', '.join(repr(w) for w in missing)}"
        if evidence.answerable < self.answerable_threshold:
            return f"the articles are unlikely to hold the answer: {evidence.answerable:.2f}, under the {self.answerable_threshold:.2f} needed"
        if evidence.confidence < self.threshold:
            return f"confidence {evidence.confidence:.2f} is under the {self.threshold:.2f} needed"
        return None


def _antecedent(s: Sentence, index: Index) -> Sentence | None:
    """The previous sentence, when ``s`` opens by pointing back to it ("These moves...", "Should X pursue this")."""
    opening = words(s.text)[:5]
    if not opening or (opening[0] not in OPENING_ANAPHORA and not _EARLY_ANAPHORA.intersection(opening)):
        return None
    prev = index.sentence(s.file, s.n - 1)
    return prev if prev is not None and not is_heading(prev) else None

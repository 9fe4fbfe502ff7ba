"""Answers written by an LLM, kept honest: every citation is resolved against the context the model
was shown and checked for support; sentences left without one are dropped or flagged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.topic import in_reading_order
from rag.config import Settings
from rag.embed.embedder import Embedder
from rag.index.loaded import Index
from rag.llm.client import ANSWER_MAX_TOKENS, Context, Draft, OpenAIGenerator, parse_reply, split_complete
from rag.llm.local import local_model, serve_gguf
from rag.rank.reader import load_reader
from rag.rank.rerank import Evidence
from rag.types import Answer, AnswerSentence, Citation, Sentence
from rag.verify.support import Verifier, llm_judge
from rag.verify.whole_answer import GATES, SENTENCE_FINISHERS, Answering, finished, first_objection

log = logging.getLogger(__name__)


@dataclass
class Checked:
    """What came of one reply: the surviving sentences and what was removed on the way."""

    sentences: list[AnswerSentence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    drafted: int = 0
    said_no_answer: bool = False
    # Keys of the sentences the extractive answer rests on: the first kept sentence must cite one of
    # them (the anchor_first check). Empty: no such rule.
    anchors: frozenset[str] = frozenset()


class LLMAnswerer:
    """An ``Answerer`` over any OpenAI-compatible endpoint (or llama.cpp serving a GGUF in-process).

    - **Whether to answer** is the calibrated answerability's decision, as for the extractive answerer:
      the model is not asked when the evidence is too weak. (On 360 held-out questions the local model,
      asked anyway, declined fewer absent-article questions than the gate: docs/local-llm.md.)
    - **What to say** is the model's, sentence by sentence, each citation checked, then the whole answer
      through the preset's gates and finishers (rag/verify/whole_answer.py).
    - When no sentence the model wrote survives, the answer is the extractive one."""

    def __init__(self, settings: Settings, index: Index, embedder: Embedder, fallback: ExtractiveAnswerer):
        self.settings, self.index, self.fallback = settings, index, fallback
        self.name: str = settings.generator
        self.verifier = Verifier(index, embedder, settings.support_threshold)
        self.preset = settings.llm_preset()
        self._server: Any = None  # llama.cpp serving the local model, kept alive with the answerer
        base_url: str | None
        model: str | None
        key: str | None
        if settings.runs_locally():
            self._server, base_url, model, key = serve_gguf(settings.gguf or local_model(), settings.threads)
        else:
            base_url, model, key = settings.base_url, settings.model, settings.api_key
        self.generator = OpenAIGenerator(
            model, base_url, key, settings.timeout, settings.max_retries, settings.temperature
        )
        self.judge = llm_judge(self.complete_one) if settings.verify == "llm" else None
        # Called with each drafted sentence, the sentences it cites and the citations that survived:
        # how benchmarks label the model's own claims (benchmarks/local_llm.py). Never needed to answer.
        self.on_check: Callable[[Draft, list[Sentence], list[Citation]], None] | None = None

    def complete_one(self, prompt: str, max_tokens: int | None = None) -> str:
        """One user prompt to the model, its whole reply: for judging a citation, rewriting a question or
        asking again for the answering phrase (``cross_check``)."""
        return str(self.generator.complete([{"role": "user", "content": prompt}], max_tokens))

    def context(self, evidence: Evidence) -> Context:
        """The best ``context_sentences`` candidates of the learned rerank, in reading order within each
        file (files in rank order): a short prompt a small model reads quickly and loses less in."""
        return Context(tuple(in_reading_order([c.sentence for c in evidence.ranked[: self.preset.context_sentences]])))

    def answer(self, question: str, evidence: Evidence, id: str | None = None) -> Answer:
        extractive = self.fallback.answer(question, evidence, id)
        if extractive.abstained:
            return self._declined(extractive)
        return self._result(evidence, extractive, self.draft(question, evidence, self._checked_against(extractive)))

    def stream(self, question: str, evidence: Evidence, id: str | None = None) -> Iterator[AnswerSentence | Answer]:
        """Each checked sentence as soon as the model has finished writing it, then the whole Answer."""
        extractive = self.fallback.answer(question, evidence, id)
        if extractive.abstained:
            yield self._declined(extractive)
            return
        result = self._checked_against(extractive)
        # A gate may drop the whole answer, so with gates the sentences are held until they have passed:
        # what is shown is never taken back. The local model's answers are a sentence or two, so this
        # costs little of its wait for the first sentence; the api preset has no gates and streams.
        held = any(name in self.preset.checks for name in GATES)
        streamed = 0
        for sentence in self.stream_checked(question, evidence, result):
            if not held:
                streamed += 1
                yield sentence
        final = self._result(evidence, extractive, result)
        if not final.fallback:
            yield from final.sentences[streamed:]  # held ones, then the finishers' additions
        yield final

    def _checked_against(self, extractive: Answer) -> Checked:
        anchored = "anchor_first" in self.preset.checks
        anchors = frozenset(c.key for s in extractive.sentences for c in s.citations) if anchored else frozenset()
        return Checked(anchors=anchors)

    def _declined(self, extractive: Answer) -> Answer:
        """The calibrated decision to decline, made before the model is asked: the extractive answerer's."""
        return replace(extractive, generator=self.name)

    def _result(self, evidence: Evidence, extractive: Answer, result: Checked) -> Answer:
        hits, question, id = evidence.hits, extractive.question, extractive.id
        answering = Answering(question, tuple(result.sentences), extractive.sentences, self._read, self.complete_one)
        unasked = first_objection(self.preset.checks, answering)
        if unasked is not None:
            result.notes.append(f"dropped the model's answer: {unasked}")
            result.sentences.clear()
        if any(s.citations for s in result.sentences):
            added = finished(self.preset.checks, answering)
            if added:
                result.notes.append(
                    f"added {len(added)} sentence(s) of the extractive answer the model's answer does not cite"
                )
            return Answer(
                question,
                (*result.sentences, *added),
                False,
                hits,
                id,
                self.name,
                tuple(result.notes),
                confidence=extractive.confidence,
                answerable=extractive.answerable,
            )
        # The model found nothing, or nothing it wrote survived: the answerability has already said the
        # evidence answers, so the extractive answer stands in. (Of 360 held-out questions, the model said
        # "no answer" to 8 answerable ones the extractive answerer got right, and to 1 absent-article one
        # it answered.)
        if result.said_no_answer:
            said = "the model found no answer in the passages; the extractive answer stands in"
        else:  # its answer was dropped whole (the note above says why), or no sentence of it survived
            said = (
                "the extractive answer stands in"
                if unasked is not None
                else no_supported_sentence_note(result, self.name)
            )
        notes = (*result.notes, said, *extractive.notes)
        return replace(extractive, notes=notes, fallback=True)

    def _read(self, question: str, texts: Sequence[str]) -> np.ndarray:
        return load_reader(threads=self.settings.threads).logits(question, list(texts))

    def draft(self, question: str, evidence: Evidence, result: Checked) -> Checked:
        """The model's reply to the passages, parsed and checked sentence by sentence into ``result``."""
        context = self.context(evidence)
        drafts, no_answer = parse_reply(self.generator.complete(context.prompt(question), ANSWER_MAX_TOKENS))
        result.said_no_answer = no_answer  # parse_reply gives no drafts with it
        fresh = _until_repeated(drafts, set(), result)
        for d in fresh:
            self._check(d, context, result)
        return result

    def stream_checked(self, question: str, evidence: Evidence, result: Checked) -> Iterator[AnswerSentence]:
        """Yield each checked sentence as soon as the model has finished writing it; ``result`` collects them."""
        context = self.context(evidence)
        pending = ""
        seen_text = ""
        written: set[str] = set()
        replies = self.generator.stream(context.prompt(question), ANSWER_MAX_TOKENS)
        for delta in replies:
            pending += delta
            seen_text += delta
            done, pending = split_complete(pending)
            if done:
                drafts = parse_reply(done)[0]
                fresh = _until_repeated(drafts, written, result)
                yield from self._check_all(fresh, context, result)
                if len(fresh) < len(drafts):
                    replies.close()  # the request is closed, so the server stops writing
                    pending = ""
                    break
        drafts, _ = parse_reply(pending)
        result.said_no_answer = parse_reply(seen_text)[1] if not result.drafted else False
        yield from self._check_all(_until_repeated(drafts, written, result), context, result)

    def _check_all(self, drafts: list[Draft], context: Context, result: Checked) -> Iterator[AnswerSentence]:
        for d in drafts:
            kept = self._check(d, context, result)
            if kept is not None:
                yield kept

    def _check(self, draft: Draft, context: Context, result: Checked) -> AnswerSentence | None:
        result.drafted += 1
        cited = []
        for n in draft.cited:
            s = context.resolve(n)
            if s is None:
                result.notes.append(f"dropped [S{n}] from {draft.text[:60]!r}: not among the passages shown")
            else:
                cited.append(s)
        if self.judge is not None:
            kept = [Citation.of(s) for s in cited if self.judge(draft.text, [s])]
            dropped = [f"{s.key}: the judge model found no entailment" for s in cited if Citation.of(s) not in kept]
        else:
            kept, dropped = self.verifier.check(draft.text, cited)
        result.notes.extend(f"dropped citation {d}" for d in dropped)
        if self.on_check is not None:
            self.on_check(draft, cited, kept)
        if kept and result.anchors and not result.sentences and not result.anchors.intersection(c.key for c in kept):
            result.notes.append(
                f"dropped sentence {draft.text[:80]!r}: it rests on other sentences than the best-ranked answer"
            )
            return None
        if kept:
            sentence = AnswerSentence(draft.text, tuple(kept))
            for name, finish in SENTENCE_FINISHERS.items():
                if name in self.preset.checks:
                    sentence = finish(sentence)
        elif self.settings.keep_unsupported:
            sentence = AnswerSentence(draft.text, (), unsupported=True)
        else:
            result.notes.append(
                f"dropped sentence {draft.text[:80]!r}: {'no citation supports it' if cited else 'it cites nothing'}"
            )
            return None
        result.sentences.append(sentence)
        return sentence


def _until_repeated(drafts: list[Draft], written: set[str], result: Checked) -> list[Draft]:
    """The drafts up to the first that repeats one already written (adding them to ``written``): a small
    model that starts repeating itself does not stop (ANSWER_MAX_TOKENS)."""
    for i, d in enumerate(drafts):
        if d.text in written:
            result.notes.append(f"stopped reading the model's reply at {d.text[:60]!r}: it repeats a sentence it wrote")
            return drafts[:i]
        written.add(d.text)
    return drafts


def no_supported_sentence_note(result: Checked, generator: str) -> str:
    return (
        f"fell back to the extractive answer: none of the {result.drafted} sentences {generator} wrote "
        "survived the checks"
    )

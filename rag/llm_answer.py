"""Answers written by an LLM, kept honest: every citation is resolved against the context the model
was shown and checked for support; sentences left without one are dropped or flagged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import llm_defaults as defaults
from .asked import why_not_an_answer
from .config import Settings, available_cores
from .cross_check import MAX_TOKENS, clashes, evidence_text, prompt, reading
from .embed import Embedder
from .extractive import ExtractiveAnswerer
from .generate import ANSWER_MAX_TOKENS, Context, Draft, OpenAIGenerator, parse_reply, split_complete
from .index import Index
from .rank import Evidence
from .reader import load_reader
from .reader_check import weaker_answer
from .source_wording import in_source_wording
from .types import Answer, AnswerSentence, Citation, ConfigError, GeneratorError, Sentence
from .verify import Verifier, llm_judge

log = logging.getLogger(__name__)

# The reader's own boundary (probability 0.5 that the sentence answers the question), not tuned. Replayed
# on nine recorded draws, it keeps all that adding every left-out sentence gains on six (0 to 0.7
# points), gives up 0.3 to 0.7 points on the other three, and adds a sentence to 88 answers instead of
# 365 (benchmarks/finishing.py).
LEFT_OUT_MIN_LOGIT = 0.0

@dataclass
class Checked:
    """What came of one reply: the surviving sentences and what was removed on the way."""

    sentences: list[AnswerSentence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    drafted: int = 0
    said_no_answer: bool = False
    # Keys of the sentences the extractive answer rests on: the first kept sentence must cite one of
    # them (Settings.agree_first). Empty: no such rule.
    anchors: frozenset[str] = frozenset()


class LLMAnswerer:
    """An ``Answerer`` over any OpenAI-compatible endpoint (or llama.cpp serving a GGUF in-process).

    - **Whether to answer** is the calibrated answerability's decision, as for the extractive answerer:
      the model is not asked when the evidence is too weak. (On 360 held-out questions the local model,
      asked anyway, declined 0.67 of the absent-article ones; the gate, then on the confidence, declined
      0.83, with the same 0.033 of answerable ones wrongly declined.)
    - **What to say** is the model's, sentence by sentence, each citation checked. With ``agree_first``
      its first kept sentence must also cite a sentence the extractive answer rests on: a small model
      that reads the right sentences but answers from another is caught there.
    - When no sentence the model wrote survives, the answer is the extractive one."""

    def __init__(self, settings: Settings, index: Index, embedder: Embedder, fallback: ExtractiveAnswerer):
        self.settings, self.index, self.fallback = settings, index, fallback
        self.name: str = settings.generator
        self.verifier = Verifier(index, embedder, settings.support_threshold)
        self._server: Any = None
        base_url: str | None
        model: str | None
        key: str | None
        if defaults.runs_locally(settings):
            base_url, model, key = self._start_llama(settings.gguf or local_model())
        else:
            base_url, model, key = settings.base_url, settings.model, settings.api_key
        self.generator = OpenAIGenerator(model, base_url, key, settings.timeout, settings.max_retries, settings.temperature)
        self.judge = llm_judge(self.complete_one) if settings.verify == "llm" else None
        # Called with each drafted sentence, the sentences it cites and the citations that survived:
        # how benchmarks label the model's own claims (benchmarks/local_llm.py). Never needed to answer.
        self.on_check: Callable[[Draft, list[Sentence], list[Citation]], None] | None = None

    def complete_one(self, prompt: str) -> str:
        """One user prompt to the model, its whole reply: for judging a citation or rewriting a question."""
        return str(self.generator.complete([{"role": "user", "content": prompt}]))

    def context(self, evidence: Evidence) -> Context:
        """The best ``context_sentences`` candidates of the learned rerank, in reading order within each
        file (files in rank order): a short prompt a small model reads quickly and loses less in."""
        best = [c.sentence for c in evidence.ranked[: defaults.context_sentences(self.settings)]]
        first: dict[str, int] = {}
        for s in best:
            first.setdefault(s.file, len(first))
        return Context(tuple(sorted(best, key=lambda s: (first[s.file], s.n))))

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
        yield from self.stream_checked(question, evidence, result)
        streamed = len(result.sentences)
        final = self._result(evidence, extractive, result)
        if not final.fallback:
            yield from final.sentences[streamed:]  # the extractive answer's sentences the model left out
        yield final

    def _checked_against(self, extractive: Answer) -> Checked:
        anchors = frozenset(c.key for s in extractive.sentences for c in s.citations) if defaults.agree_first(self.settings) else frozenset()
        return Checked(anchors=anchors)

    def _declined(self, extractive: Answer) -> Answer:
        """The calibrated decision to decline, made before the model is asked: the extractive answerer's."""
        return Answer(**{**extractive.__dict__, "generator": self.name})

    def _result(self, evidence: Evidence, extractive: Answer, result: Checked) -> Answer:
        hits, question, id = evidence.hits, extractive.question, extractive.id
        unasked = (self._unasked(question, result, extractive) or self._reads_weaker(question, result, extractive)
                   or self._read_otherwise(question, result, extractive))
        if unasked is not None:
            result.notes.append(f"dropped the model's answer: {unasked}")
            result.sentences.clear()
        if any(s.citations for s in result.sentences):
            added = self._left_out(question, result.sentences, extractive)
            if added:
                result.notes.append(f"added {len(added)} sentence(s) of the extractive answer the model's answer does not cite")
            return Answer(question, (*result.sentences, *added), False, hits, id, self.name, tuple(result.notes),
                          confidence=extractive.confidence, answerable=extractive.answerable)
        # The model found nothing, or nothing it wrote survived: the answerability has already said the
        # evidence answers, so the extractive answer stands in. (Of 360 held-out questions, the model said
        # "no answer" to 8 answerable ones the extractive answerer got right, and to 1 absent-article one
        # it answered.)
        if result.said_no_answer:
            said = "the model found no answer in the passages; the extractive answer stands in"
        else:  # its answer was dropped whole (the note above says why), or no sentence of it survived
            said = "the extractive answer stands in" if unasked is not None else no_supported_sentence_note(result, self.name)
        notes = (*result.notes, said, *extractive.notes)
        return Answer(**{**extractive.__dict__, "notes": notes, "fallback": True})

    def _unasked(self, question: str, result: Checked, extractive: Answer) -> str | None:
        """Why an anchored answer (``agree_first``) does not state what was asked where the extractive
        answer does (rag/asked.py), or None."""
        if not result.anchors or not result.sentences:
            return None
        return why_not_an_answer(question, _plain(result.sentences), _plain(extractive.sentences))

    def _left_out(self, question: str, sentences: list[AnswerSentence], extractive: Answer) -> list[AnswerSentence]:
        """With ``complete_answer``: the extractive answer's sentences that no sentence of the model's answer
        cites and that the reader reads as answering the question. The model often keeps one of the two
        sentences the extractive answer gave and drops the other, which held the answer; the extractive
        answer's second sentence is as often filler, which the reader leaves out (benchmarks/finishing.py)."""
        if not defaults.complete_answer(self.settings):
            return []
        cited = {c.key for s in sentences for c in s.citations}
        uncited = [s for s in extractive.sentences if not cited.intersection(c.key for c in s.citations)]
        if not uncited:
            return []
        logits = load_reader(threads=self.settings.threads).logits(question, [s.text for s in uncited])
        return [s for s, logit in zip(uncited, logits, strict=True) if logit >= LEFT_OUT_MIN_LOGIT]

    def _reads_weaker(self, question: str, result: Checked, extractive: Answer) -> str | None:
        """With ``reader_check``: why the answer reads as less of an answer than the extractive one (rag/reader_check.py)."""
        if not defaults.reader_check(self.settings) or not result.sentences:
            return None
        mine, theirs = [s.text for s in result.sentences], [s.text for s in extractive.sentences]
        read = weaker_answer(load_reader(threads=self.settings.threads), question, mine, theirs)
        return None if read is None else f"the reader scores it {read[0]:.1f} as an answer to the question, the extractive answer {read[1]:.1f}"

    def _read_otherwise(self, question: str, result: Checked, extractive: Answer) -> str | None:
        """With ``cross_check``: why the model, asked again for the phrase that answers the question in
        the sentences its first answer sentence cites and those of the extractive answer, reads something
        its answer does not say (rag/cross_check.py)."""
        if not defaults.cross_check(self.settings) or not result.sentences or not result.sentences[0].citations:
            return None
        first = result.sentences[0]
        texts = evidence_text([c.text for c in first.citations], [c.text for s in extractive.sentences for c in s.citations])
        reply = self.generator.complete([{"role": "user", "content": prompt(question, texts)}], MAX_TOKENS)
        phrase = reading(reply)
        if phrase is None or not clashes(question, _plain(result.sentences), phrase):
            return None
        return f"asked again, it reads {phrase!r} in the sentences it was given, which its answer does not say"

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
            result.notes.append(f"dropped sentence {draft.text[:80]!r}: it rests on other sentences than the best-ranked answer")
            return None
        if kept:
            text = in_source_wording(draft.text, [c.text for c in kept]) if defaults.source_wording(self.settings) else draft.text
            sentence = AnswerSentence(text, tuple(kept))
        elif self.settings.keep_unsupported:
            sentence = AnswerSentence(draft.text, (), unsupported=True)
        else:
            result.notes.append(f"dropped sentence {draft.text[:80]!r}: {'no citation supports it' if cited else 'it cites nothing'}")
            return None
        result.sentences.append(sentence)
        return sentence

    def _start_llama(self, gguf: Path) -> tuple[str, str, str]:
        """Serve the GGUF file with llama.cpp in-process on 127.0.0.1 and talk to it like any endpoint."""
        if not Path(gguf).is_file():
            raise ConfigError(f"no GGUF weights file at {gguf}: give --gguf PATH, or leave it out to use `rag models pull`'s model")
        try:
            import xllamacpp
        except ImportError as e:
            raise ConfigError("--generator llama needs the llama extra: pip install -e '.[llama]'") from e
        params = xllamacpp.CommonParams()
        params.model.path = str(gguf)
        params.n_ctx = 4096
        threads = self.settings.threads or available_cores()  # all cores unless told otherwise
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.verbosity = -1  # it listens on 127.0.0.1 at a free port by default
        try:
            self._server = xllamacpp.Server(params)
        except Exception as e:  # the binding raises plain RuntimeErrors for unreadable weights
            raise GeneratorError(f"llama.cpp could not load {gguf}: {e}") from e
        address = self._server.listening_address
        log.info("llama.cpp serving %s at %s", gguf, address)
        return f"{address}/v1", Path(gguf).stem, "local"


def _until_repeated(drafts: list[Draft], written: set[str], result: Checked) -> list[Draft]:
    """The drafts up to the first that repeats one already written (adding them to ``written``): a small
    model that starts repeating itself does not stop (ANSWER_MAX_TOKENS)."""
    for i, d in enumerate(drafts):
        if d.text in written:
            result.notes.append(f"stopped reading the model's reply at {d.text[:60]!r}: it repeats a sentence it wrote")
            return drafts[:i]
        written.add(d.text)
    return drafts


def _plain(sentences: Iterable[AnswerSentence]) -> str:
    """The sentences' text without the [n] markers, which are digits to the figure checks."""
    return " ".join(s.text for s in sentences)


def local_model() -> Path:
    """The default local model's file, pulled (and verified) on first use after saying how big it is."""
    from .models import DEFAULT, cached, pull, spec

    s = spec(DEFAULT)
    path = cached(s)
    if path is None:
        log.warning("--generator local: pulling %s (%.2f GB) once; `rag models pull` does it ahead of time", s.name, s.size / 1e9)
        path = pull(s.name)
    return path


def no_supported_sentence_note(result: Checked, generator: str) -> str:
    return (
        f"fell back to the extractive answer: none of the {result.drafted} sentences {generator} wrote "
        "survived the checks"
    )

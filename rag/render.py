"""Answers as text: the ``[n]`` markers, the numbered source list, and the same text in pieces while an
answer streams. The CLI, the HTTP server and the OpenAI-compatible endpoint all render through here, so
a marker means the same source everywhere."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from rag.types import Answer, AnswerSentence, Citation, Conflict, one_line

LOST_CITATIONS = "(those sentences lost their citations on checking; the answer is below)"


class Numbering:
    """Numbers citations in order of first use, as ``Answer.citations`` does, while sentences arrive."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}

    def marks(self, sentence: AnswerSentence) -> str:
        return "".join(f"[{self.numbers.setdefault(c.key, len(self.numbers) + 1)}]" for c in sentence.citations)

    def sentence(self, sentence: AnswerSentence) -> str:
        """One answer sentence with its markers, as ``Answer.text`` writes it."""
        marks = self.marks(sentence)
        return (
            f"{one_line(sentence.text)}{' ' if marks else ''}{marks}{' [unsupported]' if sentence.unsupported else ''}"
        )


def render(answer: Answer) -> str:
    """The answer with [n] markers, then the numbered source list; an abstention with its reason."""
    if answer.abstained:
        why = f" ({answer.notes[0]})" if answer.notes else ""
        if not answer.instead:
            return f"{answer.text}{why}"
        return f"{Answer.ABSTAIN_TEXT}{why}\n{answer.instead_text}\n\n" + "\n".join(source_lines(answer))
    return f"{answer.text}\n\n{render_sources(answer)}"


def source_lines(answer: Answer) -> list[str]:
    """The numbered source list, a line per citation."""
    return [source_line(n, c, answer.documents.get(c.file)) for n, c in enumerate(answer.citations, 1)]


def render_sources(answer: Answer) -> str:
    """The numbered source list, the sources that disagree, and the notes, as shown under an answer."""
    lines = source_lines(answer)
    if answer.conflicts:
        lines.append("\n" + render_conflicts(answer.conflicts, {c.key: n for n, c in enumerate(answer.citations, 1)}))
    lines.extend(f"note: {n}" for n in answer.notes)
    return "\n".join(lines)


def render_conflicts(
    conflicts: Iterable[Conflict], numbers: dict[str, int] | None = None, heading: str = "Sources disagree:"
) -> str:
    """``Sources disagree:`` and, for each conflict, what differs and both sentences; a sentence the answer
    cites is named by its source number, its text being in the list above."""
    lines = [heading]
    for x in conflicts:
        lines.append(f"  - {x.summary} ({x.kind}, {x.judge}, confidence {x.confidence:.2f})")
        for c in x.citations:
            n = (numbers or {}).get(c.key)
            lines.append(f"      [{n}] {c.where}" if n else f'      {c.where} "{one_line(c.text)}"')
    return "\n".join(lines)


def source_line(n: int, c: Citation, document: dict[str, str] | None = None) -> str:
    """``[2] report.pdf p.3:12 "The sentence." (Title, 2026-03-14)``"""
    shown = [document[k] for k in ("title", "date") if k in document] if document else []
    about = f" ({', '.join(shown)})" if shown else ""
    return f'[{n}] {c.where} "{one_line(c.text)}"{about}'


class StreamRenderer:
    """The rendered answer in pieces as ``Assistant.ask_stream`` yields: each checked sentence with its
    markers as soon as it is ready, then the source list. When nothing streamed, or the streamed
    sentences were replaced (the LLM's answer fell back to the extractive one), the final answer is
    rendered whole, so the reader always ends with what ``render`` of the final answer says."""

    def __init__(self) -> None:
        self.numbering = Numbering()
        self.streamed = False

    def replaces(self, answer: Answer) -> bool:
        """The final answer replaces sentences already streamed (their citations were lost on checking)."""
        return self.streamed and (answer.fallback or answer.abstained)

    def piece(self, item: AnswerSentence | Answer) -> str:
        if isinstance(item, AnswerSentence):
            text = ("" if not self.streamed else " ") + self.numbering.sentence(item)
            self.streamed = True
            return text
        if self.replaces(item):
            return f"\n\n{LOST_CITATIONS}\n\n{render(item)}"
        if not self.streamed:
            return render(item)
        return "\n\n" + render_sources(item)


def render_report(report: dict[str, Any], generator: str) -> str:
    """An evaluation report as a table, then the failures with their reasons."""
    from rich.console import Console
    from rich.table import Table

    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.items():
        if key in {"questions", "answerable", "unanswerable", "failures", "per_question"}:
            continue
        shown = "n/a" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
        table.add_row(key.replace("_at_k", f"@{report['k']}"), shown)
    buffer = io.StringIO()
    console = Console(file=buffer, width=100)
    console.print(
        f"{report['questions']} questions ({report['answerable']} answerable, {report['unanswerable']} not), generator {generator}"
    )
    console.print(table)
    if report["failures"]:
        console.print(f"failures ({len(report['failures'])}):")
        for f in report["failures"]:
            console.print(f"  {f['id']}: {'; '.join(f['reasons'])}  ({f['question']})", highlight=False, markup=False)
    else:
        console.print("no failures")
    return buffer.getvalue().rstrip()

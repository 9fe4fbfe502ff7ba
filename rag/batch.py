"""Batch mode: read a question file, answer each question, append one flushed JSON line per answer;
a rerun skips the ids already answered."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.assistant import Assistant
from rag.types import Answer, InputError, RagError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    extra: dict[str, Any]  # other keys of a .jsonl line, kept for evaluation (answerable, gold...)


def read_questions(path: Path, skip_bad_lines: bool = False) -> list[Question]:
    """A ``.txt`` file (one question a line) or ``.jsonl`` (objects with ``question`` and optional ``id``).
    Blank lines are passed over; missing ids become the question's running number. A malformed line or
    a repeated id raises InputError naming the line, or with ``skip_bad_lines`` is logged and skipped."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"question file {path} does not exist: pass a .txt or .jsonl file")
    if path.suffix.lower() not in {".txt", ".jsonl"}:
        raise InputError(f"question file {path} must end in .txt (one question a line) or .jsonl")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise InputError(f"question file {path} is not UTF-8 text: save it as UTF-8") from e
    out: list[Question] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            question = _parse_line(line, path.suffix.lower() == ".jsonl", len(out) + 1)
            if question.id in seen:
                raise ValueError(f"id {question.id!r} is used twice: ids must be unique so reruns can resume")
        except ValueError as e:
            if not skip_bad_lines:
                raise InputError(f"{path}:{lineno}: {e}: fix or remove that line, or pass --skip-bad-lines") from None
            log.warning("%s:%d: %s: skipped", path, lineno, e)
            continue
        seen.add(question.id)
        out.append(question)
    if not out:
        raise InputError(f"question file {path} holds no questions")
    return out


def _parse_line(line: str, jsonl: bool, number: int) -> Question:
    if not jsonl:
        return Question(str(number), line.strip(), {})
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("question"), str) or not obj["question"].strip():
        raise ValueError('needs a "question" string')
    qid = str(obj["id"]) if obj.get("id") is not None else str(number)
    return Question(qid, obj["question"].strip(), {k: v for k, v in obj.items() if k not in {"id", "question"}})


def answered_ids(out_path: Path, force: bool = False) -> dict[str, str]:
    """Id -> question text of the answer lines already in ``out_path`` (the last per id); lines recording
    an error do not count.

    A torn last line (a crash mid-write) is cut off so appending stays valid JSON Lines. A file that is
    not a rag answers file is refused (InputError) unless ``force``, which empties it."""
    out_path = Path(out_path)
    if not out_path.exists():
        return {}
    if not out_path.is_file():
        raise InputError(f"{out_path} is not a file: choose another -o")
    raw = out_path.read_bytes()
    keep = raw.rfind(b"\n") + 1  # what follows the last newline is a line torn by a crash mid-write
    complete, torn = raw[:keep], raw[keep:]
    records = []
    problem = None
    for lineno, line in enumerate(complete.decode("utf-8", errors="replace").splitlines(), 1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            rec = None
        if not _is_answer_record(rec):
            problem = f"line {lineno} is not an answer record"
            break
        records.append(rec)
    if problem is None and torn and not torn.startswith(b'{"id": '):  # ours always start so (json.dumps)
        problem = "its last line is not an answer record"
    if problem is not None:
        if not force:
            raise InputError(
                f"{out_path} exists and is not a rag answers file ({problem}): choose another -o, or pass --force to overwrite it"
            )
        log.warning("%s is not a rag answers file: overwriting it (--force)", out_path)
        out_path.write_bytes(b"")
        return {}
    if torn:
        log.warning("%s ends in a partial line: dropping it (%d bytes)", out_path, len(torn))
        with out_path.open("r+b") as f:
            f.truncate(keep)
    done: dict[str, str] = {}
    for r in records:
        if "error" in r:
            done.pop(str(r["id"]), None)
        else:
            done[str(r["id"])] = r.get("question", "")
    return done


def still_to_answer(questions: list[Question], done: dict[str, str]) -> tuple[list[Question], list[Question]]:
    """The questions a run answers: those not answered yet, and those whose id was answered for another
    question text (a line inserted above them in a .txt file renumbers them); the second list names
    those. Resuming by id alone had answered the new text never and another one twice, silently."""
    todo = [q for q in questions if done.get(q.id) != q.text]
    return todo, [q for q in todo if q.id in done]


def _is_answer_record(rec: Any) -> bool:
    return isinstance(rec, dict) and rec.get("id") is not None and ("answer" in rec or "error" in rec)


@dataclass(frozen=True)
class BatchReport:
    total: int
    skipped: int
    answered: int
    abstained: int
    failed: int
    changed: int = 0  # answered anew: their id had been answered for another question text


def run_batch(
    assistant: Assistant,
    questions: list[Question],
    out_path: Path,
    k: int | None = None,
    on_answer: Callable[[Question, dict[str, Any]], None] | None = None,
    force: bool = False,
    block: int = 32,
) -> BatchReport:
    """Answer every question not yet in ``out_path``, appending and fsyncing each line as it is done.
    Questions are embedded and searched ``block`` at a time; each line is written as soon as it is done. A question that fails with a RagError gets a
    line with ``error`` (retried on the next run) and the batch goes on."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    todo, changed = still_to_answer(questions, answered_ids(out_path, force))
    for q in changed:
        log.warning("question %s is not the one answered under that id before: answering it again", q.id)
    answered = abstained = failed = 0
    with out_path.open("a", encoding="utf-8") as f:
        results = assistant.answers(((q.id, q.text) for q in todo), k, block)
        for q, result in zip(todo, results, strict=True):
            record = record_of(result, q.id, q.text)
            if isinstance(result, RagError):
                failed += 1
                log.warning("question %s failed: %s", q.id, result)
            else:
                answered += 1
                abstained += bool(record["abstained"])
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
            if on_answer:
                on_answer(q, record)
    return BatchReport(len(questions), len(questions) - len(todo), answered, abstained, failed, len(changed))


def record_of(result: Answer | RagError, id: str | None, question: str) -> dict[str, Any]:
    """The answers-file line of an answer, or of the error that stopped it (retried on a rerun)."""
    if isinstance(result, RagError):
        return {"id": id, "question": question, "error": str(result), "error_type": type(result).__name__}
    return result.to_dict()


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    """The last record per id of an answers file (a retried question supersedes its error line)."""
    last: dict[str, dict[str, Any]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            last[str(rec.get("id"))] = rec
    yield from last.values()

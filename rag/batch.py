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

from .assistant import Assistant
from .types import InputError, RagError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    extra: dict[str, Any]  # other keys of a .jsonl line, kept for evaluation (answerable, gold...)


def read_questions(path: Path) -> list[Question]:
    """A ``.txt`` file (one question a line) or ``.jsonl`` (objects with ``question`` and optional ``id``).
    Missing ids become the question's running number."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"question file {path} does not exist: pass a .txt or .jsonl file")
    if path.suffix.lower() not in {".txt", ".jsonl"}:
        raise InputError(f"question file {path} must end in .txt (one question a line) or .jsonl")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise InputError(f"question file {path} is not UTF-8 text") from e
    out: list[Question] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if path.suffix.lower() == ".txt":
            qid, text, extra = str(len(out) + 1), line.strip(), {}
        else:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}:{lineno}: not valid JSON ({e.msg}): fix or remove that line") from e
            if not isinstance(obj, dict) or not isinstance(obj.get("question"), str) or not obj["question"].strip():
                raise InputError(f'{path}:{lineno}: needs a "question" string: fix or remove that line')
            qid = str(obj["id"]) if obj.get("id") is not None else str(len(out) + 1)
            text = obj["question"].strip()
            extra = {k: v for k, v in obj.items() if k not in {"id", "question"}}
        if qid in seen:
            raise InputError(f"{path}:{lineno}: id {qid!r} is used twice: ids must be unique so reruns can resume")
        seen.add(qid)
        out.append(Question(qid, text, extra))
    if not out:
        raise InputError(f"question file {path} holds no questions")
    return out


def answered_ids(out_path: Path) -> set[str]:
    """Ids with an answer line already in ``out_path``. A torn last line (a crash mid-write) is cut off,
    so appending stays valid JSON Lines; lines recording an error do not count as answered."""
    out_path = Path(out_path)
    if not out_path.exists():
        return set()
    raw = out_path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        keep = raw.rfind(b"\n") + 1
        log.warning("%s ends in a partial line: dropping it (%d bytes)", out_path, len(raw) - keep)
        with out_path.open("r+b") as f:
            f.truncate(keep)
        raw = raw[:keep]
    ids = set()
    for lineno, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{out_path}:{lineno} is not an answer line: choose another output file") from e
        if isinstance(rec, dict) and rec.get("id") is not None and "error" not in rec:
            ids.add(str(rec["id"]))
    return ids


@dataclass(frozen=True)
class BatchReport:
    total: int
    skipped: int
    answered: int
    abstained: int
    failed: int


def run_batch(
    assistant: Assistant,
    questions: list[Question],
    out_path: Path,
    k: int | None = None,
    on_answer: Callable[[Question, dict[str, Any]], None] | None = None,
) -> BatchReport:
    """Answer every question not yet in ``out_path``, appending and flushing each line as it is done.
    A question that fails with a RagError gets a line with ``error`` and the batch goes on."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    done = answered_ids(out_path)
    todo = [q for q in questions if q.id not in done]
    answered = abstained = failed = 0
    with out_path.open("a", encoding="utf-8") as f:
        for q in todo:
            try:
                record = assistant.ask(q.text, id=q.id, k=k).to_dict()
                answered += 1
                abstained += bool(record["abstained"])
            except RagError as e:
                record = {"id": q.id, "question": q.text, "error": str(e), "error_type": type(e).__name__}
                failed += 1
                log.warning("question %s failed: %s", q.id, e)
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
            if on_answer:
                on_answer(q, record)
    return BatchReport(len(questions), len(questions) - len(todo), answered, abstained, failed)


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    """The last record per id of an answers file (a retried question supersedes its error line)."""
    last: dict[str, dict[str, Any]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            last[str(rec.get("id"))] = rec
    yield from last.values()
